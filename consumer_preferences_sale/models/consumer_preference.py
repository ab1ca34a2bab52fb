# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import Command, api, fields, models
from odoo.tools import SQL

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
    def _add_favourite(self, partner, company, product, values):
        """Keep ``product`` with ``values`` as a favourite of the customer
        ``partner`` in ``company`` (a specification), as the portal's heart
        does on a history line; restore one archived. Return the favourite:
        one a concurrent submission committed is not visible to this
        transaction (only its id is to be used).

        The same form submitted twice at the same moment (a double click):
        the first submission holds the favourite's key until its transaction
        ends, the second waits for it, then looks in a new transaction. Its
        own snapshot may predate the first's commit: it would not see that
        favourite and would create a second one, which the unique constraint
        refuses with an error page."""
        value_key = self._attribute_value_key(values.ids)
        self.env.cr.execute(
            SQL(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                f"consumer_preference_favourite:{company.id},{partner.id},"
                f"{product.id},{value_key}",
            )
        )
        domain = [
            ("company_id", "=", company.id),
            ("partner_id", "=", partner.id),
            ("preference_type", "=", "specification"),
            ("product_id", "=", product.id),
            ("attribute_value_key", "=", value_key),
        ]
        # archived ones too: a favourite a salesperson archived is restored,
        # as the customer asks for it again (a second one is refused)
        Preference = self.with_context(active_test=False)
        favourite = Preference.search(domain, limit=1)
        if favourite:
            if not favourite.active:
                favourite.active = True
            return favourite
        with self.env.registry.cursor() as cr:
            committed = Preference.with_env(self.env(cr=cr)).search(domain, limit=1)
            if committed:
                return self.browse(committed.id)
        return self.create(
            {
                "partner_id": partner.id,
                "company_id": company.id,
                "product_id": product.id,
                "attribute_value_ids": [Command.set(values.ids)],
            }
        )

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
