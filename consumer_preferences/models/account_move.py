# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import models
from odoo.tools.sql import create_index

from .consumer_preference_history import HISTORY_MOVE_TYPES


class AccountMove(models.Model):
    _inherit = "account.move"

    def init(self):
        result = super().init()
        # The history service reads a customer's posted invoices: without this
        # index, a popular product's lines are its only way in.
        create_index(
            self.env.cr,
            "account_move_consumer_preference_history_index",
            self._table,
            ["commercial_partner_id", "company_id"],
            where=f"state = 'posted' AND move_type IN {HISTORY_MOVE_TYPES}",
        )
        return result

    def write(self, vals):
        # Posting, reset to draft and cancellation all change the state through
        # write(): hooking here keeps the history true whichever path (or
        # module) moves an invoice in or out of the posted state. With
        # _post(soft=True), future-dated moves are not written posted, so they
        # do not count until they are.
        if "state" not in vals:
            return super().write(vals)
        posted_before = self.filtered(lambda move: move.state == "posted")
        result = super().write(vals)
        posted_after = self.filtered(lambda move: move.state == "posted")
        changed = (posted_before - posted_after) | (posted_after - posted_before)
        if changed:
            self.env["consumer.preference.history"]._sync_moves(changed)
        return result
