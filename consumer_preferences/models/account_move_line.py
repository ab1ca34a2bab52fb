# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import api, models
from odoo.tools.sql import create_index

from .consumer_preference_statistics import HISTORY_MOVE_TYPES

# Dropped by the uninstall hook: Odoo drops only the indexes of its fields.
HISTORY_LINE_INDEX = "account_move_line_consumer_preference_history_index"
# What the history reads of an invoice line (its key, its figures, its unit
# price), or what Odoo computes those from. Odoo's forms keep them read-only
# on a posted invoice, its write() does not: a write of one of them on the
# lines of a posted invoice queues the invoice's keys, and so do a line
# created on a posted invoice and one deleted from it.
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

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        # A line created on a posted invoice (a draft's count when posted).
        product_lines = lines._consumer_preference_product_lines()
        if posted := product_lines._consumer_preference_posted_moves():
            self.env["consumer.preference.history"]._finish_edit(posted)
        return lines

    def write(self, vals):
        if HISTORY_LINE_FIELDS.isdisjoint(vals):
            return super().write(vals)
        history = self.env["consumer.preference.history"]
        # The history reads product lines (Odoo rewrites the others, e.g.
        # its discount lines, from a posted invoice's analytic distribution).
        lines = self
        if {"display_type", "move_id"}.isdisjoint(vals):
            lines = self._consumer_preference_product_lines()
        if posted := lines._consumer_preference_posted_moves():
            history._start_edit(posted)
        result = super().write(vals)
        # a line moved to another invoice counts on that one
        if posted := posted | lines._consumer_preference_posted_moves():
            history._finish_edit(posted)
        return result

    def unlink(self):
        # Odoo deletes the lines of a posted invoice under ``force_delete``.
        lines = self._consumer_preference_product_lines()
        if posted := lines._consumer_preference_posted_moves():
            self.env["consumer.preference.history"]._start_edit(posted)
        result = super().unlink()
        if posted:
            self.env["consumer.preference.history"]._finish_edit(posted)
        return result

    def _consumer_preference_product_lines(self):
        return self.filtered(lambda line: line.display_type == "product")

    def _consumer_preference_posted_moves(self):
        """The posted customer invoices and credit notes of these lines."""
        return self.move_id.filtered(
            lambda move: move.state == "posted" and move.move_type in HISTORY_MOVE_TYPES
        )
