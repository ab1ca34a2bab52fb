# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import _, api, fields, models
from odoo.exceptions import AccessError

PREFERENCE_USER_GROUP = "consumer_preferences.group_consumer_preference_user"
PREFERENCE_MANAGER_GROUP = "consumer_preferences.group_consumer_preference_manager"


class ResPartner(models.Model):
    _inherit = "res.partner"

    consumer_preference_ids = fields.One2many(
        comodel_name="consumer.preference",
        inverse_name="partner_id",
        string="Preferences",
        help="Preferences kept on this commercial partner.",
    )
    consumer_specification_ids = fields.One2many(
        comodel_name="consumer.preference",
        inverse_name="partner_id",
        string="Specifications",
        domain=[("preference_type", "=", "specification")],
        context={"default_preference_type": "specification"},
    )
    consumer_history_ids = fields.One2many(
        comodel_name="consumer.preference",
        inverse_name="partner_id",
        string="Purchase History",
        domain=[("preference_type", "=", "history")],
    )
    # A contact shows and edits its company's profile: one profile per
    # commercial partner, whichever of its contacts the user opened.
    commercial_specification_ids = fields.One2many(
        related="commercial_partner_id.consumer_specification_ids",
        string="Company Specifications",
        readonly=False,
    )
    commercial_history_ids = fields.One2many(
        related="commercial_partner_id.consumer_history_ids",
        string="Company Purchase History",
    )
    consumer_preference_count = fields.Integer(
        string="Preference Count",
        compute="_compute_consumer_preference_count",
    )
    consumer_preference_consent = fields.Boolean(
        string="Record purchase preferences",
        default=True,
        help="When unchecked, posted invoices no longer feed this customer's "
        "purchase history.",
    )

    @api.depends("commercial_partner_id")
    def _compute_consumer_preference_count(self):
        counts = dict(
            self.env["consumer.preference"]._read_group(
                domain=[("partner_id", "in", self.commercial_partner_id.ids)],
                groupby=["partner_id"],
                aggregates=["__count"],
            )
        )
        for partner in self:
            partner.consumer_preference_count = counts.get(
                partner.commercial_partner_id, 0
            )

    @api.model
    def _commercial_fields(self):
        return super()._commercial_fields() + ["consumer_preference_consent"]

    def write(self, vals):
        consent_given = self.browse()
        if vals.get("consumer_preference_consent"):
            consent_given = self.filtered(
                lambda partner: not partner.consumer_preference_consent
                and partner.commercial_partner_id == partner
            )
        result = super().write(vals)
        if consent_given:
            # Invoices posted while consent was withdrawn count again.
            self.env["consumer.preference.history"]._rebuild(consent_given)
        return result

    def action_view_consumer_preferences(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "consumer_preferences.consumer_preference_action"
        )
        partner = self.commercial_partner_id
        action["domain"] = [("partner_id", "=", partner.id)]
        action["context"] = {
            "default_partner_id": partner.id,
            "search_default_group_by_preference_type": 1,
        }
        return action

    def action_consumer_preference_erase_history(self):
        """Erase the purchase history of customers who withdrew consent."""
        self._check_consumer_preference_group(PREFERENCE_USER_GROUP)
        partners = self.commercial_partner_id
        erased_count = self.env["consumer.preference.history"]._erase(partners)
        for partner in partners:
            partner.message_post(
                body=_("Purchase history erased at the customer's request.")
            )
        return erased_count

    def action_consumer_preference_forget(self):
        """Erase the whole profile: specifications and history."""
        self._check_consumer_preference_group(PREFERENCE_USER_GROUP)
        partners = self.commercial_partner_id
        self.env["consumer.preference.history"]._erase(partners)
        partners.with_context(active_test=False).consumer_specification_ids.unlink()
        for partner in partners:
            partner.message_post(
                body=_(
                    "Consumer preferences forgotten at the customer's request: "
                    "specifications and purchase history erased."
                )
            )

    def action_consumer_preference_rebuild(self):
        """Recompute the purchase history of these customers from their
        posted invoices."""
        self._check_consumer_preference_group(PREFERENCE_MANAGER_GROUP)
        self.env["consumer.preference.history"]._rebuild(self.commercial_partner_id)

    def _check_consumer_preference_group(self, group_xmlid):
        # The history service writes with SQL, below the ORM's access
        # rights: check the user's right explicitly before calling it.
        if not self.env.user.has_group(group_xmlid):
            raise AccessError(
                _("You are not allowed to change customers' consumer preferences.")
            )
