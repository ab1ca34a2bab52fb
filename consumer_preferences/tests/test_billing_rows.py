# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo.tests import tagged

from .test_billing import ConsumerPreferenceBillCommon


@tagged("post_install", "-at_install")
class TestConsumerPreferenceBillRows(ConsumerPreferenceBillCommon):
    """One row per product and values, totals, and where the invoice came from."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Tea, specified, is also bought repeatedly (3 then 5: 4 per invoice).
        cls._post_customer_invoice(
            cls.customer, [(cls.tea, 3, 5.0)], invoice_date="2026-01-20"
        )
        cls._post_customer_invoice(
            cls.customer, [(cls.tea, 5, 5.0)], invoice_date="2026-02-20"
        )
        cls.tea_history = cls.env["consumer.preference"].search(
            [
                ("partner_id", "=", cls.customer.id),
                ("product_id", "=", cls.tea.id),
                ("preference_type", "=", "history"),
            ]
        )

    def test_specification_and_history_of_a_product_share_one_row(self):
        wizard = self._bill_form().save()
        self.assertEqual(len(self.tea_history), 1)
        self.assertRecordValues(
            wizard.line_ids,
            [
                {
                    "preference_id": self.shirt_specification.id,
                    "history_id": False,
                    "invoice_count": 0,
                    "suggested_quantity": 0.0,
                },
                {
                    "preference_id": self.tea_specification.id,
                    "history_id": self.tea_history.id,
                    "invoice_count": 2,
                    "suggested_quantity": 4.0,
                },
                *[
                    {
                        "preference_id": history.id,
                        "history_id": history.id,
                        "invoice_count": 1,
                        "suggested_quantity": 0.0,
                    }
                    for history in (self.coffee_history | self.shirt_history).sorted()
                ],
            ],
        )
        # The shirt specified (S) and the shirt bought (M) are different rows.
        self.assertEqual(
            wizard.line_ids.product_id,
            self.shirt_s | self.tea | self.coffee | self.shirt_m,
        )

    def test_fill_suggested_then_totals_match_the_invoice(self):
        form = self._bill_form()
        self._set_quantities(form, {self.shirt_specification: 2})
        wizard = form.save()
        wizard.action_fill_suggested_quantities()
        # Shirt S 2 × 20 + Tea 4 × 5, tax A (15 %).
        self.assertRecordValues(
            wizard.line_ids.filtered("quantity"),
            [
                {"quantity": 2.0, "price_subtotal": 40.0, "price_total": 46.0},
                {"quantity": 4.0, "price_subtotal": 20.0, "price_total": 23.0},
            ],
        )
        self.assertRecordValues(
            wizard,
            [{"amount_untaxed": 60.0, "amount_tax": 9.0, "amount_total": 69.0}],
        )
        invoice = self.env["account.move"].browse(wizard.action_bill()["res_id"])
        self.assertRecordValues(
            invoice,
            [
                {
                    "amount_untaxed": 60.0,
                    "amount_tax": 9.0,
                    "amount_total": 69.0,
                    "invoice_origin": "Preferences of Azure Shop",
                }
            ],
        )
        self.assertIn(
            "Billed from the consumer preferences of Azure Shop.",
            "".join(invoice.message_ids.mapped("body")),
        )

    def test_totals_shown_in_the_wizard(self):
        arch = self.env["consumer.preference.bill"].get_views([(False, "form")])[
            "views"
        ]["form"]["arch"]
        for field_name in ("price_subtotal", "amount_untaxed", "amount_total"):
            self.assertIn(f'name="{field_name}"', arch)
