# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL


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
    # What that form asked for (a digest of its quantities): only the same
    # quantities submitted again open this order; a form changed since (the
    # browser's Back button, then other quantities) is not this reorder.
    consumer_preference_reorder_digest = fields.Char(copy=False, readonly=True)

    @api.model
    def _consumer_preference_reorder_of_token(self, token):
        """The id of the quotation the portal Reorder form of ``token``
        created, or 0 (``_consumer_preference_reorder_lookup``)."""
        return self._consumer_preference_reorder_lookup(token)[0]

    @api.model
    def _consumer_preference_reorder_lookup(self, token):
        """``(id, digest)``: the quotation the portal Reorder form of
        ``token`` created and the digest of the quantities it was created
        from, or ``(0, False)``. The same form submitted twice at the same
        moment (a double click): the first submission holds the token until
        its transaction ends, the second waits for it, then looks in a new
        transaction. Its own snapshot may predate the first's commit: it
        would not see that quotation and would create a second one, which
        the unique constraint refuses with an error page."""
        self.env.cr.execute(
            SQL(
                "SELECT pg_advisory_xact_lock("
                "hashtextextended('consumer_preference_reorder:' || %s, 0))",
                token,
            )
        )
        with self.env.registry.cursor() as cr:
            order = self.with_env(self.env(cr=cr)).search(
                [("consumer_preference_reorder_token", "=", token)], limit=1
            )
            return order.id, order.consumer_preference_reorder_digest

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
