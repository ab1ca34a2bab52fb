# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import models
from odoo.tools.sql import create_index

# Dropped by the uninstall hook: Odoo drops only the indexes of its fields.
HISTORY_LINE_INDEX = "account_move_line_consumer_preference_history_index"


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
