# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import _, fields, models
from odoo.exceptions import UserError


class SaleOrder(models.Model):
    _inherit = "sale.order"

    _sql_constraints = [
        (
            "consumer_preference_reorder_token_unique",
            "unique(consumer_preference_reorder_token)",
            "This reorder was already received.",
        ),
    ]

    # The token of the portal Reorder form that created this quotation: the
    # same form submitted twice (a double click, the browser's back button)
    # finds this order instead of creating a second one; the unique
    # constraint settles two submissions racing each other.
    consumer_preference_reorder_token = fields.Char(
        copy=False, readonly=True, index="btree_not_null"
    )

    def action_add_from_preferences(self):
        """Open the preferences wizard on this quotation's customer; its lines
        are added to this quotation."""
        self.ensure_one()
        if self.state not in ("draft", "sent"):
            raise UserError(
                _(
                    "%(order)s is no longer a quotation: add products from "
                    "preferences to quotations only.",
                    order=self.name,
                )
            )
        # The wizard is created here and opened by id, not built by the
        # form's onchange: the web client then reads the first lines of a
        # big customer's hundreds only, instead of receiving them all.
        wizard = (
            self.env["consumer.preference.bill"]
            .with_context(
                active_model=self._name, active_id=self.id, active_ids=self.ids
            )
            .create({})
        )
        return {
            "type": "ir.actions.act_window",
            "name": _("Add from Preferences"),
            "res_model": wizard._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }
