# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import Command, api, fields, models

# Who sees every customer's preferences from the Sales menu; the others see
# those of their own customers and of customers without salesperson, as the
# purchase profile shows them their amounts.
ALL_CUSTOMERS_GROUPS = (
    "sales_team.group_sale_salesman_all_leads",
    "account.group_account_invoice",
    "account.group_account_readonly",
    "consumer_preferences.group_consumer_preference_manager",
)


class ConsumerPreference(models.Model):
    _inherit = "consumer.preference"

    note = fields.Char(help="Shown to the customer with its favourite in its portal.")

    def _prepare_sale_order_line_vals(self, quantity):
        """A sales order line of this product and values: prices, taxes and
        description are left to the order line's own computes (customer
        pricelist, fiscal position, customer's language)."""
        self.ensure_one()
        return {
            "product_id": self.product_id.id,
            "product_uom_qty": quantity,
            "product_uom": self.product_id.uom_id.id,
            "product_no_variant_attribute_value_ids": [
                Command.set(self._get_no_variant_attribute_values().ids)
            ],
        }

    @api.model
    def _sale_visible_domain(self):
        """The preferences the Sales menu lists for the current user."""
        user = self.env.user
        if any(user.has_group(group) for group in ALL_CUSTOMERS_GROUPS):
            return []
        return [
            "|",
            ("partner_id.user_id", "=", user.id),
            ("partner_id.user_id", "=", False),
        ]

    @api.model
    def action_open_sale_preferences(self):
        """Sales › Orders › Preferences: the customers' preferences a
        salesperson works with (own customers when limited to own documents)."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "consumer_preferences.consumer_preference_action"
        )
        action["domain"] = self._sale_visible_domain()
        action["context"] = {"search_default_group_by_preference_type": 1}
        return action
