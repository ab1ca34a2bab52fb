# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import Command
from odoo.tests import Form, tagged

from .test_billing import ConsumerPreferenceBillCommon


@tagged("post_install", "-at_install")
class TestConsumerPreferenceBillLazyPrices(ConsumerPreferenceBillCommon):
    """The wizard is created without pricing its lines: a line is priced when
    it is read or billed, at the customer's pricelist price; a typed price is
    kept."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Coffee costs 6.5 from 10 units on.
        cls.customer.property_product_pricelist = cls.env["product.pricelist"].create(
            {
                "name": "Wholesale",
                "currency_id": cls.company.currency_id.id,
                "company_id": cls.company.id,
                "item_ids": [
                    Command.create(
                        {
                            "applied_on": "0_product_variant",
                            "product_id": cls.coffee.id,
                            "min_quantity": 10,
                            "compute_price": "fixed",
                            "fixed_price": 6.5,
                        }
                    )
                ],
            }
        )
        products = cls.env["product.product"].create(
            [
                {"name": f"Spice {index:02d}", "lst_price": 1.0 + index}
                for index in range(20)
            ]
        )
        cls.env["consumer.preference"].create(
            [
                {"partner_id": cls.customer.id, "product_id": product.id}
                for product in products
            ]
        )

    def _create_wizard(self):
        """The wizard created at once, as Add from Preferences does."""
        return (
            self.env["consumer.preference.bill"]
            .with_user(self.accountant)
            .with_context(active_model="res.partner", active_id=self.customer.id)
            .create({})
        )

    def _line(self, wizard, preference):
        return wizard.line_ids.filtered(lambda line: line.preference_id == preference)

    def test_created_unpriced_first_page_priced_when_read(self):
        with self._record_priced_lines() as priced_ids:
            wizard = self._create_wizard()
            self.env.flush_all()
            self.assertEqual(len(wizard.line_ids), 24)
            self.assertFalse(priced_ids, "creating the wizard prices no line")

            wizard.invalidate_recordset()
            [values] = wizard.web_read(
                {
                    "line_ids": {
                        "fields": {
                            "product_id": {"fields": {"display_name": {}}},
                            "price_unit": {},
                            "tax_ids": {"fields": {"display_name": {}}},
                            "price_subtotal": {},
                        },
                        "limit": 5,
                    },
                    "amount_untaxed": {},
                    "amount_total": {},
                }
            )
        first_page = wizard.line_ids[:5]
        self.assertEqual(priced_ids, set(first_page.ids))
        self.assertEqual(
            [line["price_unit"] for line in values["line_ids"][:5]],
            [20.0, 5.0, 1.0, 2.0, 3.0],
        )
        self.assertEqual(values["amount_total"], 0.0)

    def test_only_billed_lines_priced_at_pricelist_prices(self):
        """Only the billed lines are priced, each at the customer's pricelist
        price for its quantity."""
        wizard = self._create_wizard()
        self._line(wizard, self.tea_specification).quantity = 2
        self._line(wizard, self.coffee_history).quantity = 10
        self._line(wizard, self.shirt_specification).quantity = 1
        wizard.invalidate_recordset()
        with self._record_priced_lines() as priced_ids:
            invoice = self.env["account.move"].browse(wizard.action_bill()["res_id"])
        self.assertEqual(priced_ids, set(wizard.line_ids.filtered("quantity").ids))
        self.assertRecordValues(
            invoice.invoice_line_ids,
            [
                {"product_id": self.shirt_s.id, "quantity": 1.0, "price_unit": 20.0},
                {"product_id": self.tea.id, "quantity": 2.0, "price_unit": 5.0},
                {"product_id": self.coffee.id, "quantity": 10.0, "price_unit": 6.5},
            ],
        )
        self.assertEqual(invoice.amount_untaxed, 95.0)

    def test_typed_price_kept_until_the_pricelist_price_is_typed(self):
        """In the form of a saved wizard, as Add from Preferences opens it: a
        typed price survives a change of quantity and saving; typing the
        pricelist's price gives the line back to the pricelist."""
        wizard = self._create_wizard()
        form = Form(wizard)
        with form.line_ids.edit(self._line_index(form, self.coffee_history)) as line:
            self.assertEqual(line.price_unit, 8.0)
            line.price_unit = 7.25
            line.quantity = 10
            self.assertEqual(line.price_unit, 7.25)
        form.save()
        coffee_line = self._line(wizard, self.coffee_history)
        coffee_line.invalidate_recordset()
        self.assertEqual(coffee_line.price_unit, 7.25)

        # Written, not typed in a form: the same.
        coffee_line.quantity = 3
        self.assertEqual(coffee_line.price_unit, 7.25)
        coffee_line.price_unit = 8.0
        coffee_line.quantity = 10
        self.assertEqual(coffee_line.price_unit, 6.5, "the pricelist's again")
        coffee_line.price_unit = 7.5

        invoice = self.env["account.move"].browse(wizard.action_bill()["res_id"])
        self.assertRecordValues(
            invoice.invoice_line_ids,
            [{"product_id": self.coffee.id, "quantity": 10.0, "price_unit": 7.5}],
        )
