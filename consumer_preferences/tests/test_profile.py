# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from datetime import date

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from .common import ConsumerPreferenceCommon, searched_by_joins

# The web client formats amounts with a no-break space after the symbol.
NBSP = "\N{NO-BREAK SPACE}"


@tagged("post_install", "-at_install")
class TestConsumerPreferenceProfile(ConsumerPreferenceCommon):
    """The purchase profile on a known data set.

    ==========  =======================================  ========  ========
    date        lines (quantity × unit price)            untaxed   kind
    ==========  =======================================  ========  ========
    2025-03-10  Shirt M 4×20, Coffee 2×8, Notebook 3×10,    132.00  invoice
                Seeds 1×6
    2025-09-10  Shirt M 8×20, Shirt L 3×20                  220.00  invoice
    2026-01-15  Coffee 3×8, Tea 10×5                         74.00  invoice
    2026-02-01  Shirt L 1×20                                -20.00  refund
    ==========  =======================================  ========  ========

    Categories: Textile 280, Food 90, Books 30, Garden 6. Sizes: M 12, L 2.
    Shirt M is expected again on 2026-03-13 (184 days after 2025-09-10),
    Coffee on 2026-11-22 (311 days after 2026-01-15).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        category_books = cls.env["product.category"].create({"name": "Books"})
        category_garden = cls.env["product.category"].create({"name": "Garden"})
        cls.notebook = cls._create_product(
            name="Notebook", categ_id=category_books.id, lst_price=10.0
        )
        cls.seeds = cls._create_product(
            name="Seeds", categ_id=category_garden.id, lst_price=6.0
        )
        cls._post_customer_invoice(
            cls.customer,
            [
                (cls.shirt_m, 4, 20.0),
                (cls.coffee, 2, 8.0),
                (cls.notebook, 3, 10.0),
                (cls.seeds, 1, 6.0),
            ],
            invoice_date="2025-03-10",
        )
        cls._post_customer_invoice(
            cls.customer_contact,
            [(cls.shirt_m, 8, 20.0), (cls.shirt_l, 3, 20.0)],
            invoice_date="2025-09-10",
        )
        cls._post_customer_invoice(
            cls.customer,
            [(cls.coffee, 3, 8.0), (cls.tea, 10, 5.0)],
            invoice_date="2026-01-15",
        )
        cls._post_customer_invoice(
            cls.customer,
            [(cls.shirt_l, 1, 20.0)],
            move_type="out_refund",
            invoice_date="2026-02-01",
        )

    def _usd(self, amount):
        return f"${NBSP}{amount}"

    @freeze_time("2026-06-01")
    def test_summary_figures(self):
        self.assertRecordValues(
            self.customer.with_user(self.salesperson),
            [
                {
                    "consumer_profile_currency_id": self.company.currency_id.id,
                    "consumer_profile_invoice_count": 3,
                    "consumer_profile_refund_count": 1,
                    "consumer_profile_net_invoiced": 406.0,
                    "consumer_profile_average_invoice": 135.33,
                    "consumer_profile_first_date": date(2025, 3, 10),
                    "consumer_profile_last_date": date(2026, 1, 15),
                    "consumer_profile_top_categories": (
                        f"Textile {self._usd('280.00')}, Food {self._usd('90.00')}, "
                        f"Books {self._usd('30.00')}"
                    ),
                    "consumer_profile_top_values": "Size: M ×12, L ×2",
                    "consumer_profile_due_count": 1,
                    "consumer_profile_due_products": "Shirt (M)",
                }
            ],
        )

    def test_net_figures_reconcile_with_invoices_and_invoiced_button(self):
        """Item 1: net figures, credit notes deducted, equal to the posted
        moves' untaxed totals and to Odoo's Invoiced button on the company;
        a contact shows its company's figures, and says so."""
        moves = self.env["account.move"].search(
            [("commercial_partner_id", "=", self.customer.id), ("state", "=", "posted")]
        )
        self.assertEqual(
            sorted(moves.mapped("amount_untaxed_signed")),
            [-20.0, 74.0, 132.0, 220.0],
        )
        company = self.customer.with_user(self.accountant)
        self.assertRecordValues(
            company,
            [
                {
                    "total_invoiced": 406.0,
                    "consumer_profile_net_invoiced": 406.0,
                    "consumer_profile_invoice_count": 3,
                    "consumer_profile_refund_count": 1,
                    # 406.00 / 3 invoices
                    "consumer_profile_average_invoice": 135.33,
                }
            ],
        )
        # Odoo's button on the contact counts the invoice addressed to it
        # only; the profile is the company's, as the tab says.
        contact = self.customer_contact.with_user(self.accountant)
        self.assertRecordValues(
            contact,
            [
                {
                    "total_invoiced": 220.0,
                    "consumer_profile_net_invoiced": 406.0,
                    "consumer_profile_average_invoice": 135.33,
                    "consumer_profile_invoice_count": 3,
                }
            ],
        )
        self.assertEqual(
            contact.commercial_partner_id.total_invoiced,
            contact.consumer_profile_net_invoiced,
        )
        arch = contact.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn("the figures of the company and all its contacts", arch)
        self.assertIn(
            "the amount of Odoo's Invoiced button on the company",
            self.env["res.partner"]
            ._fields["consumer_profile_net_invoiced"]
            ._description_help(self.env),
        )

    @freeze_time("2026-06-01")
    def test_contact_form_shows_company_profile(self):
        form = Form(self.customer_contact.with_user(self.salesperson))
        self.assertEqual(form.consumer_profile_invoice_count, 3)
        self.assertEqual(form.consumer_profile_top_values, "Size: M ×12, L ×2")
        self.assertEqual(form.consumer_profile_due_products, "Shirt (M)")

    def test_purchase_dates_of_every_posted_invoice(self):
        """The first and last purchases are those of the posted invoices the
        profile counts, as the segment's: an invoice of a service line
        without product (2026-03-01) is the last purchase, though no history
        line records it."""
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.customer_contact.id,
                "invoice_date": "2026-03-01",
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": "Installation",
                            "quantity": 1,
                            "price_unit": 100.0,
                            "account_id": self.company_data[
                                "default_account_revenue"
                            ].id,
                        }
                    )
                ],
            }
        )
        invoice.with_user(self.accountant).action_post()
        with freeze_time("2026-06-01"):
            self.env["consumer.preference.segment"]._recompute(self.company)
            profile = self.customer_contact.with_user(self.salesperson)
            self.assertEqual(
                (
                    profile.consumer_profile_invoice_count,
                    profile.consumer_profile_first_date,
                    profile.consumer_profile_last_date,
                ),
                (4, date(2025, 3, 10), date(2026, 3, 1)),
            )
        segment = self.env["consumer.preference.segment"].search(
            [("partner_id", "=", self.customer.id)]
        )
        self.assertEqual(
            (segment.first_invoice_date, segment.last_invoice_date),
            (profile.consumer_profile_first_date, profile.consumer_profile_last_date),
        )

    def test_due_products_most_overdue_first(self):
        # over more than a year: no window (Due for Reorder Within)
        self.company.consumer_preference_due_days = 0
        self._post_customer_invoice(
            self.customer,
            [(self.tea, 2, 5.0), (self.notebook, 1, 10.0), (self.seeds, 1, 6.0)],
            invoice_date="2026-03-01",
        )
        # Shirt M 2026-03-13, Tea 2026-04-15, Coffee 2026-11-22,
        # Notebook and Seeds 2027-02-20.
        with freeze_time("2026-12-01"):
            self.assertRecordValues(
                self.customer,
                [
                    {
                        "consumer_profile_due_count": 3,
                        "consumer_profile_due_products": "Shirt (M), Tea, Coffee",
                    }
                ],
            )
        self.customer.invalidate_recordset()
        with freeze_time("2027-06-01"):
            self.assertRecordValues(
                self.customer,
                [
                    {
                        "consumer_profile_due_count": 5,
                        "consumer_profile_due_products": (
                            "Shirt (M), Tea, Coffee and 2 more"
                        ),
                    }
                ],
            )
            action = self.customer.action_view_consumer_due_preferences()
            self.assertEqual(action["context"]["search_default_due_for_reorder"], 1)
            due_lines = self.env["consumer.preference"].search(
                action["domain"] + self._filter_domain("due_for_reorder")
            )
            self.assertEqual(
                due_lines.product_id,
                self.shirt_m | self.tea | self.coffee | self.notebook | self.seeds,
            )

    @freeze_time("2026-06-01")
    def test_view_due_lists_the_current_company_only(self):
        """A user working in two companies: the profile counts the due
        products of the current one, and its View lists those only (the
        other company's were listed too)."""
        other_company = self.setup_other_company()["company"]
        for invoice_date in ("2026-01-05", "2026-02-05"):
            self.env["account.move"].with_company(other_company).create(
                {
                    "move_type": "out_invoice",
                    "partner_id": self.customer.id,
                    "invoice_date": invoice_date,
                    "invoice_line_ids": [
                        Command.create(
                            {"product_id": self.tea.id, "quantity": 1, "tax_ids": []}
                        )
                    ],
                }
            ).action_post()
        customer = self.customer.with_context(
            allowed_company_ids=[self.company.id, other_company.id]
        )
        action = customer.action_view_consumer_due_preferences()
        listed = customer.env["consumer.preference"].search(
            action["domain"] + self._filter_domain("due_for_reorder")
        )
        self.assertEqual(listed.company_id, self.company)
        self.assertEqual(len(listed), customer.consumer_profile_due_count)

    def test_values_of_several_characteristics(self):
        colour_red = self.colour.value_ids
        self.env["product.template.attribute.line"].create(
            {
                "product_tmpl_id": self.shirt_template.id,
                "attribute_id": self.colour.id,
                "value_ids": [Command.set(colour_red.ids)],
            }
        )
        # A single-value attribute does not create new variants: the existing
        # shirts now carry Red, and the history picks it up on rebuild.
        self.customer.with_user(
            self.preference_manager
        ).action_consumer_preference_rebuild()
        self.assertEqual(
            self.customer.consumer_profile_top_values,
            "Colour: Red ×14 · Size: M ×12, L ×2",
        )

    def test_foreign_currency_in_company_currency(self):
        other_currency = self.setup_other_currency("EUR", rates=[("2026-01-01", 2.0)])
        self._post_customer_invoice(
            self.other_customer,
            [(self.shirt_s, 5, 100.0), (self.coffee, 1, 40.0)],
            currency_id=other_currency.id,
            invoice_date="2026-02-01",
        )
        self.assertRecordValues(
            self.other_customer,
            [
                {
                    "consumer_profile_invoice_count": 1,
                    "consumer_profile_average_invoice": 270.0,
                    "consumer_profile_top_categories": (
                        f"Textile {self._usd('250.00')}, Food {self._usd('20.00')}"
                    ),
                    "consumer_profile_top_values": "Size: S ×5",
                }
            ],
        )

    def test_current_company_only(self):
        other_company = self.setup_other_company()["company"]
        self.env["account.move"].with_company(other_company).create(
            {
                "move_type": "out_invoice",
                "partner_id": self.customer.id,
                "invoice_date": "2026-03-01",
                "invoice_line_ids": [
                    Command.create(
                        {
                            "product_id": self.tea.id,
                            "quantity": 7,
                            "price_unit": 10.0,
                            "tax_ids": [],
                        }
                    )
                ],
            }
        ).action_post()
        self.assertRecordValues(
            self.customer,
            [
                {
                    "consumer_profile_invoice_count": 3,
                    "consumer_profile_last_date": date(2026, 1, 15),
                }
            ],
        )
        self.assertRecordValues(
            self.customer.with_company(other_company),
            [
                {
                    "consumer_profile_currency_id": other_company.currency_id.id,
                    "consumer_profile_invoice_count": 1,
                    "consumer_profile_refund_count": 0,
                    "consumer_profile_average_invoice": 70.0,
                    "consumer_profile_first_date": date(2026, 3, 1),
                    "consumer_profile_last_date": date(2026, 3, 1),
                    "consumer_profile_top_categories": f"Food {self._usd('70.00')}",
                    "consumer_profile_top_values": False,
                    "consumer_profile_due_count": 0,
                }
            ],
        )

    def test_no_profile_without_consent(self):
        self.customer.consumer_preference_consent = False
        self.assertRecordValues(
            self.customer_contact,
            [
                {
                    "consumer_profile_invoice_count": 0,
                    "consumer_profile_average_invoice": 0.0,
                    "consumer_profile_first_date": False,
                    "consumer_profile_top_categories": False,
                    "consumer_profile_due_count": 0,
                }
            ],
        )

    @freeze_time("2026-06-01")
    def test_due_filter_leaves_out_withdrawn_consent(self):
        """The preferences list's Due for Reorder filter agrees with the
        profile: a customer who withdrew consent has nothing due (its history
        lines stay until erased, and are never reminded of)."""
        customer_domain = [("partner_id", "=", self.customer.id)]
        due_lines = self.env["consumer.preference"].search(
            customer_domain + self._filter_domain("due_for_reorder")
        )
        self.assertEqual(due_lines.product_id, self.shirt_m)
        self.customer.consumer_preference_consent = False
        self.assertEqual(self.customer.consumer_profile_due_count, 0)
        self.assertFalse(
            self.env["consumer.preference"].search(
                customer_domain + self._filter_domain("due_for_reorder")
            )
        )

    @freeze_time("2026-06-01")
    def test_own_documents_salesperson_sees_own_customers_amounts_only(self):
        """Item 14: the profile reads invoices as superuser, but a salesperson
        limited to own documents sees money figures only for the customers
        they are the salesperson of, or that have none; counts, dates,
        categories and values stay shared. Invoices themselves stay closed."""
        other_salesperson = self._new_company_user(
            "cp_other_salesperson", "base.group_user,sales_team.group_sale_salesman"
        )
        all_documents_salesperson = self._new_company_user(
            "cp_all_documents_salesperson",
            "base.group_user,sales_team.group_sale_salesman_all_leads",
        )
        without_amounts = {
            "consumer_profile_invoice_count": 3,
            "consumer_profile_net_invoiced": 0.0,
            "consumer_profile_average_invoice": 0.0,
            "consumer_profile_top_categories": "Textile, Food, Books",
            "consumer_profile_top_values": "Size: M ×12, L ×2",
        }
        with_amounts = dict(
            without_amounts,
            consumer_profile_net_invoiced=406.0,
            consumer_profile_average_invoice=135.33,
            consumer_profile_top_categories=(
                f"Textile {self._usd('280.00')}, Food {self._usd('90.00')}, "
                f"Books {self._usd('30.00')}"
            ),
        )
        expectations = [
            (other_salesperson, self.salesperson, without_amounts),
            (other_salesperson, other_salesperson, with_amounts),
            (other_salesperson, all_documents_salesperson, with_amounts),
            (other_salesperson, self.accountant, with_amounts),
            (self.salesperson, self.salesperson, with_amounts),
        ]
        for customer_salesperson, user, expected in expectations:
            with self.subTest(customer_of=customer_salesperson.login, user=user.login):
                self.customer.user_id = customer_salesperson
                self.env.invalidate_all()
                self.assertRecordValues(
                    self.customer_contact.with_user(user), [expected]
                )
        # In one transaction (one cache), a user who may see the amounts,
        # then one who may not: each gets its own figures.
        self.customer.user_id = other_salesperson
        self.env.invalidate_all()
        self.assertRecordValues(
            self.customer_contact.with_user(self.accountant), [with_amounts]
        )
        self.assertRecordValues(
            self.customer_contact.with_user(self.salesperson), [without_amounts]
        )
        # The invoice analysis the profile reads stays closed (with Sales
        # installed, a salesperson reads its own invoices, never this report).
        with self.assertRaises(AccessError):
            self.env["account.invoice.report"].with_user(self.salesperson).search([])

    def test_query_count_independent_of_history_size(self):
        """The summary costs as many queries for five history lines (customer)
        as for one (other customer)."""
        # every line due, however long ago: no window (Due for Reorder Within)
        self.company.consumer_preference_due_days = 0
        self._post_customer_invoice(
            self.other_customer, [(self.shirt_m, 1, 20.0)], invoice_date="2026-03-01"
        )
        self._post_customer_invoice(
            self.other_customer, [(self.shirt_m, 1, 20.0)], invoice_date="2026-04-01"
        )
        query_counts = {}
        with freeze_time("2027-01-01"):
            # The first pass fills the registry caches (access rules, language).
            for _pass in range(2):
                for partner in (self.customer, self.other_customer):
                    self.env.invalidate_all()
                    query_count_before = self.env.cr.sql_log_count
                    self.assertTrue(partner.consumer_profile_due_products)
                    query_counts[partner] = (
                        self.env.cr.sql_log_count - query_count_before
                    )
        self.assertEqual(
            (
                len(self._history(self.customer)),
                len(self._history(self.other_customer)),
            ),
            (6, 1),
        )
        self.assertEqual(query_counts[self.customer], query_counts[self.other_customer])

    def test_sales_by_year(self):
        action = self.customer_contact.with_user(
            self.accountant
        ).action_view_consumer_sales_by_year()
        self.assertEqual(action["res_model"], "account.invoice.report")
        self.assertEqual(action["display_name"], "Sales by Year: Azure Shop")
        self.assertEqual(action["context"]["group_by"], ["invoice_date:year"])
        sales = (
            self.env["account.invoice.report"]
            .with_user(self.accountant)
            ._read_group(
                action["domain"],
                groupby=["invoice_date:year"],
                aggregates=["price_subtotal:sum", "quantity:sum"],
            )
        )
        self.assertEqual(
            [(year.year, amount, quantity) for year, amount, quantity in sales],
            [(2025, 352.0, 21.0), (2026, 54.0, 12.0)],
        )

    def test_specified_and_bought_filters(self):
        Preference = self.env["consumer.preference"].with_user(self.salesperson)
        shirt_m_specification, shirt_s_specification = Preference.create(
            [
                {"partner_id": self.customer.id, "product_id": self.shirt_m.id},
                {"partner_id": self.customer.id, "product_id": self.shirt_s.id},
            ]
        )
        # Another customer's purchase does not make Shirt S "bought".
        self._post_customer_invoice(self.other_customer, [(self.shirt_s, 1, 20.0)])
        customer_domain = [("partner_id", "=", self.customer.id)]

        self.assertEqual(
            Preference.search(
                customer_domain + self._filter_domain("specified_not_bought")
            ),
            shirt_s_specification,
        )
        self.assertEqual(
            Preference.search(
                customer_domain + self._filter_domain("bought_not_specified")
            ).product_id,
            self.shirt_l | self.coffee | self.tea | self.notebook | self.seeds,
        )
        self.assertRecordValues(
            shirt_m_specification
            | shirt_s_specification
            | self._history(self.customer, self.shirt_m),
            [
                {"is_specified_and_bought": True},
                {"is_specified_and_bought": False},
                {"is_specified_and_bought": True},
            ],
        )

        # An archived specification is no longer specified.
        shirt_m_specification.action_archive()
        self.assertIn(
            self.shirt_m,
            Preference.search(
                customer_domain + self._filter_domain("bought_not_specified")
            ).product_id,
        )

    def test_specified_and_bought_searched_by_joins(self):
        """Both values of "Specified and Bought" are searched by joins, never
        by a subquery checked for each line: the lines without a counterpart
        were "id not in" the others, which PostgreSQL reads again for each
        line once they are too many to hash (more than a minute for 375,000
        lines)."""
        for value in (True, False):
            searched_by_joins(
                self,
                self.env["consumer.preference"],
                [("is_specified_and_bought", "=", value)],
            )

    def test_preferences_menu_for_managers(self):
        invoicing_administrator = new_test_user(
            self.env,
            login="cp_invoicing_administrator",
            groups="base.group_user,account.group_account_manager",
        )
        menu = self.env.ref("consumer_preferences.consumer_preference_menu")
        Menu = self.env["ir.ui.menu"]
        self.assertIn(
            menu.id, Menu.with_user(invoicing_administrator)._visible_menu_ids()
        )
        self.assertNotIn(menu.id, Menu.with_user(self.accountant)._visible_menu_ids())

    def test_preferences_app_for_own_documents_salesperson(self):
        """Item 7: a salesperson limited to own documents, without Invoicing,
        reaches customers from the Preferences app; every customer's
        preferences are for those who may see them all."""
        Menu = self.env["ir.ui.menu"]
        root = self.env.ref("consumer_preferences.consumer_preference_menu_root")
        customers = self.env.ref(
            "consumer_preferences.consumer_preference_menu_customers"
        )
        all_preferences = self.env.ref(
            "consumer_preferences.consumer_preference_menu_all"
        )
        all_documents_salesperson = self._new_company_user(
            "cp_all_documents_salesperson",
            "base.group_user,sales_team.group_sale_salesman_all_leads",
        )
        self.assertFalse(self.salesperson.has_group("account.group_account_invoice"))
        visible = Menu.with_user(self.salesperson)._visible_menu_ids()
        self.assertIn(root.id, visible)
        self.assertIn(customers.id, visible)
        self.assertNotIn(all_preferences.id, visible)
        for user in (all_documents_salesperson, self.preference_manager):
            self.assertIn(
                all_preferences.id, Menu.with_user(user)._visible_menu_ids(), user.login
            )
        # The menu's action lists customers, whose Preferences tab is there.
        action = customers.action.with_user(self.salesperson)
        self.assertEqual(action.res_model, "res.partner")
        self.assertIn(
            self.customer,
            self.env["res.partner"].with_user(self.salesperson).search([]),
        )
        arch = self.customer.with_user(self.salesperson).get_views([(False, "form")])[
            "views"
        ]["form"]["arch"]
        self.assertIn('name="consumer_preferences"', arch)
