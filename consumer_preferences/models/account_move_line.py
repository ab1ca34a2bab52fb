# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import models
from odoo.tools.sql import create_index

from .consumer_preference_history import HISTORY_MOVE_TYPES

# Dropped by the uninstall hook: Odoo drops only the indexes of its fields.
HISTORY_LINE_INDEX = "account_move_line_consumer_preference_history_index"
# What the history reads of an invoice line (its key, its figures, its unit
# price), or what Odoo computes those from. Odoo's forms keep them read-only
# on a posted invoice, its write() does not: a write of one of them on the
# lines of a posted invoice queues the invoice's keys. A line created on a
# posted invoice is one too: Odoo's create() writes its balance.
HISTORY_LINE_FIELDS = frozenset(
    {
        "move_id",
        "company_id",
        "partner_id",
        "product_id",
        "display_type",
        "quantity",
        "product_uom_id",
        "price_unit",
        "discount",
        "balance",
        "debit",
        "credit",
        "amount_currency",
        "currency_id",
    }
)


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    def init(self):
        result = super().init()
        # The history recomputes a key (customer, product) from that key's
        # posted lines alone: its cost follows the key's lines, not the
        # customer's whole past. A reversal of a key's first or last
        # purchase, and a reset to draft of its first or last invoice, read
        # them by date, from that day on, up to the nearest other purchase
        # or invoice.
        create_index(
            self.env.cr,
            HISTORY_LINE_INDEX,
            self._table,
            ["partner_id", "product_id", "company_id", "invoice_date"],
            where="parent_state = 'posted' AND display_type = 'product'",
        )
        return result

    def write(self, vals):
        if HISTORY_LINE_FIELDS.isdisjoint(vals):
            return super().write(vals)
        history = self.env["consumer.preference.history"]
        posted = self._consumer_preference_posted_moves()
        keys = history._start_edit(posted) if posted else []
        result = super().write(vals)
        # A line moved to another invoice counts on that one too.
        if posted := posted | self._consumer_preference_posted_moves():
            history._finish_edit(posted, keys)
        return result

    def _consumer_preference_posted_moves(self):
        """The posted customer invoices and credit notes of these lines."""
        return self.move_id.filtered(
            lambda move: move.state == "posted" and move.move_type in HISTORY_MOVE_TYPES
        )
