# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestPortalReorderTour(HttpCase):
    """In Chromium, as a portal customer, on data made here: keep a purchase
    as a favourite, enter quantities, reorder."""

    def test_portal_reorder(self):
        company = self.env.ref("base.main_company")
        customer = self.env["res.partner"].create(
            {"name": "Tour Portal Customer", "is_company": True}
        )
        portal_user = new_test_user(
            self.env,
            login="tour_portal",
            groups="base.group_portal",
            company_id=company.id,
            company_ids=[Command.set(company.ids)],
        )
        portal_user.partner_id.parent_id = customer
        product_values = {"type": "consu", "taxes_id": [Command.clear()]}
        tea, biscuits = self.env["product.product"].create(
            [
                dict(product_values, name="Tour Tea", list_price=10.0),
                dict(product_values, name="Tour Biscuits", list_price=4.0),
            ]
        )
        self.env["consumer.preference"].create(
            {"partner_id": customer.id, "product_id": tea.id, "company_id": company.id}
        )
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "company_id": company.id,
                "invoice_date": "2026-01-10",
                "invoice_line_ids": [
                    Command.create(
                        {
                            "product_id": biscuits.id,
                            "quantity": 5,
                            "price_unit": 4.0,
                            "tax_ids": [Command.clear()],
                        }
                    )
                ],
            }
        )
        invoice.action_post()

        self.start_tour(
            "/my/preferences",
            "consumer_preferences_sale_portal_reorder",
            login="tour_portal",
        )

        order = self.env["sale.order"].search(
            [("partner_id.commercial_partner_id", "=", customer.id)]
        )
        self.assertEqual(len(order), 1)
        self.assertEqual(order.state, "draft")
        self.assertEqual(
            {line.product_id: line.product_uom_qty for line in order.order_line},
            {tea: 3.0, biscuits: 2.0},
        )
        self.assertTrue(
            self.env["consumer.preference"].search_count(
                [
                    ("partner_id", "=", customer.id),
                    ("preference_type", "=", "specification"),
                    ("product_id", "=", biscuits.id),
                ]
            )
        )
