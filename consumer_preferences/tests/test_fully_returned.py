# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from datetime import date

from freezegun import freeze_time

from odoo.tests import tagged

from .test_billing import ConsumerPreferenceBillCommon


@tagged("post_install", "-at_install")
class TestConsumerPreferenceFullyReturned(ConsumerPreferenceBillCommon):
    """A sofa bought twice and returned in full (net 0, $0.00) stays in the
    history, folded away, and out of reorder and billing; tea, bought twice
    and kept, is due like before."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sofa = cls._create_product(name="Three-Seat Sofa", lst_price=1000.0)
        for invoice_date in ("2026-01-10", "2026-02-10"):
            cls._post_customer_invoice(
                cls.customer,
                [(cls.sofa, 1, 1000.0), (cls.tea, 2, 5.0)],
                invoice_date=invoice_date,
            )
        cls._post_customer_invoice(
            cls.customer,
            [(cls.sofa, 2, 1000.0)],
            move_type="out_refund",
            invoice_date="2026-02-20",
        )
        cls.sofa_history = cls.env["consumer.preference"].search(
            [("product_id", "=", cls.sofa.id), ("preference_type", "=", "history")]
        )

    def test_history_line_kept_but_folded_away(self):
        self.assertRecordValues(
            self.sofa_history,
            [
                {
                    "invoice_count": 2,
                    "refund_count": 1,
                    "quantity": 0.0,
                    "amount": 0.0,
                    "next_expected_date": date(2026, 3, 13),
                    "is_fully_returned": True,
                }
            ],
        )
        customer = self.customer_contact.with_user(self.salesperson)
        self.assertIn(self.sofa_history, customer.commercial_history_ids)
        self.assertNotIn(self.sofa_history, customer.commercial_history_bought_ids)
        self.assertEqual(
            customer.commercial_history_bought_ids.product_id,
            self.coffee | self.shirt_m | self.tea,
        )
        self.assertEqual(customer.consumer_history_returned_count, 1)
        action = customer.action_view_consumer_returned_history()
        self.assertEqual(
            self.env["consumer.preference"].search(action["domain"]),
            self.sofa_history,
        )
        self.assertEqual(
            self.env["consumer.preference"].search(
                [
                    ("is_fully_returned", "=", False),
                    ("partner_id", "=", self.customer.id),
                ]
            ),
            customer.commercial_specification_ids
            | customer.commercial_history_bought_ids,
        )

    @freeze_time("2026-06-01")
    def test_not_due_for_reorder(self):
        self.assertRecordValues(
            self.customer.with_user(self.salesperson),
            [{"consumer_profile_due_count": 1, "consumer_profile_due_products": "Tea"}],
        )
        action = self.customer.action_view_consumer_due_preferences()
        due_lines = self.env["consumer.preference"].search(
            action["domain"] + self._filter_domain("due_for_reorder")
        )
        self.assertEqual(due_lines.product_id, self.tea)

    def test_not_offered_for_billing(self):
        wizard = self._bill_form().save()
        self.assertNotIn(self.sofa, wizard.line_ids.product_id)
        self.assertEqual(
            wizard.line_ids.product_id,
            self.shirt_s | self.tea | self.coffee | self.shirt_m,
        )
        # Tea is specified and bought repeatedly (2 per invoice): one row.
        tea_line = wizard.line_ids.filtered(lambda line: line.product_id == self.tea)
        self.assertRecordValues(
            tea_line,
            [{"preference_id": self.tea_specification.id, "suggested_quantity": 2.0}],
        )

    def test_specified_sofa_billed_without_suggestion(self):
        self.env["consumer.preference"].with_user(self.salesperson).create(
            {"partner_id": self.customer.id, "product_id": self.sofa.id}
        )
        wizard = self._bill_form().save()
        sofa_line = wizard.line_ids.filtered(lambda line: line.product_id == self.sofa)
        self.assertRecordValues(
            sofa_line,
            [
                {
                    "preference_type": "specification",
                    "history_id": False,
                    "suggested_quantity": 0.0,
                }
            ],
        )
