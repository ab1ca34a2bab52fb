# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from contextlib import closing
from datetime import date, datetime
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.sql_db import db_connect
from odoo.tests import Form, tagged
from odoo.tools import SQL, mute_logger

from odoo.addons.account.models.account_move import AccountMove

from ..hooks import post_init_hook
from ..models import consumer_preference_history as history_module
from ..models.consumer_preference_history import QUEUE_CRON_XMLID
from .common import ConsumerPreferenceCommon, explained_plans, rows_read

HISTORY_FIELDS = [
    "company_id",
    "partner_id",
    "product_id",
    "attribute_value_ids",
    "invoice_count",
    "refund_count",
    "quantity",
    "amount",
    "first_invoice_date",
    "last_invoice_date",
    "last_price_unit",
    "average_quantity",
    "next_expected_date",
]


@tagged("post_install", "-at_install")
class TestConsumerPreferenceHistory(ConsumerPreferenceCommon):
    def test_twenty_invoices_one_line(self):
        for day in range(1, 21):
            self._post_customer_invoice(
                self.customer,
                [(self.shirt_m, 2, 20.0)],
                invoice_date=f"2026-03-{day:02d}",
            )
        self.assertRecordValues(
            self._history(self.customer),
            [
                {
                    "product_id": self.shirt_m.id,
                    "attribute_value_ids": self.size_m.ids,
                    "invoice_count": 20,
                    "refund_count": 0,
                    "quantity": 40.0,
                    "amount": 800.0,
                    "first_invoice_date": fields.Date.to_date("2026-03-01"),
                    "last_invoice_date": fields.Date.to_date("2026-03-20"),
                    "average_quantity": 2.0,
                    "next_expected_date": fields.Date.to_date("2026-03-21"),
                }
            ],
        )

    def test_draft_counts_for_nothing(self):
        self._create_customer_invoice(self.customer, [(self.coffee, 3, 8.0)])
        self.assertFalse(self._history(self.customer))

    def test_statistics(self):
        """Amounts are untaxed, the last price is the latest invoice's, the next
        date adds the average interval to the last one."""
        self._post_customer_invoice(
            self.customer, [(self.coffee, 1, 8.0)], invoice_date="2026-01-01"
        )
        self._post_customer_invoice(
            self.customer,
            [(self.coffee, 4, 9.0), (self.coffee, 1, 9.0)],
            invoice_date="2026-01-31",
        )
        self._post_customer_invoice(
            self.customer, [(self.coffee, 3, 7.5)], invoice_date="2026-01-11"
        )
        self.assertRecordValues(
            self._history(self.customer),
            [
                {
                    "invoice_count": 3,
                    "quantity": 9.0,
                    "amount": 8.0 + 45.0 + 22.5,
                    "first_invoice_date": fields.Date.to_date("2026-01-01"),
                    "last_invoice_date": fields.Date.to_date("2026-01-31"),
                    "last_price_unit": 9.0,
                    "average_quantity": 3.0,
                    "next_expected_date": fields.Date.to_date("2026-02-15"),
                }
            ],
        )

    def test_single_invoice_has_no_expected_date(self):
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])
        self.assertFalse(self._history(self.customer).next_expected_date)

    def test_reset_to_draft_and_cancel(self):
        first = self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0)], invoice_date="2026-02-01"
        )
        second = self._post_customer_invoice(
            self.customer, [(self.coffee, 5, 8.0)], invoice_date="2026-02-10"
        )
        history = self._history(self.customer)
        self.assertRecordValues(history, [{"invoice_count": 2, "quantity": 7.0}])

        second.with_user(self.accountant).button_draft()
        self.assertRecordValues(
            history,
            [
                {
                    "invoice_count": 1,
                    "quantity": 2.0,
                    "last_invoice_date": fields.Date.to_date("2026-02-01"),
                }
            ],
        )
        first.with_user(self.accountant).button_draft()
        first.with_user(self.accountant).button_cancel()
        self.assertFalse(history.exists(), "no posted invoice supports the line")
        second.with_user(self.accountant).action_post()
        self.assertRecordValues(
            self._history(self.customer), [{"invoice_count": 1, "quantity": 5.0}]
        )

    def test_credit_note_is_a_return(self):
        invoice = self._post_customer_invoice(self.customer, [(self.coffee, 10, 8.0)])
        self._post_customer_invoice(
            self.customer, [(self.coffee, 3, 8.0)], move_type="out_refund"
        )
        self.assertRecordValues(
            self._history(self.customer),
            [
                {
                    "invoice_count": 1,
                    "refund_count": 1,
                    "quantity": 7.0,
                    "amount": 56.0,
                    "average_quantity": 7.0,
                }
            ],
        )
        # A full reversal through Odoo's wizard nets everything out.
        reversal = (
            self.env["account.move.reversal"]
            .with_user(self.accountant)
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"journal_id": invoice.journal_id.id, "reason": "Damaged"})
        )
        reversal.refund_moves()
        refund = invoice.reversal_move_ids
        refund.with_user(self.accountant).action_post()
        self.assertRecordValues(
            self._history(self.customer),
            [{"invoice_count": 1, "refund_count": 2, "quantity": -3.0}],
        )

    def test_credit_note_alone_creates_nothing(self):
        self._post_customer_invoice(
            self.customer, [(self.tea, 1, 5.0)], move_type="out_refund"
        )
        self.assertFalse(self._history(self.customer))

    def test_first_invoice_after_a_credit_note_counts_it(self):
        """A key whose only past is a credit note gets its line with the
        first invoice, and that line counts the credit note too."""
        self._post_customer_invoice(
            self.customer, [(self.tea, 1, 5.0)], move_type="out_refund"
        )
        self._post_customer_invoice(self.customer, [(self.tea, 3, 5.0)])
        self.assertRecordValues(
            self._history(self.customer),
            [{"invoice_count": 1, "refund_count": 1, "quantity": 2.0, "amount": 10.0}],
        )

    def test_credit_note_then_first_invoice_posted_one_by_one(self):
        """The same, posted one after the other in one transaction (a script
        posting in a loop): the credit note's posted state, which Odoo has
        not written yet when the invoice posts, still counts (the line
        counted the invoice alone, and nothing corrected it)."""
        refund = self._create_customer_invoice(
            self.customer, [(self.tea, 1, 5.0)], move_type="out_refund"
        )
        invoice = self._create_customer_invoice(self.customer, [(self.tea, 3, 5.0)])
        self.env.flush_all()
        for move in refund | invoice:
            move.with_user(self.accountant).action_post()
        self.assertRecordValues(
            self._history(self.customer),
            [{"invoice_count": 1, "refund_count": 1, "quantity": 2.0, "amount": 10.0}],
        )

    def test_unit_ratio_changed_restates_its_history(self):
        """Quantities and last unit prices are converted with the units'
        ratios: when an administrator changes one (a dozen of 10), the
        history lines of the products invoiced in it are restated, and later
        invoices add up at the new ratio."""
        dozen = self.env.ref("uom.product_uom_dozen")
        invoice = self._create_customer_invoice(self.customer, [(self.coffee, 2, 96.0)])
        invoice.invoice_line_ids.product_uom_id = dozen
        invoice.invoice_line_ids.price_unit = 96.0
        invoice.with_user(self.accountant).action_post()
        self.assertRecordValues(
            self._history(self.customer),
            [{"quantity": 24.0, "last_price_unit": 8.0}],
        )
        dozen.factor_inv = 10
        self.assertRecordValues(
            self._history(self.customer),
            [{"quantity": 20.0, "last_price_unit": 9.6}],
        )
        # The unit is queued too: the scheduled action looks up the lines it
        # converts once the change is committed, which a posting in dozens
        # committed meanwhile is among (tests/test_history_concurrency.py).
        units_queued = self.env["consumer.preference.history.unit.queue"].search([])
        self.assertEqual(units_queued.uom_id, dozen)
        self.env["consumer.preference.history"]._process_queue()
        self.assertFalse(units_queued.exists())
        self.assertRecordValues(
            self._history(self.customer),
            [{"quantity": 20.0, "last_price_unit": 9.6}],
        )
        self._post_customer_invoice(
            self.customer, [(self.coffee, 5, 9.0)], invoice_date="2026-02-01"
        )
        self.assertRecordValues(
            self._history(self.customer),
            [{"quantity": 25.0, "last_price_unit": 9.0}],
        )

    def test_variants_give_lines_with_their_values(self):
        self._post_customer_invoice(
            self.customer, [(self.shirt_s, 1, 20.0), (self.shirt_l, 2, 20.0)]
        )
        self.assertRecordValues(
            self._history(self.customer).sorted("quantity"),
            [
                {"product_id": self.shirt_s.id, "attribute_value_ids": self.size_s.ids},
                {"product_id": self.shirt_l.id, "attribute_value_ids": self.size_l.ids},
            ],
        )

    def test_product_unit_changed_restates_its_history(self):
        """Quantities and last unit prices are in the product's unit: when the
        product is given another unit, its history lines are restated in it,
        and later invoices add up in it."""
        self._post_customer_invoice(
            self.customer, [(self.coffee, 24, 1.0)], invoice_date="2026-01-10"
        )
        dozen = self.env.ref("uom.product_uom_dozen")
        # The setting Units of Measure shows the product's unit.
        self.env.user.groups_id += self.env.ref("uom.group_uom")
        with Form(self.coffee.product_tmpl_id) as template_form:
            template_form.uom_id = dozen
        self.assertRecordValues(
            self._history(self.customer, self.coffee),
            [
                {
                    "uom_id": dozen.id,
                    "quantity": 2.0,
                    "average_quantity": 2.0,
                    "last_price_unit": 12.0,
                }
            ],
        )
        self._post_customer_invoice(
            self.customer, [(self.coffee, 1, 12.0)], invoice_date="2026-02-10"
        )
        self.assertRecordValues(
            self._history(self.customer, self.coffee),
            [
                {
                    "uom_id": dozen.id,
                    "quantity": 3.0,
                    "average_quantity": 1.5,
                    "last_price_unit": 12.0,
                }
            ],
        )

    def test_variant_values_written_unchanged_restate_nothing(self):
        """Odoo writes their values, unchanged, on a template's variants when
        it saves the template: no history is looked up for them."""
        history_class = type(self.env["consumer.preference.history"])
        with patch.object(history_class, "_recompute_products") as recompute:
            for variant in self.coffee | self.tea:
                variant.write(
                    {
                        "product_template_attribute_value_ids": [
                            Command.set(
                                variant.product_template_attribute_value_ids.ids
                            )
                        ]
                    }
                )
        self.assertFalse(recompute.called)

    def test_variant_given_a_value_restates_its_history(self):
        """A single-value attribute added to a template is written on its
        existing variants: their history lines take the new value too."""
        self._post_customer_invoice(self.customer, [(self.shirt_m, 1, 20.0)])
        red = self.colour.value_ids
        self.shirt_template.attribute_line_ids = [
            Command.create(
                {"attribute_id": self.colour.id, "value_ids": [Command.set(red.ids)]}
            )
        ]
        self.assertEqual(
            self.shirt_m.product_template_attribute_value_ids.product_attribute_value_id,
            self.size_m | red,
        )
        self.assertRecordValues(
            self._history(self.customer),
            [
                {
                    "product_id": self.shirt_m.id,
                    "attribute_value_ids": (self.size_m | red).ids,
                    "invoice_count": 1,
                    "quantity": 1.0,
                }
            ],
        )

    def test_contact_invoices_feed_company_profile(self):
        self._post_customer_invoice(self.customer_contact, [(self.coffee, 1, 8.0)])
        self.assertEqual(self._history(self.customer).invoice_count, 1)
        self.assertEqual(
            self.customer_contact.commercial_history_ids, self._history(self.customer)
        )

    def test_contact_moved_to_another_company_takes_its_history_along(self):
        """A contact given another company takes its invoices along, posted
        ones included (Odoo rewrites their commercial partner): their
        history leaves the former company's profile for the new one's."""
        self._post_customer_invoice(
            self.customer, [(self.coffee, 1, 8.0)], invoice_date="2026-01-10"
        )
        invoice = self._post_customer_invoice(
            self.customer_contact,
            [(self.coffee, 2, 9.0), (self.tea, 1, 5.0)],
            invoice_date="2026-01-20",
        )
        self._post_customer_invoice(
            self.other_customer, [(self.coffee, 3, 8.0)], invoice_date="2026-01-05"
        )
        # Odoo warns that this is meant for a company set wrongly: it is.
        with (
            mute_logger("odoo.tests.form.onchange"),
            Form(self.customer_contact.with_user(self.salesperson)) as contact_form,
        ):
            contact_form.parent_id = self.other_customer
        self.assertEqual(invoice.commercial_partner_id, self.other_customer)
        self.assertRecordValues(
            self._history(self.customer),
            [{"product_id": self.coffee.id, "invoice_count": 1, "quantity": 1.0}],
        )
        self.assertRecordValues(
            self._history(self.other_customer).sorted("quantity"),
            [
                {
                    "product_id": self.tea.id,
                    "invoice_count": 1,
                    "quantity": 1.0,
                    "amount": 5.0,
                    "first_invoice_date": date(2026, 1, 20),
                    "last_price_unit": 5.0,
                },
                {
                    "product_id": self.coffee.id,
                    "invoice_count": 2,
                    "quantity": 5.0,
                    "amount": 42.0,
                    "first_invoice_date": date(2026, 1, 5),
                    "last_price_unit": 9.0,
                },
            ],
        )

    def test_history_coexists_with_specification(self):
        self.env["consumer.preference"].create(
            {"partner_id": self.customer.id, "product_id": self.coffee.id}
        )
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])
        self.assertEqual(
            self.customer.consumer_preference_ids.mapped("preference_type"),
            ["specification", "history"],
        )

    def test_companies_are_separate(self):
        other_company_data = self.setup_other_company()
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])
        self.env["account.move"].with_company(other_company_data["company"]).create(
            {
                "move_type": "out_invoice",
                "partner_id": self.customer.id,
                "invoice_date": "2026-01-15",
                "invoice_line_ids": [
                    Command.create(
                        {
                            "product_id": self.coffee.id,
                            "quantity": 5,
                            "price_unit": 8.0,
                            "tax_ids": [],
                        }
                    )
                ],
            }
        ).action_post()
        self.assertRecordValues(
            self._history(self.customer).sorted("quantity"),
            [
                {"company_id": self.company.id, "quantity": 1.0},
                {"company_id": other_company_data["company"].id, "quantity": 5.0},
            ],
        )
        self.assertEqual(
            self.env["consumer.preference"]
            .with_user(self.salesperson)
            .search([("preference_type", "=", "history")])
            .company_id,
            self.company,
        )

    def test_foreign_currency_amount_in_company_currency(self):
        other_currency = self.setup_other_currency("EUR", rates=[("2026-01-01", 2.0)])
        self._post_customer_invoice(
            self.customer,
            [(self.coffee, 2, 10.0)],
            currency_id=other_currency.id,
            invoice_date="2026-01-15",
        )
        self.assertRecordValues(
            self._history(self.customer),
            [
                {
                    "amount": 10.0,
                    "last_price_unit": 5.0,
                    "currency_id": self.company.currency_id.id,
                }
            ],
        )

    def test_zero_amount_line_price_converted_at_the_invoice_rate(self):
        """A line of zero amount (fully discounted) has no rate of its own:
        its unit price is converted at the invoice's rate, not left in the
        invoice's currency."""
        other_currency = self.setup_other_currency("EUR", rates=[("2026-01-01", 2.0)])
        invoice = self._create_customer_invoice(
            self.customer,
            [(self.coffee, 2, 10.0)],
            currency_id=other_currency.id,
            invoice_date="2026-01-15",
        )
        invoice.invoice_line_ids.discount = 100.0
        invoice.with_user(self.accountant).action_post()
        self.assertEqual(invoice.invoice_line_ids.amount_currency, 0.0)
        self.assertRecordValues(
            self._history(self.customer),
            [{"amount": 0.0, "quantity": 2.0, "last_price_unit": 5.0}],
        )

    def test_partner_lists_follow_the_history_in_the_same_transaction(self):
        """The history is written in SQL: a partner's lists of lines, read
        before, show the lines as they are after posting and erasing."""
        partner = self.customer.with_user(self.salesperson)
        self.assertFalse(partner.consumer_history_ids)
        self.assertFalse(partner.commercial_history_ids)
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])
        self.assertEqual(partner.consumer_history_ids.product_id, self.coffee)
        self.assertEqual(partner.commercial_history_ids.product_id, self.coffee)
        self.assertEqual(partner.consumer_preference_count, 1)
        partner.action_consumer_preference_erase_history()
        self.assertFalse(partner.consumer_history_ids)
        self.assertFalse(partner.commercial_history_ids)
        self.assertEqual(partner.consumer_preference_count, 0)

    def test_future_dated_auto_post_counts_only_once_posted(self):
        with freeze_time("2026-04-01"):
            invoice = self._create_customer_invoice(
                self.customer,
                [(self.coffee, 1, 8.0)],
                invoice_date="2026-04-20",
                auto_post="at_date",
            )
            invoice.with_user(self.accountant)._post(soft=True)
            self.assertEqual(invoice.state, "draft")
            self.assertFalse(self._history(self.customer))
        with freeze_time("2026-04-21"):
            self.env["account.move"]._autopost_draft_entries()
            self.assertEqual(invoice.state, "posted")
            self.assertEqual(self._history(self.customer).invoice_count, 1)

    def test_consent_withdrawn_records_nothing(self):
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])
        self.customer.with_user(self.salesperson).consumer_preference_consent = False
        self.assertFalse(
            self.customer_contact.consumer_preference_consent,
            "consent is shared by the company's contacts",
        )
        self._post_customer_invoice(self.customer_contact, [(self.coffee, 4, 8.0)])
        self._post_customer_invoice(self.customer, [(self.tea, 1, 5.0)])
        self.assertRecordValues(
            self._history(self.customer),
            [{"product_id": self.coffee.id, "invoice_count": 1, "quantity": 1.0}],
        )

        self.customer.with_user(
            self.salesperson
        ).action_consumer_preference_erase_history()
        self.assertFalse(self._history(self.customer))
        self.assertIn("Purchase history erased", self.customer.message_ids[0].body)

        # Consent given back: what was invoiced meanwhile counts again.
        self.customer.with_user(self.salesperson).consumer_preference_consent = True
        self.assertRecordValues(
            self._history(self.customer).sorted("quantity"),
            [
                {"product_id": self.tea.id, "invoice_count": 1, "quantity": 1.0},
                {"product_id": self.coffee.id, "invoice_count": 2, "quantity": 5.0},
            ],
        )

    def test_forget_erases_whole_profile(self):
        self.env["consumer.preference"].create(
            {"partner_id": self.customer.id, "product_id": self.tea.id}
        )
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])
        self._post_customer_invoice(self.other_customer, [(self.coffee, 1, 8.0)])
        self.customer_contact.with_user(
            self.salesperson
        ).action_consumer_preference_forget()
        self.assertFalse(self.customer.consumer_preference_ids)
        self.assertTrue(self._history(self.other_customer))
        self.assertIn("forgotten", self.customer.message_ids[0].body)

    def test_backfill_equals_live_posting(self):
        """Installing on a database with posted invoices gives the same lines."""
        self._post_customer_invoice(
            self.customer,
            [(self.coffee, 2, 8.0), (self.shirt_m, 1, 20.0)],
            invoice_date="2026-01-05",
        )
        self._post_customer_invoice(
            self.customer_contact, [(self.coffee, 3, 9.0)], invoice_date="2026-02-05"
        )
        self._post_customer_invoice(
            self.customer, [(self.coffee, 1, 9.0)], move_type="out_refund"
        )
        self._post_customer_invoice(self.other_customer, [(self.shirt_l, 4, 20.0)])
        live_lines = self._history().read(HISTORY_FIELDS)
        for line in live_lines:
            del line["id"]

        # What a database had before the addon: posted invoices, no history.
        self.env.cr.execute(
            "DELETE FROM consumer_preference WHERE preference_type = 'history'"
        )
        self.env.invalidate_all()
        self.assertFalse(self._history())

        post_init_hook(self.env)
        backfilled_lines = self._history().read(HISTORY_FIELDS)
        for line in backfilled_lines:
            del line["id"]

        # Same lines, whatever order the ids were given in.
        def by_key(line):
            return (line["company_id"], line["partner_id"], line["product_id"])

        self.assertEqual(
            sorted(backfilled_lines, key=by_key), sorted(live_lines, key=by_key)
        )

    def test_manager_rebuild(self):
        self._post_customer_invoice(self.customer, [(self.coffee, 2, 8.0)])
        history = self._history(self.customer)
        self.env.cr.execute(
            "UPDATE consumer_preference SET invoice_count = 99 WHERE id = %s",
            history.ids,
        )
        history.invalidate_recordset()
        with self.assertRaises(AccessError):
            self.customer.with_user(
                self.salesperson
            ).action_consumer_preference_rebuild()
        self.customer.with_user(
            self.preference_manager
        ).action_consumer_preference_rebuild()
        self.assertEqual(history.invoice_count, 1)

    def test_a_rebuild_rewrites_only_the_lines_that_differ(self):
        """The rebuild writes a line only where its figures differ from the
        invoices': the others keep their last write."""
        self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0), (self.tea, 1, 5.0)]
        )
        coffee, tea = (
            self._history(self.customer, self.coffee),
            self._history(self.customer, self.tea),
        )
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE consumer_preference SET write_date = '2020-01-01',"
            " invoice_count = CASE WHEN id = %s THEN 99 ELSE invoice_count END"
            " WHERE id IN %s",
            (coffee.id, (coffee | tea)._ids),
        )
        self.env.invalidate_all()
        self.env["consumer.preference.history"]._rebuild(partners=self.customer)
        self.env.invalidate_all()
        self.assertEqual(coffee.invoice_count, 1)
        self.assertGreater(coffee.write_date, datetime(2020, 1, 1))
        self.assertEqual(tea.write_date, datetime(2020, 1, 1))
        self.assertEqual(tea.invoice_count, 1)

    def test_invoices_before_2000_keep_their_last_price(self):
        """Invoices dated before 2000 (a migrated customer's past) count as
        any other: the rebuild finds their last invoiced line and price."""
        self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0)], invoice_date="1998-05-04"
        )
        self._post_customer_invoice(
            self.customer, [(self.coffee, 1, 9.0)], invoice_date="1999-12-31"
        )
        expected = [
            {
                "invoice_count": 2,
                "quantity": 3.0,
                "first_invoice_date": fields.Date.to_date("1998-05-04"),
                "last_invoice_date": fields.Date.to_date("1999-12-31"),
                "last_price_unit": 9.0,
            }
        ]
        self.assertRecordValues(self._history(self.customer, self.coffee), expected)
        self.customer.with_user(
            self.preference_manager
        ).action_consumer_preference_rebuild()
        self.assertRecordValues(self._history(self.customer, self.coffee), expected)

    def test_large_posting_queues_its_keys(self):
        """Invoices posted together with more product lines than
        SYNC_LINE_LIMIT queue their keys, without a lock each (5,000
        invoices validated at once failed: "out of shared memory"); the
        scheduled action then makes their history exact. A posting within
        the limit is recorded at once."""
        invoices = self._create_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0), (self.tea, 1, 5.0)]
        ) | self._create_customer_invoice(self.customer, [(self.coffee, 3, 8.0)])
        history = self.env["consumer.preference.history"]
        with patch.object(history_module, "SYNC_LINE_LIMIT", 2):
            invoices.with_user(self.accountant).action_post()
            self.assertFalse(self._history(self.customer))
            self.assertTrue(self.customer.consumer_preference_history_pending)
            self.assertEqual(history._process_queue(), 2)
            self.assertRecordValues(
                self._history(self.customer).sorted("quantity"),
                [
                    {"product_id": self.tea.id, "invoice_count": 1, "quantity": 1.0},
                    {"product_id": self.coffee.id, "invoice_count": 2, "quantity": 5.0},
                ],
            )
            self._post_customer_invoice(self.customer, [(self.tea, 4, 5.0)])
            self.assertFalse(self.customer.consumer_preference_history_pending)
            self.assertRecordValues(
                self._history(self.customer, self.tea),
                [{"invoice_count": 2, "quantity": 5.0}],
            )

    def test_scheduled_action_lets_a_fresh_queue_settle(self):
        """The scheduled action waits until the oldest queued row has waited
        QUEUE_SETTLE_SECONDS, so that one run takes the keys of every
        posting of that second; an older row is taken at once, and an empty
        queue costs no wait."""
        history = self.env["consumer.preference.history"]
        history._process_queue()
        self.assertEqual(history._queue_settle_seconds(), 0.0)
        history._enqueue([(self.company.id, self.customer.id, self.coffee.id)])
        # queued in this transaction: NOW() is its start, the row's age 0
        self.assertAlmostEqual(
            history._queue_settle_seconds(), history_module.QUEUE_SETTLE_SECONDS
        )
        self.env.cr.execute(
            "UPDATE consumer_preference_history_queue"
            " SET queued_at = queued_at - INTERVAL '0.25 seconds'"
        )
        self.assertAlmostEqual(
            history._queue_settle_seconds(),
            history_module.QUEUE_SETTLE_SECONDS - 0.25,
        )
        self.env.cr.execute(
            "UPDATE consumer_preference_history_queue"
            " SET queued_at = queued_at - INTERVAL '5 seconds'"
        )
        self.assertEqual(history._queue_settle_seconds(), 0.0)
        # stamped by a clock ahead (the row's default is the Odoo server's
        # clock): never a longer wait
        self.env.cr.execute(
            "UPDATE consumer_preference_history_queue"
            " SET queued_at = queued_at + INTERVAL '5 minutes'"
        )
        self.assertEqual(
            history._queue_settle_seconds(), history_module.QUEUE_SETTLE_SECONDS
        )

    def _fill_queue(self, customers, copies, whole_copies=0):
        """Queue each key of ``customers`` with 100 new products ``copies``
        times, and each customer whole ``whole_copies`` times, in no order,
        with the statistics a busy queue has (autovacuum analyzes it within a
        minute of such an insert)."""
        products = self.env["product.product"].create(
            [{"name": f"Queued product {index}"} for index in range(100)]
        )
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO consumer_preference_history_queue
                       (company_id, partner_id, product_id, queued_at)
                SELECT %(company)s, partner_id, product_id, NOW() AT TIME ZONE 'UTC'
                  FROM unnest(%(customers)s::int[]) AS customer(partner_id)
                 CROSS JOIN unnest(%(products)s || ARRAY[NULL]::int[])
                       AS product(product_id)
                 CROSS JOIN generate_series(1, GREATEST(%(copies)s, %(whole)s))
                       AS copy(number)
                 WHERE copy.number <= CASE WHEN product_id IS NULL
                                           THEN %(whole)s ELSE %(copies)s END
                 ORDER BY md5(concat_ws(',', partner_id, product_id, copy.number))
                """,
                company=self.env.company.id,
                customers=customers.ids,
                products=products.ids,
                copies=copies,
                whole=whole_copies,
            )
        )
        self.env.cr.execute("ANALYZE consumer_preference_history_queue")

    def test_queue_batch_reads_its_own_rows(self):
        """A batch of the queue reads its oldest rows and the other rows of
        their keys, not the whole queue: grouping the whole queue at each
        batch made a drain quadratic in its size (9.6 s of 17.1 s for 400,000
        rows), and reading each key's rows by customer made a batch of a
        customer queued whole quadratic in its keys (3.8 s a batch for 250
        keys queued 40 times). One customer, 100 products queued 20 times
        each, in no order; a batch of 20 rows."""
        self._fill_queue(self.customer, copies=20)
        history = self.env["consumer.preference.history"]
        with explained_plans("pg_try_advisory_xact_lock", analyze=True) as plans:
            batch, _last_id = history._lock_queued_keys(20, [])
        queue_ids = [id_ for _key, ids, _locked in batch for id_ in ids]
        self.assertEqual(len(queue_ids), 20 * len(batch))
        self.assertLess(
            rows_read(plans[0]["Plan"], "consumer_preference_history_queue"),
            # the batch's rows, and those of its keys, read once: 20 + 400
            # at most, against the queue's 2,000
            2 * (20 + len(queue_ids)),
        )

    def test_queue_batches_go_on_after_each_other(self):
        """Each batch of a drain reads the queue after the last row the one
        before read: the rows done are deleted, but a batch reading from the
        queue's start reads them again as long as a snapshot older than
        their deletion is open (here, the test's own transaction), and the
        drain was quadratic again. 1,000 keys queued once and 10 customers
        queued whole 100 times, in no order, drained by batches of 50: the
        entries of the queue's indexes read stay a few per row, where each
        batch reading again the rows done before it read over 10 per row."""
        customers = self.env["res.partner"].create(
            [{"name": f"Queued customer {index}"} for index in range(10)]
        )
        self._fill_queue(customers, copies=1, whole_copies=100)
        indexes = (
            "consumer_preference_history_queue_pkey",
            "consumer_preference_history_queue_customer_index",
        )
        entries_read = SQL(
            "SELECT %s",
            SQL(", ").join(
                SQL("pg_stat_get_xact_tuples_returned(%s::regclass)", index)
                for index in indexes
            ),
        )
        self.env.cr.execute(entries_read)
        before = self.env.cr.fetchone()
        history = self.env["consumer.preference.history"]
        self.assertEqual(history._process_queue(batch_size=50), 2000)
        self.env.cr.execute(entries_read)
        read = [
            after - first
            for after, first in zip(self.env.cr.fetchone(), before, strict=True)
        ]
        # about 2,000 (up to 4,000 as the deletions are planned) and 1,000,
        # against 14,500 and 12,500 before
        self.assertLess(read[0], 7000)
        self.assertLess(read[1], 3000)

    def test_queue_drained_clears_the_pending_notice(self):
        """Once the scheduled action recomputed a queued key, the partner no
        longer says a refresh is pending, in the same environment too."""
        self._post_customer_invoice(self.customer, [(self.coffee, 2, 8.0)])
        history = self.env["consumer.preference.history"]
        history._enqueue([(self.env.company.id, self.customer.id, self.coffee.id)])
        self.assertTrue(self.customer.consumer_preference_history_pending)
        self.assertEqual(history._process_queue(), 1)
        self.assertFalse(self.customer.consumer_preference_history_pending)
        self.assertRecordValues(
            self._history(self.customer, self.coffee),
            [{"invoice_count": 1, "quantity": 2.0}],
        )

    def test_only_a_consent_that_changes_locks_the_customer(self):
        """Changing a customer's consent locks its row, which replays a
        posting that did not see the change (tests/test_history_concurrency);
        Odoo also writes the consent, unchanged, on every contact created or
        moved under a company: that locks nothing, or postings for the company
        would wait and be replayed for a new delivery address."""
        history_class = type(self.env["consumer.preference.history"])
        with patch.object(
            history_class,
            "_lock_consent",
            autospec=True,
            side_effect=history_class._lock_consent,
        ) as lock_consent:
            self.env["res.partner"].create(
                {"name": "Delivery address", "parent_id": self.customer.id}
            )
            self.customer.write({"consumer_preference_consent": True})
            self.assertFalse(lock_consent.called)
            self.customer.write({"consumer_preference_consent": False})
            self.assertEqual(lock_consent.call_count, 1)
            self.assertEqual(lock_consent.call_args.args[1], self.customer)

    def _post_with_its_key_held_elsewhere(self):
        """Post an invoice of the customer whose key another transaction
        holds, as under concurrent postings: the key is queued. Returns the
        warnings the history service logged; checks the invoice posted and
        the customer's form says a refresh is pending."""
        invoice = self._create_customer_invoice(self.customer, [(self.coffee, 2, 8.0)])
        with (
            closing(db_connect(self.env.cr.dbname).cursor()) as elsewhere,
            self.assertLogs(
                "odoo.addons.consumer_preferences.models.consumer_preference_history",
                "WARNING",
            ) as logs,
        ):
            # the key's lock, as a posting of the same key holds it
            history = self.env["consumer.preference.history"]
            elsewhere.execute(
                SQL(
                    "SELECT pg_advisory_xact_lock(%s) FROM (%s) key",
                    history._lock_key_sql(),
                    history._keys_sql(
                        [(invoice.company_id.id, self.customer.id, self.coffee.id)]
                    ),
                )
            )
            invoice.with_user(self.accountant).action_post()
        self.assertEqual(invoice.state, "posted")
        self.assertTrue(self.customer.consumer_preference_history_pending)
        return logs.output

    def test_posting_survives_a_deleted_scheduled_action(self):
        """An administrator deleted the queue's scheduled action: a posting
        whose key another transaction holds still posts (the key waits, the
        form says so, and the action comes back at the next update of the
        module)."""
        self.env.ref(QUEUE_CRON_XMLID).unlink()
        [warning] = self._post_with_its_key_held_elsewhere()
        self.assertIn("not found: history keys stay queued", warning)

    def test_an_inactive_scheduled_action_is_reported(self):
        """The queue's scheduled action was deactivated (by an administrator,
        or by Odoo after repeated failures): Odoo would neither trigger nor
        run it; a posting whose key waits says so in the log, and posts."""
        self.env.ref(QUEUE_CRON_XMLID).active = False
        [warning] = self._post_with_its_key_held_elsewhere()
        self.assertIn("is inactive: history keys stay queued", warning)

    def test_a_write_that_posts_and_changes_the_invoice_counts_the_change(self):
        """The history is added to before Odoo writes an invoice posted, from
        what the invoice is then. A write that posts it and changes it at once
        (a module writing the state itself, past Odoo's check of the fields
        a posted invoice keeps) counts the invoice as that write leaves it."""
        invoice = self._create_customer_invoice(
            self.customer, [(self.coffee, 3, 8.0)], invoice_date="2026-01-15"
        )
        invoice.with_context(skip_readonly_check=True).write(
            {
                "state": "posted",
                "invoice_date": "2026-02-20",
                "invoice_line_ids": [
                    Command.update(invoice.invoice_line_ids.id, {"quantity": 4})
                ],
            }
        )
        self.assertEqual(invoice.state, "posted")
        line = invoice.invoice_line_ids
        self.assertEqual(line.quantity, 4.0)
        self.assertRecordValues(
            self._history(self.customer, self.coffee),
            [
                {
                    "invoice_count": 1,
                    "quantity": 4.0,
                    # what Odoo keeps of the line (posted, its amounts are
                    # not recomputed)
                    "amount": -line.balance,
                    "first_invoice_date": date(2026, 2, 20),
                    "last_invoice_date": date(2026, 2, 20),
                }
            ],
        )

    def test_a_reset_whose_write_fails_takes_nothing_away(self):
        """A reset to draft takes the invoice from the history before Odoo
        writes it. When that write fails, a caller's savepoint gives it back;
        a caller that catches the error and goes on finds the keys queued,
        and the scheduled action recomputes them from what is posted (the
        line of a key left with no invoice comes back as a new line)."""

        def history_figures():
            return [
                {name: value for name, value in row.items() if name != "id"}
                for row in self._history(self.customer).read(HISTORY_FIELDS)
            ]

        invoice = self._post_customer_invoice(
            self.customer, [(self.coffee, 3, 8.0), (self.tea, 1, 5.0)]
        )
        self._post_customer_invoice(self.customer, [(self.coffee, 2, 8.0)])
        history_before = history_figures()
        odoo_write = AccountMove.write

        def refusing_write(moves, vals):
            if vals.get("state") == "draft":
                raise UserError(moves.env._("A module refuses this reset."))
            return odoo_write(moves, vals)

        with patch.object(AccountMove, "write", refusing_write):
            with (
                self.assertRaisesRegex(UserError, "refuses"),
                self.env.cr.savepoint(),
            ):
                invoice.with_user(self.accountant).button_draft()
            self.assertEqual(history_figures(), history_before)
            self.assertFalse(self.customer.consumer_preference_history_pending)
            with self.assertRaisesRegex(UserError, "refuses"):
                invoice.with_user(self.accountant).button_draft()
        self.assertEqual(invoice.state, "posted")
        self.assertTrue(self.customer.consumer_preference_history_pending)
        self.env["consumer.preference.history"]._process_queue()
        self.assertFalse(self.customer.consumer_preference_history_pending)
        self.assertEqual(history_figures(), history_before)
        # Reset for good, it is taken away once.
        invoice.with_user(self.accountant).button_draft()
        self.assertRecordValues(
            self._history(self.customer, self.coffee),
            [{"invoice_count": 1, "quantity": 2.0}],
        )

    def test_a_posting_whose_write_fails_is_not_counted(self):
        """The history is added to before Odoo writes the invoice posted (so
        as not to lengthen the wait on the journal's next number). When that
        write fails (here a module refusing the posting), a caller's
        savepoint takes the additions back with it; a caller that catches
        the error and goes on finds the keys queued, and the scheduled
        action recomputes them from what is posted."""
        self._post_customer_invoice(self.customer, [(self.coffee, 2, 8.0)])
        invoice = self._create_customer_invoice(
            self.customer, [(self.coffee, 3, 8.0), (self.tea, 1, 5.0)]
        )
        history_before = self._history(self.customer).read(HISTORY_FIELDS)
        odoo_write = AccountMove.write

        def refusing_write(moves, vals):
            if vals.get("state") == "posted":
                raise UserError(moves.env._("A module refuses this posting."))
            return odoo_write(moves, vals)

        with patch.object(AccountMove, "write", refusing_write):
            # A caller with a savepoint of its own.
            with (
                self.assertRaisesRegex(UserError, "refuses"),
                self.env.cr.savepoint(),
            ):
                invoice.with_user(self.accountant).action_post()
            self.assertEqual(
                self._history(self.customer).read(HISTORY_FIELDS), history_before
            )
            self.assertFalse(self.customer.consumer_preference_history_pending)
            # A caller that catches the error and goes on.
            with self.assertRaisesRegex(UserError, "refuses"):
                invoice.with_user(self.accountant).action_post()
        self.assertEqual(invoice.state, "draft")
        self.assertTrue(self.customer.consumer_preference_history_pending)
        self.env["consumer.preference.history"]._process_queue()
        self.assertFalse(self.customer.consumer_preference_history_pending)
        self.assertEqual(
            self._history(self.customer).read(HISTORY_FIELDS), history_before
        )
        # Posted for good, it counts once.
        invoice.with_user(self.accountant).action_post()
        self.assertRecordValues(
            self._history(self.customer, self.coffee),
            [{"invoice_count": 2, "quantity": 5.0}],
        )
        self.assertRecordValues(
            self._history(self.customer, self.tea), [{"invoice_count": 1}]
        )
