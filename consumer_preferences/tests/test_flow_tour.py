# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import Command
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestConsumerPreferenceFlowTour(HttpCase):
    """In Chromium, on data made here (no demo record): add a specification,
    bill from preferences with totals shown, open the invoice lines behind a
    history line."""

    def test_specify_bill_and_open_invoice_lines(self):
        company = self.env.ref("base.main_company")
        company.consumer_preference_billing = True
        company.consumer_preference_auto_post = False
        customer = self.env["res.partner"].create(
            {"name": "Tour Customer", "is_company": True}
        )
        product_values = {"type": "consu", "taxes_id": [Command.clear()]}
        tea, _coffee = self.env["product.product"].create(
            [
                dict(product_values, name="Tour Tea", list_price=10.0),
                dict(product_values, name="Tour Coffee", list_price=7.0),
            ]
        )
        for invoice_date in ("2026-01-10", "2026-02-10"):
            self.env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "partner_id": customer.id,
                    "invoice_date": invoice_date,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": tea.id,
                                "quantity": 3,
                                "price_unit": 10.0,
                                "tax_ids": [Command.clear()],
                            }
                        )
                    ],
                }
            ).action_post()
        self.start_tour(
            f"/odoo/action-base.action_partner_form/{customer.id}",
            "consumer_preferences_flow",
            login="admin",
        )
        specification = customer.consumer_specification_ids
        self.assertEqual(specification.product_id.name, "Tour Coffee")
        invoice = self.env["account.move"].search(
            [("partner_id", "=", customer.id), ("state", "=", "draft")]
        )
        self.assertRecordValues(
            invoice,
            [
                {
                    "invoice_origin": "Preferences of Tour Customer",
                    "amount_untaxed": 30.0,
                }
            ],
        )
