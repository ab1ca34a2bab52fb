# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import ConsumerPreferenceCommon, explained_plans

TODAY = "2026-06-30"


@tagged("post_install", "-at_install")
class TestConsumerPreferenceAffinity(ConsumerPreferenceCommon):
    """Products bought together, counted by hand, on 2026-06-30 over the last
    12 months (since 2025-06-30).

    ========  ======================================  ======================
    customer  bought                                  counted in the period
    ========  ======================================  ======================
    C1        Beans, Cups, Filters                    B U F
    C2        Beans, Cups                             B U
    C3        Beans, Cups, Tea                        B U T
    C4        Beans, Filters                          B F
    C5        Tea                                     T
    C6        Beans in 2024, Cups                     U
    C7        Beans, Cups fully returned              B
    ========  ======================================  ======================

    7 customers; Beans 5, Cups 4, Filters 2, Tea 2. Pairs bought by two
    customers or more: Beans–Cups 3 (support 3/7, lift 3×7/(5×4) = 1.05) and
    Beans–Filters 2 (support 2/7, lift 2×7/(5×2) = 1.4).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.beans = cls._create_product(name="Espresso Beans", lst_price=12.0)
        cls.cups = cls._create_product(name="Cups", lst_price=3.0)
        cls.filters = cls._create_product(name="Filters", lst_price=2.0)
        cls.c1, cls.c2, cls.c3, cls.c4, cls.c5, cls.c6, cls.c7 = (
            cls.env["res.partner"].create({"name": f"C{index}", "is_company": True})
            for index in range(1, 8)
        )
        purchases = {
            cls.c1: [cls.beans, cls.cups, cls.filters],
            cls.c2: [cls.beans, cls.cups],
            cls.c3: [cls.beans, cls.cups, cls.tea],
            cls.c4: [cls.beans, cls.filters],
            cls.c5: [cls.tea],
            cls.c6: [cls.cups],
            cls.c7: [cls.beans, cls.cups],
        }
        for customer, products in purchases.items():
            cls._post_customer_invoice(
                customer,
                [(product, 1, 5.0) for product in products],
                invoice_date="2026-03-01",
            )
        cls._post_customer_invoice(
            cls.c6, [(cls.beans, 1, 5.0)], invoice_date="2024-01-10"
        )
        cls._post_customer_invoice(
            cls.c7,
            [(cls.cups, 1, 5.0)],
            move_type="out_refund",
            invoice_date="2026-03-05",
        )
        cls.Affinity = cls.env["consumer.preference.affinity"]

    def _recompute(self):
        with freeze_time(TODAY):
            return self.Affinity._recompute(self.company)

    def test_pairs_planned_on_what_was_bought(self):
        """The pairs are counted over the period's purchases as PostgreSQL
        knows them, whatever the statistics of the history: planned for one
        purchase, as a part of one statement when the history's statistics
        predated the period's lines, they were a loop reading every
        purchase again for each purchase, more than 9 minutes for 50,000
        customers."""
        with explained_plans("pairs AS (") as plans:
            self.assertEqual(self._recompute(), 4)
        [plan] = plans
        scans = _scans(plan["Plan"])
        purchases = [
            node
            for node in scans
            if node["Relation Name"] == "consumer_preference_affinity_bought"
        ]
        # the customers and products of the period's history lines
        bought = self.env["consumer.preference"].search(
            [
                ("company_id", "=", self.company.id),
                ("preference_type", "=", "history"),
                ("last_invoice_date", ">=", "2025-06-30"),
                ("quantity", ">", 0),
            ]
        )
        bought_count = len({(line.partner_id, line.product_id) for line in bought})
        self.assertTrue(purchases)
        self.assertEqual({node["Plan Rows"] for node in purchases}, {bought_count})

    def test_pairs_support_and_lift(self):
        self.assertEqual(self._recompute(), 4)
        affinities = self.Affinity.search([("company_id", "=", self.company.id)])
        self.assertRecordValues(
            affinities.sorted(lambda a: (a.product_id.name, a.rank)),
            [
                {
                    "product_id": self.cups.id,
                    "related_product_id": self.beans.id,
                    "rank": 1,
                    "customer_count": 3,
                    "support": 0.4286,
                    "lift": 1.05,
                },
                {
                    "product_id": self.beans.id,
                    "related_product_id": self.cups.id,
                    "rank": 1,
                    "customer_count": 3,
                    "support": 0.4286,
                    "lift": 1.05,
                },
                {
                    "product_id": self.beans.id,
                    "related_product_id": self.filters.id,
                    "rank": 2,
                    "customer_count": 2,
                    "support": 0.2857,
                    "lift": 1.4,
                },
                {
                    "product_id": self.filters.id,
                    "related_product_id": self.beans.id,
                    "rank": 1,
                    "customer_count": 2,
                    "support": 0.2857,
                    "lift": 1.4,
                },
            ],
        )
        # A longer period counts C6's beans of 2024 too.
        self.company.consumer_preference_affinity_months = 36
        self._recompute()
        beans_cups = self.Affinity.search(
            [
                ("product_id", "=", self.beans.id),
                ("related_product_id", "=", self.cups.id),
            ]
        )
        self.assertEqual(beans_cups.customer_count, 4)

    def test_period_counts_from_the_companys_day(self):
        """Two customers bought Filters and Tea on 2025-06-30. At 03:00 UTC
        on 2026-07-01 it is still 2026-06-30 in Los Angeles, where the
        company is: the last 12 months start on 2025-06-30, and the pair
        counts."""
        for name in ("C8", "C9"):
            self._post_customer_invoice(
                self.env["res.partner"].create({"name": name, "is_company": True}),
                [(self.filters, 1, 5.0), (self.tea, 1, 5.0)],
                invoice_date="2025-06-30",
            )
        self.env.user.tz = "UTC"
        self.company.partner_id.tz = "America/Los_Angeles"
        with freeze_time("2026-07-01 03:00:00"):
            self.Affinity._recompute(self.company)
        filters_tea = self.Affinity.search(
            [
                ("company_id", "=", self.company.id),
                ("product_id", "=", self.filters.id),
                ("related_product_id", "=", self.tea.id),
            ]
        )
        self.assertEqual(filters_tea.customer_count, 2)

    def test_an_invoice_reversed_in_full_is_not_bought_in_the_period(self):
        """Two customers bought Filters and Tea in 2024, and were invoiced
        them again in the period by an invoice that its reversal credited in
        full: nothing bought in the period (their last purchase is of 2024),
        no pair, though their last invoice is recent and they kept 2024's."""
        for name in ("C8", "C9"):
            customer = self.env["res.partner"].create(
                {"name": name, "is_company": True}
            )
            for invoice_date in ("2024-02-01", "2026-04-01"):
                invoice = self._post_customer_invoice(
                    customer,
                    [(self.filters, 1, 5.0), (self.tea, 1, 5.0)],
                    invoice_date=invoice_date,
                )
            refund, _corrected = self._reverse(invoice)
            refund.with_user(self.accountant).action_post()
            self.assertRecordValues(
                self._history(customer, self.filters),
                [
                    {
                        "quantity": 1.0,
                        "last_purchase_date": fields.Date.to_date("2024-02-01"),
                    }
                ],
            )
        self._recompute()
        self.assertFalse(
            self.Affinity.search(
                [
                    ("company_id", "=", self.company.id),
                    ("product_id", "=", self.filters.id),
                    ("related_product_id", "=", self.tea.id),
                ]
            )
        )

    def test_withdrawn_customer_leaves_the_pairs_at_once(self):
        """A customer who withdraws consent (or is erased, which withdraws
        it) stops counting in the products bought together as soon as the
        change commits: the scheduled action is triggered then, not left to
        the next night. Without C4, Beans–Filters is bought by one customer
        only: no longer a pair."""
        self._recompute()
        cron = self.env.ref("consumer_preferences.ir_cron_consumer_preference_affinity")
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
        self.c4.with_user(self.salesperson).consumer_preference_consent = False
        self.assertTrue(
            self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]) - triggers
        )
        with freeze_time(TODAY):
            cron.method_direct_trigger()
        pairs = self.Affinity.search([("company_id", "=", self.company.id)])
        self.assertEqual(
            {(pair.product_id, pair.related_product_id) for pair in pairs},
            {(self.beans, self.cups), (self.cups, self.beans)},
        )

    def test_period_of_more_than_a_century_refused(self):
        """A period reaching before the year 1 would make the scheduled action
        fail every night (and at every consent withdrawal): refused."""
        for months in (0, 1201, 30000):
            with (
                self.subTest(months=months),
                self.assertRaisesRegex(ValidationError, "over 1 to 1200 months"),
            ):
                self.company.consumer_preference_affinity_months = months
        self.company.consumer_preference_affinity_months = 1200
        self.assertEqual(self._recompute(), 4)

    def test_suggestions(self):
        self._recompute()
        # C2 bought beans and cups: filters, which C1 and C4 buy with beans.
        self.assertEqual(self.c2.consumer_suggested_product_ids, self.filters)
        self.assertEqual(
            self.c2.consumer_suggestion_ids.mapped("reason"),
            ["bought with Espresso Beans by 2 customers"],
        )
        # Bought once (C6's old beans) or returned (C7's cups): never
        # suggested again.
        self.assertEqual(self.c6.consumer_suggested_product_ids, self.filters)
        self.assertEqual(self.c7.consumer_suggested_product_ids, self.filters)
        self.assertFalse(self.c5.consumer_suggested_product_ids)
        # A prospect who specified beans: the most shared first.
        prospect = self.env["res.partner"].create({"name": "Prospect"})
        self.env["consumer.preference"].with_user(self.salesperson).create(
            {"partner_id": prospect.id, "product_id": self.beans.id}
        )
        suggestions = prospect.with_user(self.salesperson).consumer_suggestion_ids
        self.assertEqual(
            suggestions.related_product_id.ids, [self.cups.id, self.filters.id]
        )
        self.assertEqual(
            suggestions.mapped("reason"),
            [
                "bought with Espresso Beans by 3 customers",
                "bought with Espresso Beans by 2 customers",
            ],
        )
        # One click adds a suggestion to the specifications.
        suggestions[0].with_user(self.salesperson).with_context(
            consumer_partner_id=prospect.id
        ).action_add_to_specifications()
        self.assertEqual(
            prospect.consumer_specification_ids.product_id, self.beans | self.cups
        )
        prospect.invalidate_recordset()
        self.assertEqual(prospect.consumer_suggested_product_ids, self.filters)

    def test_archived_product_no_longer_suggested(self):
        """A product archived after the night's run is suggested no more, and
        a suggestion still on screen cannot specify it."""
        self._recompute()
        [suggestion] = self.c2.consumer_suggestion_ids
        self.filters.active = False
        self.c2.invalidate_recordset()
        self.assertFalse(self.c2.consumer_suggested_product_ids)
        # nor in the archived customers' list, which reads without active_test
        self.c2.invalidate_recordset()
        self.assertFalse(
            self.c2.with_context(active_test=False).consumer_suggested_product_ids
        )
        with self.assertRaisesRegex(UserError, "no longer sold"):
            suggestion.with_user(self.salesperson).with_context(
                consumer_partner_id=self.c2.id
            ).action_add_to_specifications()
        self.assertFalse(self.c2.consumer_specification_ids)

    def test_product_restricted_to_another_company_no_longer_suggested(self):
        """A product restricted to another company after the night's run is
        suggested no more, even to a user who has both companies selected."""
        self._recompute()
        self.assertEqual(self.c2.consumer_suggested_product_ids, self.filters)
        other_company = self.setup_other_company()["company"]
        self.filters.product_tmpl_id.company_id = other_company
        self.salesperson.company_ids |= other_company
        self.c2.invalidate_recordset()
        self.assertFalse(
            self.c2.with_user(self.salesperson)
            .with_context(allowed_company_ids=[self.company.id, other_company.id])
            .consumer_suggested_product_ids
        )

    def test_pairs_count_only_what_the_company_sells(self):
        """The night's pairs leave out a related product that the company no
        longer sells (restricted to another company, taken off sale,
        archived): it would take one of the product's places."""
        other_company = self.setup_other_company()["company"]
        self.filters.product_tmpl_id.company_id = other_company
        self.cups.sale_ok = False
        self.assertEqual(self._recompute(), 2)
        pairs = self.Affinity.search([("company_id", "=", self.company.id)])
        self.assertEqual(
            {(pair.product_id, pair.related_product_id) for pair in pairs},
            {(self.cups, self.beans), (self.filters, self.beans)},
        )
        # the lift still counts every customer who bought the product
        self.assertEqual(pairs.mapped("lift"), [1.05, 1.4])
        self.beans.active = False
        self.assertEqual(self._recompute(), 0)

    def test_salesperson_without_contact_creation_specifies(self):
        """A salesperson whose administrator took Contact Creation away may
        not edit customers, but may still add a suggestion to a customer's
        specifications (a Preferences user's right)."""
        self._recompute()
        seller = self._new_company_user(
            "cp_seller_no_contacts", "base.group_user,sales_team.group_sale_salesman"
        )
        self.assertFalse(seller.has_group("base.group_partner_manager"))
        self.c2.with_user(seller).consumer_suggestion_ids[0].with_context(
            consumer_partner_id=self.c2.id
        ).action_add_to_specifications()
        self.assertEqual(
            self.c2.consumer_specification_ids.mapped("product_id"), self.filters
        )

    def test_add_without_a_customer_id_is_refused(self):
        """Called by a script without the customer's id in the context, or
        with something else than an id: a clear error, nothing added."""
        self._recompute()
        suggestion = self.c2.consumer_suggestion_ids[0].with_user(self.salesperson)
        for partner_id in (None, "abc", [self.c2.id], True, 0):
            with (
                self.subTest(partner_id=partner_id),
                self.assertRaisesRegex(UserError, "Open a customer"),
            ):
                suggestion.with_context(
                    consumer_partner_id=partner_id
                ).action_add_to_specifications()
        self.assertFalse(self.c2.consumer_specification_ids)

    def test_add_and_bill(self):
        self._recompute()
        self.company.consumer_preference_billing = True
        self.salesperson.groups_id |= self.env.ref("account.group_account_invoice")
        action = (
            self.c2.consumer_suggestion_ids.with_user(self.salesperson)
            .with_context(consumer_partner_id=self.c2.id)
            .action_add_and_bill()
        )
        self.assertEqual(action["res_model"], "consumer.preference.bill")
        wizard = (
            self.env["consumer.preference.bill"]
            .with_user(self.salesperson)
            .with_context(**action["context"])
            .create({})
        )
        self.assertIn(self.filters, wizard.line_ids.product_id)

    def test_add_and_bill_needs_the_right_to_bill(self):
        """A user of the Preferences who may not bill (no invoicing rights,
        and no Sales addon making salespeople bill) sees no Specify and Bill,
        and calling it adds nothing before saying so."""
        self._recompute()
        self.company.consumer_preference_billing = True
        reader = self._new_company_user(
            "preferences_only",
            "base.group_user,base.group_partner_manager,"
            "consumer_preferences.group_consumer_preference_user",
        )
        self.assertFalse(
            self.env["consumer.preference.bill"].with_user(reader).has_access("create")
        )
        self.assertFalse(self.c2.with_user(reader).consumer_preference_can_bill)
        self.assertTrue(self.c2.with_user(self.env.user).consumer_preference_can_bill)
        specifications = self.c2.consumer_specification_ids
        with self.assertRaises(AccessError):
            self.c2.consumer_suggestion_ids.with_user(reader).with_context(
                consumer_partner_id=self.c2.id
            ).action_add_and_bill()
        self.c2.invalidate_recordset()
        self.assertEqual(self.c2.consumer_specification_ids, specifications)
        # The button follows the right.
        arch = self.env.ref(
            "consumer_preferences.res_partner_view_form_consumer_preference"
        ).arch
        self.assertIn("not parent.consumer_preference_can_bill", arch)

    def test_add_and_bill_while_billing_is_off_adds_nothing(self):
        """Billing from preferences switched off after the form was opened:
        Specify and Bill says so before adding the specification."""
        self._recompute()
        self.company.consumer_preference_billing = False
        self.salesperson.groups_id |= self.env.ref("account.group_account_invoice")
        specifications = self.c2.consumer_specification_ids
        with self.assertRaisesRegex(UserError, "Billing from preferences is disabled"):
            self.c2.consumer_suggestion_ids.with_user(self.salesperson).with_context(
                consumer_partner_id=self.c2.id
            ).action_add_and_bill()
        self.c2.invalidate_recordset()
        self.assertEqual(self.c2.consumer_specification_ids, specifications)

    def test_rights_and_companies(self):
        self._recompute()
        with self.assertRaises(AccessError):
            self.Affinity.with_user(self.salesperson)._recompute(self.company)
        other_company = self.setup_other_company()["company"]
        with freeze_time(TODAY):
            self.assertEqual(self.Affinity._recompute(other_company), 0)
        self.assertFalse(self.c2.with_company(other_company).consumer_suggestion_ids)
        self.assertEqual(self.Affinity.with_user(self.salesperson).search_count([]), 4)


def _scans(node):
    """The table scans of a plan's ``node``, below it included."""
    if "Relation Name" in node:
        yield node
    for child in node.get("Plans", []):
        yield from _scans(child)
