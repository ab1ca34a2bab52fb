# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""Posted invoices changed in place: Odoo's forms keep an invoice read-only
once posted, its write() does not (a script, an import, a module). What the
history reads of a posted invoice, written while it stays posted, queues its
keys, as they were and as they become; the scheduled action recomputes them."""

from datetime import date

from odoo import Command
from odoo.tests import HttpCase, tagged

from ..models.consumer_preference_statistics import STATISTICS_FIELDS
from .common import ConsumerPreferenceCommon


class HistoryEditsCommon(ConsumerPreferenceCommon):
    def _queued_keys(self):
        # as the transaction commits (its pre-commit hooks)
        self.env.cr.flush()
        self.env.cr.execute(
            "SELECT DISTINCT company_id, partner_id, product_id "
            "FROM consumer_preference_history_queue"
        )
        return set(self.env.cr.fetchall())

    def _key(self, product, customer=None):
        return (self.company.id, (customer or self.customer).id, product.id)

    def _queued_segments(self):
        self.env.cr.flush()
        self.env.cr.execute(
            "SELECT DISTINCT company_id, partner_id "
            "FROM consumer_preference_segment_queue"
        )
        return set(self.env.cr.fetchall())

    def _assert_pending_then_as_rebuilt(self, keys):
        """``keys`` are queued and the customer's form says so; once the
        scheduled action's work is done, nothing is pending and the customer's
        history is what the rebuild computes from the posted invoices."""
        self.assertLessEqual(keys, self._queued_keys())
        self.assertTrue(self.customer.consumer_preference_history_pending)
        self.env["consumer.preference.history"]._process_queue()
        self.env.invalidate_all()
        self.assertFalse(self._queued_keys())
        self.assertFalse(self.customer.consumer_preference_history_pending)
        fields = ["product_id", *STATISTICS_FIELDS]
        counted = self._history(self.customer).read(fields)
        with self.env.cr.savepoint() as savepoint:
            self.env["consumer.preference.history"]._rebuild(partners=self.customer)
            self.env.invalidate_all()
            rebuilt = self._history(self.customer).read(fields)
            savepoint.rollback()
        self.env.invalidate_all()
        self.assertEqual(
            sorted(counted, key=lambda line: line["product_id"]),
            sorted(rebuilt, key=lambda line: line["product_id"]),
        )


@tagged("post_install", "-at_install")
class TestConsumerPreferenceHistoryEdits(HistoryEditsCommon):
    def test_a_product_written_on_a_posted_line_moves_its_figures(self):
        """A line of a posted invoice given another product: the invoice
        leaves the old product's line and counts on the new one's."""
        invoice = self._post_customer_invoice(self.customer, [(self.coffee, 3, 8.0)])
        self._post_customer_invoice(
            self.customer, [(self.coffee, 1, 8.0)], invoice_date="2026-02-15"
        )
        invoice.invoice_line_ids.with_user(self.accountant).write(
            {"product_id": self.tea.id}
        )
        self.assertEqual(invoice.state, "posted")
        self._assert_pending_then_as_rebuilt(
            {self._key(self.coffee), self._key(self.tea)}
        )
        self.assertRecordValues(
            self._history(self.customer, self.coffee),
            [{"invoice_count": 1, "quantity": 1.0}],
        )
        self.assertRecordValues(
            self._history(self.customer, self.tea),
            [{"invoice_count": 1, "quantity": 3.0}],
        )

    def test_a_quantity_written_on_a_posted_line_is_counted(self):
        invoice = self._post_customer_invoice(self.customer, [(self.coffee, 3, 8.0)])
        invoice.invoice_line_ids.with_user(self.accountant).write({"quantity": 5})
        self._assert_pending_then_as_rebuilt({self._key(self.coffee)})
        self.assertRecordValues(
            self._history(self.customer, self.coffee), [{"quantity": 5.0}]
        )

    def test_a_reversal_link_written_on_a_posted_credit_note_is_followed(self):
        """A credit note made by hand, then linked to the invoice it
        credits in full: that invoice is no purchase any more."""
        invoice = self._post_customer_invoice(self.customer, [(self.coffee, 2, 8.0)])
        credit_note = self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0)], move_type="out_refund"
        )
        history = self._history(self.customer, self.coffee)
        self.assertRecordValues(history, [{"refund_count": 1, "purchase_count": 1}])
        credit_note.with_user(self.accountant).write({"reversed_entry_id": invoice.id})
        self.assertEqual(credit_note.state, "posted")
        self._assert_pending_then_as_rebuilt({self._key(self.coffee)})
        self.assertRecordValues(history, [{"refund_count": 1, "purchase_count": 0}])

    def test_a_credit_note_linked_with_reversals_below_queues_theirs(self):
        """A credit note made by hand, reversed in its turn (an invoice of
        another product, reversed again), then linked to an invoice: the
        reversals below it count against that invoice from then on, so their
        products' keys are queued too."""
        self._post_customer_invoice(
            self.customer, [(self.tea, 1, 5.0)], invoice_date="2026-03-01"
        )
        invoice = self._post_customer_invoice(
            self.customer,
            [(self.coffee, 2, 8.0), (self.tea, 2, 5.0)],
            invoice_date="2026-03-05",
        )
        credit_note = self._post_customer_invoice(
            self.customer,
            [(self.coffee, 1, 8.0)],
            move_type="out_refund",
            invoice_date="2026-03-06",
        )
        below = credit_note
        for quantity in (1, 5):
            below = self._reverse(below)[0].with_user(self.accountant)
            below.invoice_line_ids.write(
                {"product_id": self.tea.id, "quantity": quantity}
            )
            below.action_post()
        self.assertEqual(self._history(self.customer, self.tea).purchase_count, 2)
        self.env["consumer.preference.history"]._process_queue()
        credit_note.with_user(self.accountant).write({"reversed_entry_id": invoice.id})
        self._assert_pending_then_as_rebuilt(
            {self._key(self.coffee), self._key(self.tea)}
        )
        # 2 + 1 - 5 teas: the second invoice is credited in full
        self.assertRecordValues(
            self._history(self.customer, self.tea),
            [{"purchase_count": 1, "last_purchase_date": date(2026, 3, 1)}],
        )

    def test_a_line_added_to_a_posted_invoice_is_counted(self):
        invoice = self._post_customer_invoice(self.customer, [(self.coffee, 2, 8.0)])
        invoice.with_context(skip_readonly_check=True).write(
            {
                "invoice_line_ids": [
                    Command.create(
                        {"product_id": self.tea.id, "quantity": 4, "price_unit": 5.0}
                    )
                ]
            }
        )
        self.assertEqual(invoice.state, "posted")
        self._assert_pending_then_as_rebuilt({self._key(self.tea)})
        self.assertRecordValues(
            self._history(self.customer, self.tea),
            [{"invoice_count": 1, "quantity": 4.0}],
        )

    def _create_tea_line_on_a_posted_invoice(self, with_amounts):
        """A tea line created by a script on a posted invoice, its amounts
        given or left to Odoo; its history line once queued and recomputed."""
        invoice = self._post_customer_invoice(self.customer, [(self.coffee, 2, 8.0)])
        amounts = {}
        if with_amounts:
            amounts = {
                "account_id": invoice.invoice_line_ids.account_id.id,
                "credit": 20.0,
            }
        self.env["account.move.line"].with_context(
            check_move_validity=False, skip_invoice_sync=True
        ).create(
            {
                "move_id": invoice.id,
                "display_type": "product",
                "product_id": self.tea.id,
                "quantity": 4,
                "price_unit": 5.0,
                **amounts,
            }
        )
        self._assert_pending_then_as_rebuilt({self._key(self.tea)})
        return self._history(self.customer, self.tea)

    def test_a_line_created_on_a_posted_invoice_is_counted(self):
        """Odoo writes its balance as it creates it."""
        self.assertRecordValues(
            self._create_tea_line_on_a_posted_invoice(with_amounts=False),
            [{"invoice_count": 1, "quantity": 4.0}],
        )

    def test_a_line_created_with_its_amounts_is_counted(self):
        """Created with its amounts given, Odoo writes nothing more on it."""
        self.assertRecordValues(
            self._create_tea_line_on_a_posted_invoice(with_amounts=True),
            [{"invoice_count": 1, "quantity": 4.0, "amount": 20.0}],
        )

    def test_a_line_deleted_from_a_posted_invoice_is_taken_away(self):
        invoice = self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0), (self.tea, 1, 5.0)]
        )
        invoice.invoice_line_ids.filtered(
            lambda line: line.product_id == self.tea
        ).with_context(force_delete=True, check_move_validity=False).unlink()
        self._assert_pending_then_as_rebuilt({self._key(self.tea)})
        self.assertFalse(self._history(self.customer, self.tea))

    def test_an_invoice_given_to_another_customer_moves_its_figures(self):
        """The invoice's customer changed while posted (past Odoo's check):
        the old customer's lines and segment are queued with the new one's."""
        invoice = self._post_customer_invoice(self.customer, [(self.coffee, 2, 8.0)])
        self.env.cr.flush()
        # the posting's
        self.env.cr.execute("DELETE FROM consumer_preference_segment_queue")
        invoice.with_context(skip_readonly_check=True).write(
            {"partner_id": self.other_customer.id}
        )
        self.assertEqual(invoice.state, "posted")
        self.assertLessEqual(
            {
                (self.company.id, self.customer.id),
                (self.company.id, self.other_customer.id),
            },
            self._queued_segments(),
        )
        self._assert_pending_then_as_rebuilt(
            {self._key(self.coffee), self._key(self.coffee, self.other_customer)}
        )
        self.assertFalse(self._history(self.customer, self.coffee))
        self.assertRecordValues(
            self._history(self.other_customer, self.coffee),
            [{"invoice_count": 1, "quantity": 2.0}],
        )

    def test_a_state_written_with_another_customer_forgets_the_old_one(self):
        """Reset to draft and given another customer in one write (Odoo
        checks the fields a posted invoice keeps against the new state): the
        old customer's lines no longer count it."""
        invoice = self._post_customer_invoice(self.customer, [(self.coffee, 2, 8.0)])
        invoice.with_user(self.accountant).write(
            {"state": "draft", "partner_id": self.other_customer.id}
        )
        self._assert_pending_then_as_rebuilt({self._key(self.coffee)})
        self.assertFalse(self._history(self.customer, self.coffee))
        self.assertFalse(self._history(self.other_customer, self.coffee))

    def test_changes_the_history_does_not_read_queue_nothing(self):
        """A label, a reference, a draft's lines and dates (counted when it is
        posted), a vendor bill's lines: nothing to queue."""
        posted = self._post_customer_invoice(self.customer, [(self.coffee, 2, 8.0)])
        draft = self._create_customer_invoice(self.customer, [(self.tea, 1, 5.0)])
        bill = self._create_customer_invoice(
            self.other_customer, [(self.tea, 1, 5.0)], move_type="in_invoice"
        )
        bill.action_post()
        history = self._history(self.customer)
        figures = history.read(STATISTICS_FIELDS)
        self.env.cr.flush()
        self.env.cr.execute("SELECT COUNT(*) FROM consumer_preference_segment_queue")
        [segment_rows] = self.env.cr.fetchone()  # the postings'
        posted.invoice_line_ids.with_user(self.accountant).write({"name": "Arabica"})
        posted.with_user(self.accountant).write({"ref": "PO 12"})
        draft.invoice_line_ids.write({"quantity": 3, "product_id": self.coffee.id})
        draft.write(
            {"invoice_date": "2026-02-01", "partner_id": self.other_customer.id}
        )
        bill.invoice_line_ids.with_context(check_move_validity=False).write(
            {"quantity": 2}
        )
        self.assertFalse(self._queued_keys())
        self.env.cr.flush()
        self.env.cr.execute("SELECT COUNT(*) FROM consumer_preference_segment_queue")
        self.assertEqual(self.env.cr.fetchone()[0], segment_rows)
        self.assertFalse(self.customer.consumer_preference_history_pending)
        self.env.invalidate_all()
        self.assertEqual(history.read(STATISTICS_FIELDS), figures)


@tagged("post_install", "-at_install")
class TestConsumerPreferenceHistoryEditsOverRpc(HistoryEditsCommon, HttpCase):
    """The same, through an external client's request: Odoo commits it, and
    the keys are queued as it does (the pre-commit hook), not later."""

    def test_a_quantity_written_over_xmlrpc_is_queued_by_the_request(self):
        invoice = self._post_customer_invoice(self.customer, [(self.coffee, 3, 8.0)])
        self.env.flush_all()
        result = self.xmlrpc_object.execute_kw(
            self.env.cr.dbname,
            self.accountant.id,
            "cp_accountant",  # new_test_user's password is the login
            "account.move.line",
            "write",
            [invoice.invoice_line_ids.ids, {"quantity": 5}],
        )
        self.assertIs(result, True)
        # read as the request left it: no flush of this test's own
        self.env.invalidate_all()
        self.assertTrue(self.customer.consumer_preference_history_pending)
        self._assert_pending_then_as_rebuilt({self._key(self.coffee)})
        self.assertRecordValues(
            self._history(self.customer, self.coffee), [{"quantity": 5.0}]
        )
