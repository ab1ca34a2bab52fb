# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import ConsumerPreferenceCommon


@tagged("post_install", "-at_install")
class TestConsumerPreferenceSalesMonth(ConsumerPreferenceCommon):
    """The year × month grid of Azure Shop: Coffee 2×8 and Tea 1×5 in March
    2025 (the contact's invoice), Coffee 3×8 in September 2025, Coffee 1×8 in
    March 2026, returned in March 2026."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._post_customer_invoice(
            cls.customer_contact,
            [(cls.coffee, 2, 8.0), (cls.tea, 1, 5.0)],
            invoice_date="2025-03-10",
        )
        cls._post_customer_invoice(
            cls.customer, [(cls.coffee, 3, 8.0)], invoice_date="2025-09-10"
        )
        cls._post_customer_invoice(
            cls.customer, [(cls.coffee, 1, 8.0)], invoice_date="2026-03-01"
        )
        cls._post_customer_invoice(
            cls.customer,
            [(cls.coffee, 1, 8.0)],
            move_type="out_refund",
            invoice_date="2026-03-20",
        )
        cls._post_customer_invoice(
            cls.other_customer, [(cls.coffee, 9, 8.0)], invoice_date="2025-03-10"
        )

    def test_year_by_month_grid(self):
        action = self.customer_contact.with_user(
            self.accountant
        ).action_view_consumer_sales_by_month()
        self.assertEqual(action["name"], "Sales by Month: Azure Shop")
        grid = (
            self.env["consumer.preference.sales.month"]
            .with_user(self.accountant)
            ._read_group(
                action["domain"],
                ["product_id", "year", "month"],
                ["quantity:sum", "amount:sum"],
            )
        )
        self.assertEqual(
            sorted(
                (product.name, year, month, quantity, amount)
                for product, year, month, quantity, amount in grid
            ),
            [
                ("Coffee", "2025", "03", 2.0, 16.0),
                ("Coffee", "2025", "09", 3.0, 24.0),
                ("Coffee", "2026", "03", 0.0, 0.0),
                ("Tea", "2025", "03", 1.0, 5.0),
            ],
        )
        pivot = self.env.ref(
            "consumer_preferences.consumer_preference_sales_month_view_pivot"
        )
        self.assertIn('<field name="month" type="col"/>', pivot.arch)

    def test_invoice_posted_in_the_same_transaction_counts(self):
        """A script posting a credit note and reading the grid in the same
        transaction finds it: the view's sources are written first (the
        credit note was missing)."""
        self._post_customer_invoice(
            self.customer,
            [(self.tea, 1, 5.0)],
            move_type="out_refund",
            invoice_date="2026-04-02",
        )
        grid = self.env["consumer.preference.sales.month"]._read_group(
            [("partner_id", "=", self.customer.id), ("product_id", "=", self.tea.id)],
            ["year", "month"],
            ["quantity:sum", "amount:sum"],
        )
        self.assertEqual(
            sorted(grid), [("2025", "03", 1.0, 5.0), ("2026", "04", -1.0, -5.0)]
        )

    def test_rights(self):
        with self.assertRaises(AccessError):
            self.env["consumer.preference.sales.month"].with_user(
                self.salesperson
            ).search([])
        other_company = self.setup_other_company()["company"]
        self.assertFalse(
            self.env["consumer.preference.sales.month"]
            .with_user(self.accountant)
            .search([("company_id", "=", other_company.id)])
        )

    def test_the_view_expects_every_line_it_reads(self):
        """Read whole (a pivot by RPC without the form's customer filter),
        the view's plan expects about as many lines as the same lines without
        the condition that a line is on its invoice's customer: taken as
        independent of the join on its invoice, that condition made
        PostgreSQL expect one line in thousands and loop over products and
        lines (56 s for 500,000 lines)."""
        self._post_for_new_customers()

        def estimated_rows(query):
            self.env.cr.execute(f"EXPLAIN (FORMAT JSON) {query}")
            return self.env.cr.fetchone()[0][0]["Plan"]["Plan Rows"]

        lines = estimated_rows(
            """
            SELECT line.id FROM account_move_line line
              JOIN account_move move ON move.id = line.move_id
             WHERE line.parent_state = 'posted'
               AND line.display_type = 'product'
               AND move.move_type IN ('out_invoice', 'out_refund')
               AND line.product_id IS NOT NULL
            """
        )
        self.assertGreaterEqual(
            # a third of them, as any function call's condition
            estimated_rows("SELECT * FROM consumer_preference_sales_month"),
            lines / 5,
        )
