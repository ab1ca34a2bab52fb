# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from datetime import date

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from .common import (
    ConsumerPreferenceCommon,
    loops_over_computed_sets,
    searched_by_joins,
)

TODAY = "2026-06-30"


@tagged("post_install", "-at_install")
class TestConsumerPreferenceSegment(ConsumerPreferenceCommon):
    """Rhythm and value of five customers, scored on 2026-06-30.

    ===========  =====================================  ========  =====
    customer     invoices (untaxed each)                net       R F M
    ===========  =====================================  ========  =====
    Regular      5th of each month, Jan–Jun 2026 (100)    600.00  4 5 4
    Lapsed       10th of each month, Jan–Apr 2025 (200)   800.00  2 4 5
    Occasional   2025-10-01, 2026-03-01 (150)             300.00  3 3 3
    New          2026-06-20 (50)                           50.00  5 2 2
    One-off      2025-03-01 (30)                           30.00  1 2 1
    ===========  =====================================  ========  =====

    Scores are the quintile of twice the mid-rank: 1 + 5 × (customers below
    + customers at or below) ÷ (2 × 5). New and One-off tie on one invoice:
    (0 + 2) → F 2. Prospect has a specification and no invoice.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.regular, cls.lapsed, cls.occasional, cls.new, cls.one_off = (
            Partner.create({"name": name, "is_company": True})
            for name in ("Regular", "Lapsed", "Occasional", "New", "One-off")
        )
        cls.prospect = Partner.create({"name": "Prospect", "is_company": True})
        invoices = [
            (cls.regular, f"2026-{month:02d}-05", 100.0) for month in range(1, 7)
        ]
        invoices += [
            (cls.lapsed, f"2025-{month:02d}-10", 200.0) for month in range(1, 5)
        ]
        invoices += [
            (cls.occasional, "2025-10-01", 150.0),
            (cls.occasional, "2026-03-01", 150.0),
            (cls.new, "2026-06-20", 50.0),
            (cls.one_off, "2025-03-01", 30.0),
        ]
        for partner, invoice_date, price in invoices:
            cls._post_customer_invoice(
                partner, [(cls.coffee, 1, price)], invoice_date=invoice_date
            )
        cls.env["consumer.preference"].with_user(cls.salesperson).create(
            {"partner_id": cls.prospect.id, "product_id": cls.tea.id}
        )
        cls.Segment = cls.env["consumer.preference.segment"]

    def _recompute(self):
        with freeze_time(TODAY):
            return self.Segment._recompute(self.company)

    def _segment(self, partner, company=None):
        return self.Segment.search(
            [
                ("partner_id", "=", partner.id),
                ("company_id", "=", (company or self.company).id),
            ]
        )

    def test_scores_segments_intervals(self):
        self.assertEqual(self._recompute(), 6)
        expected = [
            # R, F, M, segment, interval, next expected, churn risk
            (self.regular, 4, 5, 4, "loyal", 30.2, date(2026, 7, 5), False),
            (self.lapsed, 2, 4, 5, "previously_loyal", 30.0, date(2025, 5, 10), True),
            (
                self.occasional,
                3,
                3,
                3,
                "needs_attention",
                151.0,
                date(2026, 7, 30),
                False,
            ),
            (self.new, 5, 2, 2, "new", 0.0, False, False),
            (self.one_off, 1, 2, 1, "dormant", 0.0, False, False),
            (self.prospect, 0, 0, 0, "prospects", 0.0, False, False),
        ]
        for (
            partner,
            recency,
            frequency,
            monetary,
            segment,
            interval,
            next_date,
            churn,
        ) in expected:
            self.assertRecordValues(
                partner,
                [
                    {
                        "consumer_recency_score": recency,
                        "consumer_frequency_score": frequency,
                        "consumer_monetary_score": monetary,
                        "consumer_rfm_segment": segment,
                        "consumer_average_interval_days": interval,
                        "consumer_next_expected_date": next_date,
                        "consumer_churn_risk": churn,
                    }
                ],
            )
        self.assertRecordValues(
            self._segment(self.regular),
            [
                {
                    "invoice_count": 6,
                    "amount": 600.0,
                    "first_invoice_date": date(2026, 1, 5),
                    "last_invoice_date": date(2026, 6, 5),
                }
            ],
        )
        # A contact shows its company's figures.
        regular_contact = self.env["res.partner"].create(
            {"name": "Jo Regular", "parent_id": self.regular.id}
        )
        self.assertEqual(regular_contact.consumer_rfm_segment, "loyal")
        # Customers never invoiced nor specified have no segment.
        self.assertFalse(self.other_customer.consumer_rfm_segment)
        self.assertFalse(self._segment(self.other_customer))

    def test_churn_risk_counts_the_companys_days(self):
        """Regular last bought on 2026-06-05, every 30.2 days: at risk after
        60.4 days, from 2026-08-05. At 03:00 UTC that day it is still the
        evening of 2026-08-04 in Los Angeles, where the company is."""
        self.env.user.tz = "UTC"
        self.company.partner_id.tz = "America/Los_Angeles"
        with freeze_time("2026-08-05 03:00:00"):
            self.Segment._recompute(self.company)
        self.assertFalse(self.regular.consumer_churn_risk)
        with freeze_time("2026-08-05 08:00:00"):
            self.Segment._recompute(self.company)
        self.regular.invalidate_recordset()
        self.assertTrue(self.regular.consumer_churn_risk)

    def test_search_and_group_customers(self):
        self._recompute()
        Partner = self.env["res.partner"]
        scored = self.regular | self.lapsed | self.occasional | self.new
        scored |= self.one_off | self.prospect
        self.assertEqual(
            Partner.search([("consumer_churn_risk", "=", True)]), self.lapsed
        )
        self.assertEqual(
            Partner.search(
                [
                    ("consumer_rfm_segment", "in", ["loyal", "new"]),
                    ("id", "in", scored.ids),
                ]
            ),
            self.regular | self.new,
        )
        self.assertEqual(
            Partner.search([("consumer_recency_score", ">=", 4)]),
            self.regular | self.new,
        )
        # Partners without a segment count as having none.
        without_segment = Partner.search(
            [
                ("consumer_rfm_segment", "=", False),
                ("id", "in", (scored | self.customer).ids),
            ]
        )
        self.assertEqual(without_segment, self.customer)
        not_loyal = Partner.search(
            [
                ("consumer_rfm_segment", "!=", "loyal"),
                ("id", "in", (scored | self.customer).ids),
            ]
        )
        self.assertEqual(not_loyal, scored - self.regular | self.customer)
        self.assertEqual(
            Partner.search(
                [("consumer_next_expected_date", "<", TODAY), ("id", "in", scored.ids)]
            ),
            self.lapsed,
        )
        # Grouped and sorted by segment, as the customer list does.
        groups = Partner._read_group(
            [("id", "in", scored.ids)], ["consumer_rfm_segment"], ["__count"]
        )
        self.assertEqual(
            dict(groups),
            {
                "loyal": 1,
                "previously_loyal": 1,
                "needs_attention": 1,
                "new": 1,
                "dormant": 1,
                "prospects": 1,
            },
        )
        self.assertEqual(
            Partner.search(
                [("id", "in", (scored - self.prospect).ids)],
                order="consumer_recency_score desc",
            ).ids,
            (
                self.new | self.regular | self.occasional | self.lapsed | self.one_off
            ).ids,
        )
        fields_description = Partner.fields_get(
            ["consumer_rfm_segment", "consumer_churn_risk"], ["groupable", "searchable"]
        )
        for description in fields_description.values():
            self.assertEqual(description, {"groupable": True, "searchable": True})

    def test_search_scores_compares_empty_as_zero(self):
        """A customer without a segment shows empty scores and interval, 0,
        as the prospect's and the new customer's: a comparison 0 satisfies
        (a custom filter "Recency Score < 3") finds all of them, as Odoo
        does for a number left empty."""
        self._recompute()
        Partner = self.env["res.partner"].with_user(self.salesperson)
        listed = self.regular | self.lapsed | self.new | self.prospect
        listed |= self.customer | self.customer_contact
        in_list = [("id", "in", listed.ids)]
        without_segment = self.customer | self.customer_contact
        self.assertEqual(
            listed.with_user(self.salesperson).mapped("consumer_recency_score"),
            [4, 2, 5, 0, 0, 0],
        )
        self.assertEqual(
            Partner.search(in_list + [("consumer_recency_score", "<", 3)]),
            self.lapsed | self.prospect | without_segment,
        )
        self.assertEqual(
            Partner.search(in_list + [("consumer_recency_score", ">=", 0)]), listed
        )
        self.assertEqual(
            Partner.search(in_list + [("consumer_recency_score", ">=", 3)]),
            self.regular | self.new,
        )
        self.assertEqual(
            Partner.search(in_list + [("consumer_average_interval_days", "<=", 0)]),
            self.new | self.prospect | without_segment,
        )
        self.assertEqual(
            Partner.search_count(
                in_list + [("consumer_average_interval_days", "<", 31)]
            ),
            6,
        )

    def test_search_scores_with_a_number_as_text(self):
        """A client sending the number as text, or nothing, is answered as
        Odoo answers it for its own numbers (a TypeError before); a text
        that is no number is refused with a message."""
        self._recompute()
        Partner = self.env["res.partner"].with_user(self.salesperson)
        listed = self.regular | self.lapsed | self.new | self.prospect
        in_list = [("id", "in", listed.ids)]
        self.assertEqual(
            Partner.search(in_list + [("consumer_recency_score", ">=", "3")]),
            self.regular | self.new,
        )
        self.assertEqual(
            Partner.search(in_list + [("consumer_recency_score", "<", "3")]),
            self.lapsed | self.prospect,
        )
        Partner.search(in_list + [("consumer_recency_score", ">", None)])
        for text in ("high", "nan", "inf"):
            with self.assertRaisesRegex(UserError, "with a number"):
                Partner.search(in_list + [("consumer_monetary_score", ">=", text)])
        # a score is a whole number; an interval need not be
        for text in ("3.5", "1e-3"):
            with self.assertRaisesRegex(UserError, "with a whole number"):
                Partner.search(in_list + [("consumer_recency_score", ">=", text)])
        self.assertEqual(
            Partner.search(in_list + [("consumer_recency_score", ">=", "3.0")]),
            self.regular | self.new,
        )
        self.assertEqual(
            Partner.search(in_list + [("consumer_average_interval_days", "<=", "0.5")]),
            self.new | self.prospect,
        )

    def test_one_purchase_in_several_invoices_has_no_rhythm(self):
        """Two invoices on one day two years ago, or an invoice reversed and
        invoiced again, are one purchase: like the one-off customer, no
        interval, no next expected date, no churn risk (two invoices gave an
        interval of 0 days, hence a churn risk from the next day on). A
        later purchase gives the interval from the purchases' days."""
        same_day, corrected = (
            self.env["res.partner"].create({"name": name, "is_company": True})
            for name in ("Same Day Twice", "Corrected Once")
        )
        for _invoice in range(2):
            self._post_customer_invoice(
                same_day, [(self.coffee, 1, 8.0)], invoice_date="2024-06-01"
            )
        wrong = self._post_customer_invoice(
            corrected, [(self.coffee, 1, 9.0)], invoice_date="2026-06-01"
        )
        _refund, again = self._reverse(
            wrong, modify=True, reversal_date=date(2026, 6, 3)
        )
        again.write({"invoice_date": date(2026, 6, 3)})
        again.with_user(self.accountant).action_post()
        self._recompute()
        no_rhythm = {
            "consumer_average_interval_days": 0.0,
            "consumer_next_expected_date": False,
            "consumer_churn_risk": False,
        }
        self.assertRecordValues(same_day | corrected, [no_rhythm, no_rhythm])
        self.assertEqual(self._segment(corrected).invoice_count, 2)

        self._post_customer_invoice(
            corrected, [(self.coffee, 1, 8.0)], invoice_date="2026-06-23"
        )
        self._recompute()
        self.assertRecordValues(
            corrected,
            [
                {
                    "consumer_average_interval_days": 20.0,
                    "consumer_next_expected_date": date(2026, 7, 13),
                    "consumer_churn_risk": False,
                }
            ],
        )

    def test_recency_frequency_and_new_follow_purchases(self):
        """A customer whose one purchase was invoiced, reversed and invoiced
        again (two invoices) is New, with one purchase's frequency; one whose
        last invoice was credited in full by its reversal last bought at the
        purchase before: recency from that day, not the credited invoice's."""
        corrected, returned = (
            self.env["res.partner"].create({"name": name, "is_company": True})
            for name in ("Corrected Once", "Returned Lately")
        )
        wrong = self._post_customer_invoice(
            corrected, [(self.coffee, 1, 50.0)], invoice_date="2026-06-01"
        )
        _refund, again = self._reverse(
            wrong, modify=True, reversal_date=date(2026, 6, 3)
        )
        again.write({"invoice_date": date(2026, 6, 3)})
        again.with_user(self.accountant).action_post()
        self._post_customer_invoice(
            returned, [(self.coffee, 1, 40.0)], invoice_date="2025-01-15"
        )
        returned_invoice = self._post_customer_invoice(
            returned, [(self.coffee, 1, 40.0)], invoice_date="2026-06-25"
        )
        refund, _corrected = self._reverse(returned_invoice)
        refund.with_user(self.accountant).action_post()
        self._recompute()
        self.assertRecordValues(
            self._segment(corrected) | self._segment(returned),
            [
                {
                    "invoice_count": 2,
                    "purchase_count": 1,
                    "last_invoice_date": date(2026, 6, 3),
                    "last_purchase_date": date(2026, 6, 3),
                    "recency_score": 4,
                    "rfm_segment": "new",
                },
                {
                    "invoice_count": 2,
                    "purchase_count": 1,
                    "last_invoice_date": date(2026, 6, 25),
                    "last_purchase_date": date(2025, 1, 15),
                    # before One-off's 2025-03-01: the least recent
                    "recency_score": 1,
                    "rfm_segment": "dormant",
                },
            ],
        )
        self.assertEqual(
            corrected.consumer_frequency_score, self.new.consumer_frequency_score
        )
        # Refreshing one customer ranks it among the others' stored
        # purchases: the same scores.
        with freeze_time(TODAY):
            self.Segment._recompute(self.company, corrected | returned)
        self.assertRecordValues(
            self._segment(corrected) | self._segment(returned),
            [
                {"recency_score": 4, "rfm_segment": "new", "purchase_count": 1},
                {"recency_score": 1, "rfm_segment": "dormant", "purchase_count": 1},
            ],
        )

    def test_a_reversal_at_another_rate_still_credits_in_full(self):
        """An invoice in a foreign currency, reversed at a later rate and
        invoiced again: credited in full in its own currency (in the
        company's, the reversal is worth less than the invoice), one
        purchase."""
        euro = self.setup_other_currency(
            "EUR", rates=[("2026-01-01", 1.5), ("2026-06-02", 2.0)]
        )
        customer = self.env["res.partner"].create(
            {"name": "Paid in Euros", "is_company": True}
        )
        wrong = self._post_customer_invoice(
            customer,
            [(self.coffee, 1, 90.0)],
            currency_id=euro.id,
            invoice_date="2026-06-01",
        )
        refund, again = self._reverse(
            wrong, modify=True, reversal_date=date(2026, 6, 3)
        )
        self.assertLess(
            -refund.amount_untaxed_signed,
            wrong.amount_untaxed_signed,
            "in company currency, the reversal credits less than the invoice",
        )
        again.write({"invoice_date": date(2026, 6, 3)})
        again.with_user(self.accountant).action_post()
        self._recompute()
        self.assertRecordValues(
            customer,
            [
                {
                    "consumer_average_interval_days": 0.0,
                    "consumer_next_expected_date": False,
                    "consumer_churn_risk": False,
                }
            ],
        )

    def test_a_cancelled_return_is_no_purchase_a_cancelled_reversal_gives_it_back(
        self,
    ):
        """Reversing a return (the return cancelled) gives an invoice that
        is no purchase; reversing the credit note that reversed an invoice
        makes that invoice a purchase again."""
        customer = self.env["res.partner"].create(
            {"name": "Changed Its Mind", "is_company": True}
        )
        self._post_customer_invoice(
            customer, [(self.coffee, 1, 80.0)], invoice_date="2026-05-01"
        )
        refund = self._post_customer_invoice(
            customer,
            [(self.coffee, 1, 80.0)],
            move_type="out_refund",
            invoice_date="2026-05-10",
        )
        cancelling, _corrected = self._reverse(refund, reversal_date=date(2026, 5, 12))
        cancelling.with_user(self.accountant).action_post()
        self._recompute()
        self.assertFalse(customer.consumer_next_expected_date)

        second = self._post_customer_invoice(
            customer, [(self.coffee, 1, 80.0)], invoice_date="2026-06-01"
        )
        reversal, _corrected = self._reverse(second)
        reversal.with_user(self.accountant).action_post()
        self._recompute()
        self.assertFalse(customer.consumer_next_expected_date, "one purchase")
        reversal_cancelled, _corrected = self._reverse(
            reversal, reversal_date=date(2026, 6, 5)
        )
        reversal_cancelled.with_user(self.accountant).action_post()
        self._recompute()
        self.assertRecordValues(
            customer,
            [
                {
                    "consumer_average_interval_days": 31.0,
                    "consumer_next_expected_date": date(2026, 7, 2),
                }
            ],
        )

    def _customer_buying_coffee_twice(self, name):
        """A new customer who bought a coffee on 1 May and on 1 June 2026;
        returns the customer and the invoice of June."""
        customer = self.env["res.partner"].create({"name": name, "is_company": True})
        self._post_customer_invoice(
            customer, [(self.coffee, 1, 80.0)], invoice_date="2026-05-01"
        )
        return customer, self._post_customer_invoice(
            customer, [(self.coffee, 1, 80.0)], invoice_date="2026-06-01"
        )

    def test_a_cancelled_reversal_reversed_again_takes_the_purchase_back(self):
        """The invoice cancelling a credit note, reversed in its turn (the
        return stands after all): the invoice the credit note reversed is no
        purchase, as its history lines say."""
        customer, second = self._customer_buying_coffee_twice("Changed Its Mind Twice")
        move = second
        for reversal_date in (date(2026, 6, 3), date(2026, 6, 5), date(2026, 6, 7)):
            move = self._reverse(move, reversal_date=reversal_date)[0]
            move.with_user(self.accountant).action_post()
        self.assertEqual(move.move_type, "out_refund")
        self._recompute()
        self.assertRecordValues(
            customer,
            [
                {
                    "consumer_average_interval_days": 0.0,
                    "consumer_next_expected_date": False,
                }
            ],
        )
        self.assertEqual(
            self._history(customer, self.coffee).purchase_count,
            1,
            "the history agrees",
        )
        move.with_user(self.accountant).button_draft()
        self._recompute()
        self.assertEqual(customer.consumer_next_expected_date, date(2026, 7, 2))

    def test_one_customers_refresh_follows_a_chain_begun_for_another(self):
        """A credit note reversing the customer's invoice was made out to
        another customer (written by hand before posting), and the
        customer's own documents reverse it in turn: the refresh of that one
        customer walks the chain as the whole company's does (it began at
        credit notes of the customer only, and so missed the chain)."""
        customer, invoice = self._customer_buying_coffee_twice("Chain Begun Elsewhere")
        other = self.env["res.partner"].create(
            {"name": "Credited By Mistake", "is_company": True}
        )
        mistaken = self._reverse(invoice, reversal_date=date(2026, 6, 3))[0]
        mistaken.partner_id = other
        mistaken.with_user(self.accountant).action_post()
        cancelling = self._reverse(mistaken, reversal_date=date(2026, 6, 5))[0]
        cancelling.partner_id = customer
        cancelling.with_user(self.accountant).action_post()
        # the customer's own return, of both coffees: the invoice of June
        # is no purchase
        returned = self._reverse(cancelling, reversal_date=date(2026, 6, 7))[0]
        returned.invoice_line_ids.quantity = 2
        returned.with_user(self.accountant).action_post()
        self.assertEqual(
            self._history(customer, self.coffee).purchase_count, 1, "the history"
        )
        for partners in (None, customer):
            with (
                self.subTest(refreshed="company" if partners is None else "one"),
                freeze_time(TODAY),
            ):
                self.Segment._recompute(self.company, partners)
                customer.invalidate_recordset()
                self.assertRecordValues(
                    customer,
                    [
                        {
                            "consumer_average_interval_days": 0.0,
                            "consumer_next_expected_date": False,
                        }
                    ],
                )

    def test_segment_searches_by_joins(self):
        """Customers outside a segment (or a score) are searched by joins:
        they were partners "not in" the segment's, which PostgreSQL checks by
        reading the list again for each partner once too long to hash."""
        self._recompute()
        Partner = self.env["res.partner"]
        for domain in (
            [("consumer_rfm_segment", "!=", "loyal")],
            [("consumer_rfm_segment", "=", "loyal")],
            [("consumer_recency_score", "=", 0)],
        ):
            searched_by_joins(self, Partner, domain)

    def test_statement_never_loops_over_a_computed_set(self):
        """The nightly statement compares its sets of customers by hashing or
        sorting, never by a nested loop reading a set it computed for each
        row of another: planned for one specification (its estimate when the
        table's statistics predate them), such a loop scanned every customer
        for each of 30,000 specifications, 100 s instead of 1.5 s
        (benchmarks/bench_segments.py). Checked in the plans of the whole
        company's run and of one customer's, whatever the statistics."""
        self._recompute()
        for partners in (None, self.regular | self.prospect):
            query = self.Segment._recompute_sql(self.company, partners)
            self.env.cr.execute(
                SQL("EXPLAIN (FORMAT JSON) %s", query), log_exceptions=False
            )
            loops = list(loops_over_computed_sets(self.env.cr.fetchone()[0][0]))
            self.assertEqual(loops, [], f"partners {partners}")

    def test_queue_erases_the_row_of_a_customer_who_withdrew(self):
        """A refresh committed just after a customer withdrew consent (the
        withdrawal could not see its row) leaves a segment: the queue's next
        run erases it (it stayed until the night's run)."""
        self._recompute()
        self.assertTrue(self._segment(self.regular))
        # the withdrawal as it commits beside the refresh: below the ORM
        self.env.cr.execute(
            "UPDATE res_partner SET consumer_preference_consent = FALSE WHERE id = %s",
            [self.regular.id],
        )
        self.env.invalidate_all()
        self.assertTrue(self._segment(self.regular))
        self.Segment._process_queue()
        self.assertFalse(self._segment(self.regular))
        self.assertTrue(self._segment(self.lapsed))

    def test_posting_queues_and_refreshes_one_customer(self):
        self._recompute()
        # The lapsed customer comes back: posting only queues it.
        self._post_customer_invoice(
            self.lapsed, [(self.coffee, 1, 200.0)], invoice_date="2026-06-28"
        )
        Queue = self.env["consumer.preference.segment.queue"]
        queue = Queue.search([("partner_id", "=", self.lapsed.id)])
        self.assertRecordValues(queue, [{"company_id": self.company.id}])
        self.assertEqual(self.lapsed.consumer_rfm_segment, "previously_loyal")
        # The scheduled action (superuser: every company's rows) refreshes
        # every customer queued, once.
        queued = {(row.company_id, row.partner_id) for row in Queue.sudo().search([])}
        with freeze_time(TODAY):
            self.assertEqual(self.Segment._process_queue(), len(queued))
        self.assertFalse(Queue.sudo().search([]))
        # 534 days over 4 intervals; ranked against the others' figures.
        self.lapsed.invalidate_recordset()
        self.assertRecordValues(
            self.lapsed,
            [
                {
                    "consumer_recency_score": 5,
                    "consumer_frequency_score": 4,
                    "consumer_monetary_score": 5,
                    "consumer_rfm_segment": "champions",
                    "consumer_average_interval_days": 133.5,
                    "consumer_next_expected_date": date(2026, 11, 9),
                    "consumer_churn_risk": False,
                }
            ],
        )
        # The others keep the scores of the last full run.
        self.assertEqual(self.regular.consumer_rfm_segment, "loyal")

    def test_reset_to_draft_and_consent(self):
        self._recompute()
        invoice = self.env["account.move"].search(
            [("partner_id", "=", self.new.id), ("state", "=", "posted")]
        )
        invoice.with_user(self.accountant).button_draft()
        with freeze_time(TODAY):
            self.Segment._process_queue()
        self.assertFalse(self._segment(self.new))
        self.assertFalse(self.new.consumer_rfm_segment)
        # A customer who withdraws consent is not profiled.
        self.occasional.with_user(
            self.salesperson
        ).action_consumer_preference_erase_history()
        self.assertFalse(self._segment(self.occasional))
        self._recompute()
        self.assertFalse(self._segment(self.occasional))

    def test_withdrawn_consent_removes_segment(self):
        """Unchecking the consent box is enough: the customer is no longer
        profiled, without waiting for the nightly run or an erasure."""
        self._recompute()
        self.assertEqual(self.occasional.consumer_rfm_segment, "needs_attention")
        self.occasional.with_user(self.salesperson).consumer_preference_consent = False
        occasional = self.occasional.with_user(self.salesperson)
        self.assertFalse(occasional.consumer_rfm_segment)
        self.assertFalse(occasional.consumer_next_expected_date)
        self.assertNotIn(
            self.occasional,
            occasional.search([("consumer_rfm_segment", "=", "needs_attention")]),
        )
        self.assertFalse(self._segment(self.occasional))

    def _segment_in_other_company(self, partner):
        """A second company, where ``partner`` bought coffee once (70.00, on
        2026-06-01), its segments computed there; returns the company."""
        other_company = self.setup_other_company()["company"]
        self.env.user.company_ids |= other_company
        # posted by the test's superuser: the accountant works in one company
        self._create_customer_invoice(
            partner,
            [(self.coffee, 1, 70.0)],
            invoice_date="2026-06-01",
            company_id=other_company.id,
        ).action_post()
        with freeze_time(TODAY):
            self.Segment._recompute(other_company)
        return other_company

    def test_consent_given_back_brings_segment_back(self):
        """Checking the consent box again queues the customer's segments, in
        every company where it has posted invoices, as a posting does: they
        come back with the queue's next run, not at the nightly run."""
        other_company = self._segment_in_other_company(self.occasional)
        self._recompute()
        occasional = self.occasional.with_user(self.salesperson)
        occasional.consumer_preference_consent = False
        self.assertFalse(self._segment(self.occasional))
        self.assertFalse(self._segment(self.occasional, other_company))
        occasional.consumer_preference_consent = True
        self.assertEqual(
            self.env["consumer.preference.segment.queue"]
            .sudo()
            .search([("partner_id", "=", self.occasional.id)])
            .company_id,
            self.company | other_company,
        )
        with freeze_time(TODAY):
            self.env.ref(
                "consumer_preferences.ir_cron_consumer_preference_segment_queue"
            ).method_direct_trigger()
        self.assertRecordValues(
            self._segment(self.occasional)
            | self._segment(self.occasional, other_company),
            [
                {"company_id": self.company.id, "rfm_segment": "needs_attention"},
                {"company_id": other_company.id, "rfm_segment": "needs_attention"},
            ],
        )
        self.assertEqual(occasional.consumer_rfm_segment, "needs_attention")

    def test_rights(self):
        self._recompute()
        employee = new_test_user(
            self.env, login="cp_employee", groups="base.group_user"
        )
        with self.assertRaises(AccessError):
            self.regular.with_user(employee).read(["consumer_rfm_segment"])
        self.assertEqual(
            self.regular.with_user(self.salesperson).consumer_rfm_segment, "loyal"
        )
        self.assertEqual(
            self.regular.with_user(self.accountant).consumer_churn_risk, False
        )
        with self.assertRaises(AccessError):
            self.Segment.with_user(self.salesperson)._recompute(self.company)
        with freeze_time(TODAY):
            self.Segment.with_user(self.preference_manager)._recompute(self.company)

    def test_multi_company(self):
        self._recompute()
        other_company = self._segment_in_other_company(self.regular)
        # One customer alone is the middle of its company: R, F, M = 3.
        self.assertRecordValues(
            self._segment(self.regular, other_company),
            [{"invoice_count": 1, "amount": 70.0, "rfm_segment": "needs_attention"}],
        )
        self.assertEqual(self.regular.consumer_rfm_segment, "loyal")
        self.assertEqual(
            self.regular.with_company(other_company).consumer_rfm_segment,
            "needs_attention",
        )
        self.assertEqual(
            self.env["res.partner"]
            .with_company(other_company)
            .search([("consumer_rfm_segment", "=", "needs_attention")]),
            self.regular,
        )
        # The salesperson works in the first company only.
        self.assertFalse(
            self.Segment.with_user(self.salesperson).search(
                [("company_id", "=", other_company.id)]
            )
        )
        self.assertEqual(
            self.Segment.with_user(self.salesperson).search_count(
                [("partner_id", "=", self.regular.id)]
            ),
            1,
        )

    def test_nightly_scheduled_action(self):
        cron = self.env.ref("consumer_preferences.ir_cron_consumer_preference_segment")
        self.assertEqual(cron.interval_type, "days")
        with freeze_time(TODAY):
            cron.method_direct_trigger()
        self.assertEqual(self.regular.consumer_rfm_segment, "loyal")
        self.assertEqual(
            self.Segment.search_count([("company_id", "=", self.company.id)]), 6
        )
