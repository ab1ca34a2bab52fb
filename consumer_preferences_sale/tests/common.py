# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import Command
from odoo.tests import Form, new_test_user

from odoo.addons.consumer_preferences.tests.common import ConsumerPreferenceCommon


class ConsumerPreferenceSaleCommon(ConsumerPreferenceCommon):
    """The main addon's data, plus what selling needs: the customer has a
    pricelist (10 % off tea), tea is sold by the kilogram, the customer
    specified a shirt (S, quality 8: a value of a characteristic that makes
    no variant) and tea, and bought coffee twice (4 then 2)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "consumer_preference_billing": True,
                "consumer_preference_auto_post": False,
            }
        )
        cls.salesperson_all = cls._new_company_user(
            "cp_salesperson_all",
            "base.group_user,base.group_partner_manager,"
            "sales_team.group_sale_salesman_all_leads",
        )
        cls.kilogram = cls.env.ref("uom.product_uom_kgm")
        cls.tea.write(
            {"uom_id": cls.kilogram.id, "uom_po_id": cls.kilogram.id, "lst_price": 5.0}
        )
        cls.pricelist = cls.env["product.pricelist"].create(
            {
                "name": "Azure prices",
                "company_id": cls.company.id,
                "currency_id": cls.company.currency_id.id,
                "item_ids": [
                    Command.create(
                        {
                            "applied_on": "0_product_variant",
                            "product_id": cls.tea.id,
                            "compute_price": "percentage",
                            "percent_price": 10.0,
                        }
                    )
                ],
            }
        )
        cls.customer.property_product_pricelist = cls.pricelist
        Preference = cls.env["consumer.preference"].with_user(cls.salesperson)
        cls.shirt_specification = Preference.create(
            {
                "partner_id": cls.customer.id,
                "product_id": cls.shirt_s.id,
                "attribute_value_ids": [Command.set((cls.size_s | cls.quality_8).ids)],
            }
        )
        cls.tea_specification = Preference.create(
            {"partner_id": cls.customer.id, "product_id": cls.tea.id}
        )
        cls._post_customer_invoice(
            cls.customer, [(cls.coffee, 4, 8.0)], invoice_date="2026-01-15"
        )
        cls._post_customer_invoice(
            cls.customer, [(cls.coffee, 2, 8.0)], invoice_date="2026-02-15"
        )
        cls.coffee_history = cls.env["consumer.preference"].search(
            [
                ("partner_id", "=", cls.customer.id),
                ("preference_type", "=", "history"),
                ("product_id", "=", cls.coffee.id),
            ]
        )
        cls.shirt_quality_8 = cls.shirt_template.attribute_line_ids.filtered(
            lambda line: line.attribute_id == cls.quality
        ).product_template_value_ids.filtered(
            lambda value: value.product_attribute_value_id == cls.quality_8
        )

    @classmethod
    def _new_portal_user(cls, login, partner, company=None):
        """A portal user who is a contact of ``partner``, in ``company`` (the
        test company by default)."""
        company = company or cls.company
        user = new_test_user(
            cls.env,
            login=login,
            groups="base.group_portal",
            company_id=company.id,
            company_ids=[Command.set(company.ids)],
        )
        user.partner_id.parent_id = partner
        return user

    def _wizard_form(self, user=None, partner=None, order=None):
        """The wizard as a button opens it: the customer's Bill button, or a
        quotation's Add from Preferences."""
        Wizard = self.env["consumer.preference.bill"].with_user(
            user or self.salesperson
        )
        if order:
            action = order.with_user(
                user or self.salesperson
            ).action_add_from_preferences()
            return Form(Wizard.browse(action["res_id"]))
        return Form(
            Wizard.with_context(
                active_model="res.partner", active_id=(partner or self.customer).id
            )
        )

    def _set_quantities(self, form, quantities):
        """``quantities``: {preference: quantity}, typed in the wizard's lines."""
        for index in range(len(form.line_ids)):
            with form.line_ids.edit(index) as line:
                if line.preference_id in quantities:
                    line.quantity = quantities[line.preference_id]
