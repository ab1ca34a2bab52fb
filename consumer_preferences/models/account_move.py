# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import models


class AccountMove(models.Model):
    _inherit = "account.move"

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
