# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from contextlib import contextmanager
from unittest.mock import patch

from odoo import Command
from odoo.sql_db import Cursor
from odoo.tests import tagged
from odoo.tools import SQL

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

    def _assert_wizard_totals_are_the_invoice_totals(self, wizard, expected):
        self.assertRecordValues(wizard, [expected])
        invoice = self.env["account.move"].browse(wizard.action_bill()["res_id"])
        self.assertRecordValues(invoice, [expected])

    def test_totals_rounded_globally_as_the_invoice(self):
        """Taxes rounded globally: 15 % of 8.03 and of 5.03 is 1.2045 + 0.7545
        = 1.959, 1.96 on the invoice (1.20 + 0.75 = 1.95 rounded per line)."""
        self.company.tax_calculation_rounding_method = "round_globally"
        form = self._bill_form()
        for preference, price in (
            (self.coffee_history, 8.03),
            (self.tea_specification, 5.03),
        ):
            with form.line_ids.edit(self._line_index(form, preference)) as line:
                line.quantity = 1
                line.price_unit = price
        self._assert_wizard_totals_are_the_invoice_totals(
            form.save(),
            {"amount_untaxed": 13.06, "amount_tax": 1.96, "amount_total": 15.02},
        )

    def test_totals_with_early_payment_discount_as_the_invoice(self):
        """Payment terms with a 2 % early payment discount, taxes computed on
        the discounted amount (mixed): 15 % of 16 - 2 %, as the invoice."""
        self.customer.property_payment_term_id = self.env[
            "account.payment.term"
        ].create(
            {
                "name": "2 % 10 days, net 30",
                "early_discount": True,
                "discount_percentage": 2,
                "discount_days": 10,
                "early_pay_discount_computation": "mixed",
                "line_ids": [
                    Command.create(
                        {"value": "percent", "value_amount": 100, "nb_days": 30}
                    )
                ],
            }
        )
        form = self._bill_form()
        self._set_quantities(form, {self.coffee_history: 2})
        self._assert_wizard_totals_are_the_invoice_totals(
            form.save(),
            {"amount_untaxed": 16.0, "amount_tax": 2.35, "amount_total": 18.35},
        )

    def test_product_without_taxes_gets_the_taxes_of_its_income_account(self):
        """As on an invoice line: a product without customer taxes is taxed
        with the sales taxes of its income account (charts such as SKR03 set
        them)."""
        self.coffee.taxes_id = False
        self.company_data["default_account_revenue"].tax_ids = self.tax_sale_a
        form = self._bill_form()
        self._set_quantities(form, {self.coffee_history: 2})
        wizard = form.save()
        self.assertEqual(wizard.line_ids.filtered("quantity").tax_ids, self.tax_sale_a)
        self._assert_wizard_totals_are_the_invoice_totals(
            wizard,
            {"amount_untaxed": 16.0, "amount_tax": 2.4, "amount_total": 18.4},
        )

    def test_sales_journal_searched_once_per_wizard(self):
        """Products without taxes nor income account get the sales taxes of
        the sales journal's account, as on an invoice line: the journal is
        searched once per wizard, however many such lines it taxes."""
        category = self.env["product.category"].create({"name": "No account"})
        category.property_account_income_categ_id = False
        journal_account = self.company_data["default_journal_sale"].default_account_id
        journal_account.tax_ids = self.tax_sale_a
        queries_by_line_count = {}
        for line_count in (2, 6):
            customer = self.env["res.partner"].create(
                {"name": f"{line_count} untaxed products", "is_company": True}
            )
            products = self.env["product.product"].create(
                [
                    {
                        "name": f"Untaxed {index} of {line_count}",
                        "categ_id": category.id,
                        "taxes_id": [Command.clear()],
                    }
                    for index in range(line_count)
                ]
            )
            self.env["consumer.preference"].create(
                [
                    {"partner_id": customer.id, "product_id": product.id}
                    for product in products
                ]
            )
            wizard = (
                self.env["consumer.preference.bill"]
                .with_user(self.accountant)
                .with_context(active_model="res.partner", active_id=customer.id)
                .create({})
            )
            # As the form reads the lines: in a request of its own.
            self.env.invalidate_all()
            with self._journal_queries() as queries:
                self.assertEqual(wizard.line_ids.tax_ids, self.tax_sale_a)
            queries_by_line_count[line_count] = len(queries)
        self.assertEqual(
            queries_by_line_count[6],
            queries_by_line_count[2],
            "three times the lines, the same journal queries",
        )

    @contextmanager
    def _journal_queries(self):
        """The SQL queries reading ``account_journal``, as they run."""
        queries = []
        execute = Cursor.execute

        def record(cursor, query, params=None, log_exceptions=True):
            code = query.code if isinstance(query, SQL) else query
            if 'FROM "account_journal"' in code:
                queries.append(code)
            return execute(cursor, query, params, log_exceptions)

        with patch.object(Cursor, "execute", record):
            yield queries

    def test_source_document_in_the_customer_language(self):
        """The invoice prints its Source Document for the customer: in the
        customer's language, as its lines, whatever the user's."""
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms(
            ["consumer_preferences"], ["fr_FR"]
        )
        self.customer.lang = "fr_FR"
        self.assertEqual(self.accountant.lang, "en_US")
        form = self._bill_form()
        self._set_quantities(form, {self.coffee_history: 2})
        invoice = self.env["account.move"].browse(form.save().action_bill()["res_id"])
        self.assertEqual(invoice.invoice_origin, "Préférences de Azure Shop")

    def test_totals_shown_in_the_wizard(self):
        arch = self.env["consumer.preference.bill"].get_views([(False, "form")])[
            "views"
        ]["form"]["arch"]
        for field_name in ("price_subtotal", "amount_untaxed", "amount_total"):
            self.assertIn(f'name="{field_name}"', arch)
