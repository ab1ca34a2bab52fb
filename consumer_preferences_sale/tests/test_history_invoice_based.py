# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import Command
from odoo.tests import tagged

from .common import ConsumerPreferenceSaleCommon


@tagged("post_install", "-at_install")
class TestHistoryStaysInvoiceBased(ConsumerPreferenceSaleCommon):
    def test_confirmed_order_records_nothing_until_its_invoice_is_posted(self):
        order = (
            self.env["sale.order"]
            .with_user(self.salesperson)
            .create(
                {
                    "partner_id": self.customer.id,
                    "order_line": [
                        Command.create(
                            {"product_id": self.tea.id, "product_uom_qty": 3}
                        ),
                        Command.create(
                            {"product_id": self.coffee.id, "product_uom_qty": 6}
                        ),
                    ],
                }
            )
        )
        order.action_confirm()
        self.assertEqual(order.state, "sale")
        self.assertFalse(self._history(self.customer, self.tea))
        self.assertRecordValues(
            self._history(self.customer, self.coffee),
            [{"invoice_count": 2, "quantity": 6.0}],
        )

        invoice = order._create_invoices()
        self.assertEqual(invoice.state, "draft")
        self.assertFalse(self._history(self.customer, self.tea))

        invoice.invoice_date = "2026-03-15"
        invoice.with_user(self.accountant).action_post()
        self.assertRecordValues(
            self._history(self.customer, self.tea),
            [
                {
                    "invoice_count": 1,
                    "quantity": 3.0,
                    "last_invoice_date": invoice.invoice_date,
                }
            ],
        )
        self.assertRecordValues(
            self._history(self.customer, self.coffee),
            [{"invoice_count": 3, "quantity": 12.0}],
        )
