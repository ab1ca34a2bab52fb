# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import ConsumerPreferenceCommon


@tagged("post_install", "-at_install")
class TestConsumerPreferenceHistoryInvoiceLines(ConsumerPreferenceCommon):
    """A history line opens exactly the invoice lines it adds up."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.first_invoice = cls._post_customer_invoice(
            cls.customer,
            [(cls.coffee, 2, 8.0), (cls.tea, 1, 5.0)],
            invoice_date="2026-01-10",
        )
        # addressed to a contact: the company's history all the same
        cls.contact_invoice = cls._post_customer_invoice(
            cls.customer_contact, [(cls.coffee, 3, 8.0)], invoice_date="2026-02-10"
        )
        cls.refund = cls._post_customer_invoice(
            cls.customer,
            [(cls.coffee, 1, 8.0)],
            move_type="out_refund",
            invoice_date="2026-02-20",
        )
        # not this line's: another customer, a draft, another product
        cls._post_customer_invoice(cls.other_customer, [(cls.coffee, 5, 8.0)])
        cls._create_customer_invoice(cls.customer, [(cls.coffee, 9, 8.0)])
        cls.coffee_history = cls.env["consumer.preference"].search(
            [
                ("partner_id", "=", cls.customer.id),
                ("product_id", "=", cls.coffee.id),
                ("preference_type", "=", "history"),
            ]
        )

    def test_history_line_opens_its_invoice_lines(self):
        history = self.coffee_history.with_user(self.accountant)
        expected_lines = (
            self.first_invoice | self.contact_invoice | self.refund
        ).invoice_line_ids.filtered(lambda line: line.product_id == self.coffee)
        self.assertEqual(len(expected_lines), 3)
        self.assertRecordValues(
            history,
            [
                {
                    "invoice_count": 2,
                    "refund_count": 1,
                    "quantity": 4.0,
                    "invoice_line_count": 3,
                    "last_invoice_line_id": self.contact_invoice.invoice_line_ids.id,
                }
            ],
        )
        action = history.action_view_invoice_lines()
        self.assertEqual(action["res_model"], "account.move.line")
        lines = (
            self.env["account.move.line"]
            .with_user(self.accountant)
            .search(action["domain"])
        )
        self.assertEqual(lines, expected_lines)
        # The lines add up to the history line's net quantity and amount.
        signs = {"out_invoice": 1, "out_refund": -1}
        self.assertEqual(
            sum(line.quantity * signs[line.move_type] for line in lines),
            history.quantity,
        )
        self.assertEqual(-sum(lines.mapped("balance")), history.amount)

    def test_button_on_the_history_line_form(self):
        form = Form(self.coffee_history.with_user(self.accountant))
        self.assertEqual(form.invoice_line_count, 3)
        arch = (
            self.env["consumer.preference"]
            .with_user(self.accountant)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        self.assertIn('name="action_view_invoice_lines"', arch)

    def test_specification_has_no_invoice_lines(self):
        specification = self.env["consumer.preference"].create(
            {"partner_id": self.customer.id, "product_id": self.coffee.id}
        )
        self.assertEqual(specification.invoice_line_count, 0)
        with self.assertRaisesRegex(UserError, "open a history line"):
            specification.action_view_invoice_lines()
