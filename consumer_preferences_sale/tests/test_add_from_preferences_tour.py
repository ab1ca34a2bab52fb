# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import Command
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestAddFromPreferencesTour(HttpCase):
    """In Chromium, on data made here: a quotation's Add from Preferences
    renders the wizard and adds the suggested quantity."""

    def test_add_from_preferences(self):
        customer = self.env["res.partner"].create(
            {"name": "Tour Sale Customer", "is_company": True}
        )
        product_values = {"type": "consu", "taxes_id": [Command.clear()]}
        tea, coffee = self.env["product.product"].create(
            [
                dict(product_values, name="Tour Tea", list_price=10.0),
                dict(product_values, name="Tour Coffee", list_price=7.0),
            ]
        )
        self.env["consumer.preference"].create(
            {"partner_id": customer.id, "product_id": coffee.id}
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
        order = self.env["sale.order"].create({"partner_id": customer.id})
        self.start_tour(
            f"/odoo/action-sale.action_quotations_with_onboarding/{order.id}",
            "consumer_preferences_sale_add_from_preferences",
            login="admin",
        )
        self.assertRecordValues(
            order.order_line,
            [{"product_id": tea.id, "product_uom_qty": 3.0, "price_unit": 10.0}],
        )
