# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from contextlib import contextmanager
from datetime import date
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.tests import Form, tagged

from ..models.consumer_preference_statistics import STATISTICS_FIELDS
from .common import ConsumerPreferenceCommon


@tagged("post_install", "-at_install")
class TestConsumerPreferenceHistoryPurchases(ConsumerPreferenceCommon):
    """A history line's rhythm counts purchases, not invoices: a day with an
    invoice that the credit notes reversing it (Odoo's reversal wizard) did
    not credit in full. An invoice reversed and invoiced again, or a sale
    invoiced in two the same day, is one purchase: no reorder date, no
    reminder, after a single purchase."""

    @contextmanager
    def _watching_recomputations(self):
        """Record the exact recomputations (``_recompute``) run inside: the
        mock's calls."""
        History = type(self.env["consumer.preference.history"])
        with patch.object(
            History, "_recompute", autospec=True, side_effect=History._recompute
        ) as recompute:
            yield recompute

    def _post_coffee_invoices(self, quantity, invoice_dates):
        """Post, as the accountant, an invoice of ``quantity`` coffees at
        8.0 on each of ``invoice_dates``; return them in that order."""
        return [
            self._post_customer_invoice(
                self.customer, [(self.coffee, quantity, 8.0)], invoice_date=invoice_date
            )
            for invoice_date in invoice_dates
        ]

    def _post_as_accountant(self, move, invoice_date=None):
        if invoice_date:
            with Form(move.with_user(self.accountant)) as move_form:
                move_form.invoice_date = invoice_date
        move.with_user(self.accountant).action_post()

    def _post_partial_reversal(self, invoice, quantity):
        """Post, as the accountant, a credit note reversing ``invoice`` (the
        reversal wizard's) for ``quantity`` of its first line; return it."""
        refund = self._reverse(invoice)[0]
        with Form(refund.with_user(self.accountant)) as refund_form:
            with refund_form.invoice_line_ids.edit(0) as line:
                line.quantity = quantity
        self._post_as_accountant(refund)
        return refund

    def test_an_invoice_reversed_and_invoiced_again_is_one_purchase(self):
        invoice = self._post_customer_invoice(
            self.customer, [(self.coffee, 4, 8.0)], invoice_date="2026-03-02"
        )
        refund, corrected = self._reverse(
            invoice, modify=True, reversal_date=date(2026, 3, 5)
        )
        self.assertEqual(refund.state, "posted")
        self._post_as_accountant(corrected, invoice_date=date(2026, 3, 5))
        history = self._history(self.customer, self.coffee)
        expected = {
            "invoice_count": 2,
            "refund_count": 1,
            "quantity": 4.0,
            "purchase_count": 1,
            "first_purchase_date": date(2026, 3, 5),
            "last_purchase_date": date(2026, 3, 5),
            "average_quantity": 4.0,
            "next_expected_date": False,
        }
        self.assertRecordValues(history, [expected])
        with freeze_time("2026-06-01"):
            history.invalidate_recordset(["is_due_for_reorder"])
            self.assertFalse(history.is_due_for_reorder)
        # The rebuild (the manager's, the install's backfill) agrees.
        self.env["consumer.preference.history"]._rebuild(partners=self.customer)
        self.env.invalidate_all()
        self.assertRecordValues(history, [expected])

        # The next purchase gives the rhythm: thirty days after the corrected
        # invoice, not the reversed one's.
        self._post_customer_invoice(
            self.customer, [(self.coffee, 4, 8.0)], invoice_date="2026-04-04"
        )
        self.assertRecordValues(
            history,
            [
                {
                    "invoice_count": 3,
                    "purchase_count": 2,
                    "average_quantity": 4.0,
                    "next_expected_date": date(2026, 5, 4),
                }
            ],
        )

    def test_invoices_of_one_day_are_one_purchase(self):
        self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0)], invoice_date="2026-03-02"
        )
        self._post_customer_invoice(
            self.customer, [(self.coffee, 3, 8.0)], invoice_date="2026-03-02"
        )
        history = self._history(self.customer, self.coffee)
        self.assertRecordValues(
            history,
            [
                {
                    "invoice_count": 2,
                    "purchase_count": 1,
                    "average_quantity": 5.0,
                    "next_expected_date": False,
                }
            ],
        )
        self._post_customer_invoice(
            self.customer, [(self.coffee, 5, 8.0)], invoice_date="2026-04-01"
        )
        self.assertRecordValues(
            history,
            [
                {
                    "invoice_count": 3,
                    "purchase_count": 2,
                    "average_quantity": 5.0,
                    "next_expected_date": date(2026, 5, 1),
                }
            ],
        )

    def test_a_partial_reversal_keeps_the_purchase(self):
        invoice = self._post_customer_invoice(
            self.customer, [(self.coffee, 10, 8.0)], invoice_date="2026-03-02"
        )
        self._post_partial_reversal(invoice, 3)
        self.assertRecordValues(
            self._history(self.customer, self.coffee),
            [
                {
                    "refund_count": 1,
                    "quantity": 7.0,
                    "purchase_count": 1,
                    "first_purchase_date": date(2026, 3, 2),
                }
            ],
        )

    def test_an_invoice_reversed_in_full_is_no_purchase_even_posted_again(self):
        """Reset to draft after its reversal was posted, and posted again, an
        invoice is still credited in full: no purchase."""
        self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0)], invoice_date="2026-02-01"
        )
        invoice = self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0)], invoice_date="2026-03-02"
        )
        refund, _corrected = self._reverse(invoice)
        self._post_as_accountant(refund)
        history = self._history(self.customer, self.coffee)
        expected = {
            "invoice_count": 2,
            "refund_count": 1,
            "quantity": 2.0,
            "purchase_count": 1,
            "last_purchase_date": date(2026, 2, 1),
            "next_expected_date": False,
        }
        self.assertRecordValues(history, [expected])
        invoice.with_user(self.accountant).button_draft()
        self.assertRecordValues(
            history, [{"invoice_count": 1, "quantity": 0.0, "purchase_count": 1}]
        )
        invoice.with_user(self.accountant).action_post()
        self.assertRecordValues(history, [expected])

    def test_an_invoice_cancelling_a_return_is_no_purchase(self):
        """A return reversed with the wizard (the return cancelled) gives an
        invoice: the goods were bought once, on the first invoice's day."""
        self._post_customer_invoice(
            self.customer, [(self.coffee, 4, 8.0)], invoice_date="2026-03-01"
        )
        refund = self._post_customer_invoice(
            self.customer,
            [(self.coffee, 4, 8.0)],
            move_type="out_refund",
            invoice_date="2026-03-10",
        )
        cancelling, _corrected = self._reverse(refund, reversal_date=date(2026, 3, 12))
        self.assertEqual(cancelling.move_type, "out_invoice")
        self._post_as_accountant(cancelling, invoice_date=date(2026, 3, 12))
        self.assertRecordValues(
            self._history(self.customer, self.coffee),
            [
                {
                    "invoice_count": 2,
                    "refund_count": 1,
                    "quantity": 4.0,
                    "purchase_count": 1,
                    "last_purchase_date": date(2026, 3, 1),
                    "next_expected_date": False,
                }
            ],
        )

    def test_a_cancelled_reversal_gives_the_purchase_back(self):
        """The credit note reversing an invoice, reversed in its turn (the
        reversal cancelled): the invoice is a purchase again, and an invoice
        dated back to its day finds that purchase."""
        invoice = self._post_coffee_invoices(
            4, ["2026-02-01", "2026-04-01", "2026-03-01"]
        )[-1]
        history = self._history(self.customer, self.coffee)
        self.assertEqual(history.purchase_count, 3)
        reversal, _corrected = self._reverse(invoice)
        self._post_as_accountant(reversal)
        self.assertEqual(history.purchase_count, 2)
        reversal_cancelled, _corrected = self._reverse(
            reversal, reversal_date=date(2026, 3, 12)
        )
        self.assertEqual(reversal_cancelled.move_type, "out_invoice")
        self._post_as_accountant(reversal_cancelled)
        self.assertRecordValues(
            history,
            [{"invoice_count": 4, "quantity": 12.0, "purchase_count": 3}],
        )
        self._post_customer_invoice(
            self.customer, [(self.coffee, 4, 8.0)], invoice_date="2026-03-01"
        )
        self.assertRecordValues(
            history,
            [
                {
                    "invoice_count": 5,
                    "purchase_count": 3,
                    "average_quantity": 16.0 / 3,
                    "next_expected_date": date(2026, 5, 1),
                }
            ],
        )

    def test_reversals_are_followed_at_any_depth(self):
        """A return cancelled (an invoice reversing the credit note), then
        that cancellation reversed in its turn (a credit note reversing that
        invoice), and so on: the invoice is a purchase exactly while the
        posted reversals leave it something, each counted while every
        reversal between it and the invoice is posted; posting, resetting
        and posting again any of them agree with the rebuild."""
        invoice = self._post_coffee_invoices(
            4, ["2026-02-01", "2026-04-01", "2026-03-01"]
        )[-1]
        history = self._history(self.customer, self.coffee)
        reversals = []
        move = invoice
        # credit note, invoice, credit note, invoice
        for purchase_count in (2, 3, 2, 3):
            move = self._reverse(move, reversal_date=date(2026, 3, 12))[0]
            self._post_as_accountant(move)
            reversals.append(move)
            self.assertEqual(history.purchase_count, purchase_count, move.move_type)
            self._assert_as_rebuilt(history)
        self.assertEqual(
            [move.move_type for move in reversals],
            ["out_refund", "out_invoice", "out_refund", "out_invoice"],
        )
        self.assertEqual(history.quantity, 12.0)
        # the third reversal (a credit note) reset: the fourth no longer
        # counts either, the second gives the invoice back
        third = reversals[2].with_user(self.accountant)
        third.button_draft()
        self.assertEqual(history.purchase_count, 3)
        self._assert_as_rebuilt(history)
        self._post_as_accountant(third)
        self.assertEqual(history.purchase_count, 3)
        self._assert_as_rebuilt(history)
        # the fourth reset: the third takes the purchase back
        fourth = reversals[3].with_user(self.accountant)
        fourth.button_draft()
        self.assertRecordValues(
            history,
            [
                {
                    "purchase_count": 2,
                    "first_purchase_date": date(2026, 2, 1),
                    "last_purchase_date": date(2026, 4, 1),
                }
            ],
        )
        self._assert_as_rebuilt(history)
        fourth.button_cancel()
        self.assertEqual(history.purchase_count, 2)
        self._assert_as_rebuilt(history)

    def test_an_invoice_posted_with_its_full_reversal_is_no_purchase(self):
        """An invoice reset to draft while the credit note reversing it in
        full waits in draft, then both posted together (one click on the
        list): the invoice is no purchase."""
        self._post_coffee_invoices(4, ["2026-03-01"])
        invoice = self._post_customer_invoice(
            self.customer, [(self.coffee, 4, 8.0)], invoice_date="2026-03-05"
        )
        credit_note = self._reverse(invoice, reversal_date=date(2026, 3, 7))[0]
        self.assertEqual(credit_note.state, "draft")
        invoice.with_user(self.accountant).button_draft()
        (invoice | credit_note).with_user(self.accountant).action_post()
        history = self._history(self.customer, self.coffee)
        self.assertRecordValues(
            history,
            [
                {
                    "invoice_count": 2,
                    "refund_count": 1,
                    "quantity": 4.0,
                    "purchase_count": 1,
                    "last_purchase_date": date(2026, 3, 1),
                }
            ],
        )
        self._assert_as_rebuilt(history)

    def test_invoices_of_several_days_among_the_purchases(self):
        """Invoices of two days between the first and last purchases, posted
        together: two more purchases (the key is recomputed)."""
        for invoice_date in ("2026-03-01", "2026-03-31"):
            self._post_customer_invoice(
                self.customer, [(self.coffee, 1, 8.0)], invoice_date=invoice_date
            )
        invoices = self._create_customer_invoice(
            self.customer, [(self.coffee, 1, 8.0)], invoice_date="2026-03-10"
        ) | self._create_customer_invoice(
            self.customer, [(self.coffee, 1, 8.0)], invoice_date="2026-03-20"
        )
        invoices.with_user(self.accountant).action_post()
        self.assertRecordValues(
            self._history(self.customer, self.coffee),
            [
                {
                    "invoice_count": 4,
                    "purchase_count": 4,
                    "next_expected_date": date(2026, 4, 10),
                }
            ],
        )

    def test_reversals_in_another_unit_credit_an_invoice_in_full(self):
        """Two credit notes reversing one invoice of 12 Units, one of half a
        Dozen and one of 6 Units: credited in full, no purchase left that
        day."""
        self._post_customer_invoice(
            self.customer, [(self.coffee, 1, 8.0)], invoice_date="2026-02-01"
        )
        invoice = self._post_customer_invoice(
            self.customer, [(self.coffee, 12, 8.0)], invoice_date="2026-03-01"
        )
        history = self._history(self.customer, self.coffee)
        self.assertEqual(history.purchase_count, 2)
        dozen = self.env.ref("uom.product_uom_dozen")
        for uom, quantity in ((dozen, 0.5), (self.coffee.uom_id, 6)):
            refund, _corrected = self._reverse(invoice)
            with Form(refund.with_user(self.accountant)) as refund_form:
                with refund_form.invoice_line_ids.edit(0) as line:
                    line.product_uom_id = uom
                    line.quantity = quantity
            self._post_as_accountant(refund)
            if uom == dozen:
                self.assertEqual(history.purchase_count, 2, "half credited")
        self.assertRecordValues(
            history,
            [
                {
                    "quantity": 1.0,
                    "purchase_count": 1,
                    "last_purchase_date": date(2026, 2, 1),
                }
            ],
        )

    def test_a_purchase_dated_between_known_ones(self):
        """A backdated invoice falls between the first and last purchases:
        on a new day it is one more purchase, on a day already counted none."""
        for invoice_date in ("2026-03-01", "2026-03-31"):
            self._post_customer_invoice(
                self.customer, [(self.coffee, 1, 8.0)], invoice_date=invoice_date
            )
        history = self._history(self.customer, self.coffee)
        self._post_customer_invoice(
            self.customer, [(self.coffee, 1, 8.0)], invoice_date="2026-03-16"
        )
        self.assertRecordValues(
            history,
            [
                {
                    "invoice_count": 3,
                    "purchase_count": 3,
                    "next_expected_date": date(2026, 4, 15),
                }
            ],
        )
        for invoice_date in ("2026-03-16", "2026-03-01"):
            self._post_customer_invoice(
                self.customer, [(self.coffee, 1, 8.0)], invoice_date=invoice_date
            )
        self.assertRecordValues(
            history,
            [
                {
                    "invoice_count": 5,
                    "purchase_count": 3,
                    "average_quantity": 5 / 3,
                    "next_expected_date": date(2026, 4, 15),
                }
            ],
        )
        # A day whose only invoice was reversed in full has no purchase: an
        # invoice dated back to it adds one.
        reversed_invoice = self._post_customer_invoice(
            self.customer, [(self.coffee, 1, 8.0)], invoice_date="2026-03-06"
        )
        self.assertEqual(history.purchase_count, 4)
        refund, _corrected = self._reverse(reversed_invoice)
        self._post_as_accountant(refund)
        self.assertEqual(history.purchase_count, 3)
        # Added to the line, as any posting: not recomputed from the key's past.
        with self._watching_recomputations() as recompute:
            self._post_customer_invoice(
                self.customer, [(self.coffee, 1, 8.0)], invoice_date="2026-03-06"
            )
        recompute.assert_not_called()
        self.assertRecordValues(
            history,
            [{"invoice_count": 7, "purchase_count": 4, "quantity": 6.0}],
        )

    def test_reversals_are_counted_without_reading_the_keys_past(self):
        """A reversal of a key's last, first, middle or only purchase, and
        the cancellation of a reversal, are counted on the key's line as they
        are posted: the nearest other purchase takes the place of a first or
        last one. The key is not recomputed from its past (the reversal is
        posted inside the journal's numbering); the rebuild agrees."""
        invoices = {
            invoice_date: self._post_customer_invoice(
                self.customer, [(self.coffee, 2, 8.0)], invoice_date=invoice_date
            )
            for invoice_date in (
                "2026-03-01",
                "2026-03-11",
                "2026-03-21",
                "2026-03-31",
                "2026-04-10",
            )
        }
        # Tea: one purchase, of two invoices on one day.
        tea_invoices = [
            self._post_customer_invoice(
                self.customer, [(self.tea, 1, 5.0)], invoice_date="2026-03-05"
            )
            for _invoice in range(2)
        ]
        history = self._history(self.customer, self.coffee)
        tea_history = self._history(self.customer, self.tea)
        with self._watching_recomputations() as recompute:
            last_reversal, _corrected = self._reverse(invoices["2026-04-10"])
            self._post_as_accountant(last_reversal)
            self.assertRecordValues(
                history,
                [
                    {
                        "purchase_count": 4,
                        "first_purchase_date": date(2026, 3, 1),
                        "last_purchase_date": date(2026, 3, 31),
                        "average_quantity": 2.0,
                        "next_expected_date": date(2026, 4, 10),
                    }
                ],
            )
            # Reverse and Create Invoice: the wizard posts the reversal.
            _first_reversal, corrected = self._reverse(
                invoices["2026-03-01"], modify=True
            )
            self.assertEqual(corrected.state, "draft")
            self.assertRecordValues(
                history,
                [
                    {
                        "purchase_count": 3,
                        "first_purchase_date": date(2026, 3, 11),
                        "last_purchase_date": date(2026, 3, 31),
                        "next_expected_date": date(2026, 4, 10),
                    }
                ],
            )
            middle_reversal, _corrected = self._reverse(invoices["2026-03-21"])
            self._post_as_accountant(middle_reversal)
            self.assertRecordValues(
                history,
                [
                    {
                        "purchase_count": 2,
                        "first_purchase_date": date(2026, 3, 11),
                        "last_purchase_date": date(2026, 3, 31),
                        "next_expected_date": date(2026, 4, 20),
                    }
                ],
            )
            # The last reversal cancelled: its invoice is a purchase again.
            cancelling, _corrected = self._reverse(
                last_reversal, reversal_date=date(2026, 4, 15)
            )
            self._post_as_accountant(cancelling)
            self.assertRecordValues(
                history,
                [
                    {
                        "invoice_count": 6,
                        "refund_count": 3,
                        "quantity": 6.0,
                        "purchase_count": 3,
                        "first_purchase_date": date(2026, 3, 11),
                        "last_purchase_date": date(2026, 4, 10),
                        "average_quantity": 2.0,
                        "next_expected_date": date(2026, 4, 25),
                    }
                ],
            )
            # The first purchase lost again: the next purchase is read past
            # the day whose invoice was credited in full (03-21).
            second_first_reversal, _corrected = self._reverse(invoices["2026-03-11"])
            self._post_as_accountant(second_first_reversal)
            self.assertRecordValues(
                history,
                [
                    {
                        "purchase_count": 2,
                        "first_purchase_date": date(2026, 3, 31),
                        "last_purchase_date": date(2026, 4, 10),
                        "next_expected_date": date(2026, 4, 20),
                    }
                ],
            )
            # The day keeps its purchase while another invoice of it is one.
            tea_reversal, _corrected = self._reverse(tea_invoices[0])
            self._post_as_accountant(tea_reversal)
            self.assertRecordValues(
                tea_history,
                [{"quantity": 1.0, "purchase_count": 1}],
            )
            only_reversal, _corrected = self._reverse(tea_invoices[1])
            self._post_as_accountant(only_reversal)
            self.assertRecordValues(
                tea_history,
                [
                    {
                        "quantity": 0.0,
                        "purchase_count": 0,
                        "first_purchase_date": False,
                        "last_purchase_date": False,
                        "next_expected_date": False,
                    }
                ],
            )
        recompute.assert_not_called()
        fields = [
            "invoice_count",
            "refund_count",
            "quantity",
            "purchase_count",
            "first_purchase_date",
            "last_purchase_date",
            "average_quantity",
            "next_expected_date",
        ]
        counted = (history | tea_history).read(fields)
        self.env["consumer.preference.history"]._rebuild(partners=self.customer)
        self.env.invalidate_all()
        self.assertEqual((history | tea_history).read(fields), counted)

    def test_reversals_recomputed_when_they_cannot_be_counted(self):
        """Reversals of invoices of two days posted together, or a reversal
        posted with an invoice of the same product: the key is recomputed,
        exactly as the rebuild counts it. Posted with an invoice of another
        product, a reversal is counted all the same."""
        invoices = self._post_coffee_invoices(
            2, ("2026-03-01", "2026-03-11", "2026-03-21")
        )
        history = self._history(self.customer, self.coffee)
        with self._watching_recomputations() as recompute:
            reversals = self._reverse(invoices[1])[0] | self._reverse(invoices[2])[0]
            reversals.with_user(self.accountant).action_post()
            self.assertEqual(recompute.call_count, 1)
            self.assertRecordValues(
                history,
                [
                    {
                        "refund_count": 2,
                        "quantity": 2.0,
                        "purchase_count": 1,
                        "first_purchase_date": date(2026, 3, 1),
                        "last_purchase_date": date(2026, 3, 1),
                    }
                ],
            )
            reversal = self._reverse(invoices[0])[0]
            invoice = self._create_customer_invoice(
                self.customer, [(self.coffee, 1, 8.0)], invoice_date="2026-04-01"
            )
            (reversal | invoice).with_user(self.accountant).action_post()
            self.assertEqual(recompute.call_count, 2)
            tea_invoice = self._post_customer_invoice(
                self.customer, [(self.tea, 1, 5.0)], invoice_date="2026-03-05"
            )
            tea_reversal = self._reverse(tea_invoice)[0]
            coffee_invoice = self._create_customer_invoice(
                self.customer, [(self.coffee, 1, 8.0)], invoice_date="2026-04-11"
            )
            (tea_reversal | coffee_invoice).with_user(self.accountant).action_post()
            self.assertEqual(recompute.call_count, 2)
        tea_history = self._history(self.customer, self.tea)
        self.assertRecordValues(
            tea_history,
            [{"quantity": 0.0, "purchase_count": 0, "last_purchase_date": False}],
        )
        expected = {
            "purchase_count": 2,
            "first_purchase_date": date(2026, 4, 1),
            "quantity": 2.0,
        }
        self.assertRecordValues(history, [expected])
        self.env["consumer.preference.history"]._rebuild(partners=self.customer)
        self.env.invalidate_all()
        self.assertRecordValues(history, [expected])

    def _assert_no_key_recomputed(self, recompute):
        """No key was recomputed exactly under ``_watching_recomputations``
        (``recompute``): the rebuilds compared with are not keys'."""
        self.assertFalse(
            [call for call in recompute.call_args_list if call.kwargs.get("keys")]
        )

    def _assert_as_rebuilt(self, lines):
        """``lines`` hold what the rebuild computes from the posted invoices
        (rebuilt in a savepoint, rolled back)."""
        fields = list(STATISTICS_FIELDS)
        counted = lines.read(fields)
        with self.env.cr.savepoint() as savepoint:
            self.env["consumer.preference.history"]._rebuild(partners=self.customer)
            self.env.invalidate_all()
            rebuilt = lines.read(fields)
            savepoint.rollback()
        self.env.invalidate_all()
        self.assertEqual(counted, rebuilt)

    def test_resets_and_cancellations_are_counted_without_recomputing_the_keys(
        self,
    ):
        """Reset to Draft and Cancel take the invoice (or credit note) from
        its keys' lines before Odoo writes it: counts and sums go down; the
        last unit price and the first and last invoice dates fall back to the
        nearest other invoice; a purchase day lost gives way to the nearest
        other purchase, a day that another invoice buys on stays one. No key
        is recomputed from its past; the rebuild agrees."""
        invoices = {
            invoice_date: self._post_customer_invoice(
                self.customer, [(self.coffee, 2, price)], invoice_date=invoice_date
            )
            for invoice_date, price in (
                ("2026-03-01", 8.0),
                ("2026-03-11", 9.0),
                ("2026-03-21", 10.0),
                ("2026-03-31", 11.0),
            )
        }
        # A second invoice on 03-21, the key's last line after 03-31's.
        self._post_customer_invoice(
            self.customer,
            [(self.coffee, 1, 10.5), (self.tea, 1, 5.0)],
            invoice_date="2026-03-21",
        )
        refund = self._post_customer_invoice(
            self.customer,
            [(self.coffee, 1, 8.0)],
            move_type="out_refund",
            invoice_date="2026-03-25",
        )
        history = self._history(self.customer, self.coffee)
        self.assertRecordValues(
            history,
            [
                {
                    "invoice_count": 5,
                    "quantity": 8.0,
                    "last_invoice_date": date(2026, 3, 31),
                    "last_price_unit": 11.0,
                    "purchase_count": 4,
                }
            ],
        )
        with self._watching_recomputations() as recompute:
            invoices["2026-03-31"].with_user(self.accountant).button_draft()
            self._assert_as_rebuilt(history)
            self.assertRecordValues(
                history,
                [
                    {
                        "invoice_count": 4,
                        "refund_count": 1,
                        "quantity": 6.0,
                        "amount": 2 * 8.0 + 2 * 9.0 + 2 * 10.0 + 10.5 - 8.0,
                        "first_invoice_date": date(2026, 3, 1),
                        "last_invoice_date": date(2026, 3, 21),
                        "last_price_unit": 10.5,
                        "purchase_count": 3,
                        "first_purchase_date": date(2026, 3, 1),
                        "last_purchase_date": date(2026, 3, 21),
                        "average_quantity": 2.0,
                        "next_expected_date": date(2026, 3, 31),
                    }
                ],
            )
            # Cancel on a posted invoice: Odoo resets it to draft first.
            invoices["2026-03-01"].with_user(self.accountant).button_cancel()
            self.assertEqual(invoices["2026-03-01"].state, "cancel")
            self._assert_as_rebuilt(history)
            self.assertRecordValues(
                history,
                [
                    {
                        "invoice_count": 3,
                        "quantity": 4.0,
                        "first_invoice_date": date(2026, 3, 11),
                        "purchase_count": 2,
                        "first_purchase_date": date(2026, 3, 11),
                        "last_purchase_date": date(2026, 3, 21),
                        "next_expected_date": date(2026, 3, 31),
                    }
                ],
            )
            # 03-21 stays a purchase: the second invoice of that day buys too.
            invoices["2026-03-21"].with_user(self.accountant).button_draft()
            refund.with_user(self.accountant).button_draft()
            self._assert_as_rebuilt(history)
            self.assertRecordValues(
                history,
                [
                    {
                        "invoice_count": 2,
                        "refund_count": 0,
                        "quantity": 3.0,
                        "amount": 2 * 9.0 + 10.5,
                        "last_invoice_date": date(2026, 3, 21),
                        "last_price_unit": 10.5,
                        "purchase_count": 2,
                        "first_purchase_date": date(2026, 3, 11),
                        "last_purchase_date": date(2026, 3, 21),
                        "average_quantity": 1.5,
                    }
                ],
            )
            # Posted again, they count again.
            invoices["2026-03-31"].with_user(self.accountant).action_post()
            self.assertRecordValues(
                history,
                [{"invoice_count": 3, "last_price_unit": 11.0, "purchase_count": 3}],
            )
            self._assert_as_rebuilt(history)
        self._assert_no_key_recomputed(recompute)

    def test_resets_of_a_day_and_of_reversed_invoices_are_counted(self):
        """Invoices of one day reset together; an invoice a reversal credits
        in part (a purchase) or in full (none) reset; a key's last purchase
        reset while a credited invoice keeps its line: all counted, not
        recomputed, as the rebuild computes them."""
        march = self._post_coffee_invoices(
            4, ("2026-03-01", "2026-03-11", "2026-03-11")
        )
        partly_credited = self._post_customer_invoice(
            self.customer, [(self.coffee, 4, 8.0)], invoice_date="2026-03-21"
        )
        self._post_partial_reversal(partly_credited, 1)
        # Tea: a purchase, then an invoice credited in full.
        tea_purchase = self._post_customer_invoice(
            self.customer, [(self.tea, 1, 5.0)], invoice_date="2026-03-02"
        )
        tea_credited = self._post_customer_invoice(
            self.customer, [(self.tea, 1, 5.0)], invoice_date="2026-03-12"
        )
        self._post_as_accountant(self._reverse(tea_credited)[0])
        history = self._history(self.customer, self.coffee)
        tea_history = self._history(self.customer, self.tea)
        self.assertRecordValues(
            history | tea_history,
            [
                {"purchase_count": 3, "last_purchase_date": date(2026, 3, 21)},
                {"purchase_count": 1, "last_purchase_date": date(2026, 3, 2)},
            ],
        )
        with self._watching_recomputations() as recompute:
            (march[1] | march[2]).with_user(self.accountant).button_draft()
            self.assertRecordValues(
                history,
                [
                    {
                        "invoice_count": 2,
                        "quantity": 7.0,
                        "purchase_count": 2,
                        "first_purchase_date": date(2026, 3, 1),
                        "last_purchase_date": date(2026, 3, 21),
                    }
                ],
            )
            self._assert_as_rebuilt(history)
            partly_credited.with_user(self.accountant).button_draft()
            self.assertRecordValues(
                history,
                [
                    {
                        "invoice_count": 1,
                        "refund_count": 1,
                        "quantity": 3.0,
                        "purchase_count": 1,
                        "first_purchase_date": date(2026, 3, 1),
                        "last_purchase_date": date(2026, 3, 1),
                        "last_invoice_date": date(2026, 3, 1),
                        "next_expected_date": False,
                    }
                ],
            )
            self._assert_as_rebuilt(history)
            tea_purchase.with_user(self.accountant).button_draft()
            self.assertRecordValues(
                tea_history,
                [
                    {
                        "invoice_count": 1,
                        "quantity": 0.0,
                        "purchase_count": 0,
                        "first_purchase_date": False,
                        "last_purchase_date": False,
                        "last_invoice_date": date(2026, 3, 12),
                    }
                ],
            )
            self._assert_as_rebuilt(tea_history)
        self._assert_no_key_recomputed(recompute)

    def test_reversal_resets_are_counted_without_recomputing_the_keys(self):
        """A credit note crediting a purchase in full, reset to draft or
        cancelled, gives the invoice its purchase back (the key's last or
        first); a partial one, its quantity only; an invoice cancelling such
        a credit note, reset, credits the invoice again (the nearest
        purchase before it becomes the last). All counted before Odoo writes
        them, as the rebuild computes them, no key recomputed."""
        invoices = self._post_coffee_invoices(
            2, ("2026-03-01", "2026-03-11", "2026-03-21")
        )
        history = self._history(self.customer, self.coffee)
        last_reversal = self._reverse(invoices[2])[0]
        self._post_as_accountant(last_reversal)
        first_reversal = self._reverse(invoices[0])[0]
        self._post_as_accountant(first_reversal)
        partial = self._post_partial_reversal(invoices[1], 1)
        self.assertRecordValues(
            history,
            [
                {
                    "refund_count": 3,
                    "quantity": 1.0,
                    "purchase_count": 1,
                    "first_purchase_date": date(2026, 3, 11),
                    "last_purchase_date": date(2026, 3, 11),
                }
            ],
        )
        with self._watching_recomputations() as recompute:
            last_reversal.with_user(self.accountant).button_draft()
            self.assertRecordValues(
                history,
                [
                    {
                        "refund_count": 2,
                        "quantity": 3.0,
                        "purchase_count": 2,
                        "first_purchase_date": date(2026, 3, 11),
                        "last_purchase_date": date(2026, 3, 21),
                        "next_expected_date": date(2026, 3, 31),
                    }
                ],
            )
            self._assert_as_rebuilt(history)
            first_reversal.with_user(self.accountant).button_cancel()
            self.assertEqual(first_reversal.state, "cancel")
            self.assertRecordValues(
                history,
                [
                    {
                        "refund_count": 1,
                        "quantity": 5.0,
                        "purchase_count": 3,
                        "first_purchase_date": date(2026, 3, 1),
                        "last_purchase_date": date(2026, 3, 21),
                    }
                ],
            )
            self._assert_as_rebuilt(history)
            partial.with_user(self.accountant).button_draft()
            self.assertRecordValues(
                history,
                [{"refund_count": 0, "quantity": 6.0, "purchase_count": 3}],
            )
            self._assert_as_rebuilt(history)
        self._assert_no_key_recomputed(recompute)
        # The last purchase credited again, then that credit note cancelled
        # by an invoice: resetting that invoice credits the purchase again.
        self._post_as_accountant(last_reversal)
        cancelling = self._reverse(last_reversal, reversal_date=date(2026, 3, 25))[0]
        self.assertEqual(cancelling.move_type, "out_invoice")
        self._post_as_accountant(cancelling)
        self.assertRecordValues(
            history,
            [{"invoice_count": 4, "purchase_count": 3, "quantity": 6.0}],
        )
        credited_again = {
            "invoice_count": 3,
            "refund_count": 1,
            "quantity": 4.0,
            "purchase_count": 2,
            "first_purchase_date": date(2026, 3, 1),
            "last_purchase_date": date(2026, 3, 11),
            "last_invoice_date": date(2026, 3, 21),
        }
        with self._watching_recomputations() as recompute:
            cancelling.with_user(self.accountant).button_draft()
            self.assertRecordValues(history, [credited_again])
            self._assert_as_rebuilt(history)
            # Dated the day of the invoice it gives back: that day's
            # purchase is lost once, not by the invoice and its reversal
            # both.
            self._post_as_accountant(cancelling, invoice_date=date(2026, 3, 21))
            self.assertRecordValues(
                history,
                [{"purchase_count": 3, "last_purchase_date": date(2026, 3, 21)}],
            )
            cancelling.with_user(self.accountant).button_draft()
            self.assertRecordValues(history, [credited_again])
            self._assert_as_rebuilt(history)
            # Two credit notes crediting the 11th in full between them,
            # reset together: its purchase back.
            halves = [self._post_partial_reversal(invoices[1], 1) for _half in range(2)]
            self.assertRecordValues(
                history,
                [{"purchase_count": 1, "last_purchase_date": date(2026, 3, 1)}],
            )
            (halves[0] | halves[1]).with_user(self.accountant).button_draft()
            self.assertRecordValues(history, [credited_again])
            self._assert_as_rebuilt(history)
        self._assert_no_key_recomputed(recompute)

    def test_resets_recomputed_when_they_cannot_be_counted(self):
        """Credit notes reversing invoices of two days reset together, a
        credit note reset with an invoice of the same product, or invoices of
        two days reset together: the key is recomputed, exactly as the
        rebuild counts it (as all resets were before they were counted). A
        key's only invoice reset: its line is deleted, as the rebuild would,
        without recomputing it."""
        invoices = self._post_coffee_invoices(
            2, ("2026-03-01", "2026-03-11", "2026-03-21", "2026-03-31")
        )
        tea_invoice = self._post_customer_invoice(
            self.customer, [(self.tea, 1, 5.0)], invoice_date="2026-03-05"
        )
        reversals = [self._reverse(invoice)[0] for invoice in invoices[2:]]
        for reversal in reversals:
            self._post_as_accountant(reversal)
        history = self._history(self.customer, self.coffee)
        self.assertRecordValues(
            history, [{"purchase_count": 2, "last_purchase_date": date(2026, 3, 11)}]
        )
        with self._watching_recomputations() as recompute:
            (reversals[0] | reversals[1]).with_user(self.accountant).button_draft()
            self.assertEqual(recompute.call_count, 1)
            self.assertRecordValues(
                history,
                [
                    {
                        "refund_count": 0,
                        "purchase_count": 4,
                        "last_purchase_date": date(2026, 3, 31),
                    }
                ],
            )
            self._post_as_accountant(reversals[1])
            self.assertEqual(recompute.call_count, 1)
            (reversals[1] | invoices[3]).with_user(self.accountant).button_draft()
            self.assertEqual(recompute.call_count, 2)
            self.assertRecordValues(
                history,
                [{"purchase_count": 3, "last_purchase_date": date(2026, 3, 21)}],
            )
            (invoices[0] | invoices[1]).with_user(self.accountant).button_draft()
            self.assertEqual(recompute.call_count, 3)
            tea_invoice.with_user(self.accountant).button_draft()
            self.assertEqual(recompute.call_count, 3)
        self.assertFalse(self._history(self.customer, self.tea))
        expected = {
            "invoice_count": 1,
            "quantity": 2.0,
            "purchase_count": 1,
            "first_purchase_date": date(2026, 3, 21),
            "last_purchase_date": date(2026, 3, 21),
        }
        self.assertRecordValues(history, [expected])
        self.env["consumer.preference.history"]._rebuild(partners=self.customer)
        self.env.invalidate_all()
        self.assertRecordValues(history, [expected])

    def test_an_invoice_posted_and_reset_in_one_transaction_is_taken_away(self):
        """A script that posts an invoice and writes it back to draft in the
        same transaction: the invoice's lines are still posted as the ORM
        knows them, not yet in the database, when the reset judges its day;
        its purchase is taken away all the same."""
        self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0)], invoice_date="2026-03-01"
        )
        invoice = self._create_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0)], invoice_date="2026-03-11"
        )
        invoice.action_post()
        invoice.write({"state": "draft"})
        self.assertRecordValues(
            self._history(self.customer, self.coffee),
            [
                {
                    "invoice_count": 1,
                    "purchase_count": 1,
                    "last_invoice_date": date(2026, 3, 1),
                    "last_purchase_date": date(2026, 3, 1),
                }
            ],
        )

    def test_a_reset_falls_back_to_a_price_in_another_currency_and_unit(self):
        """The last invoice reset, the last unit price falls back to the
        invoice before, converted from its currency and unit as the rebuild
        converts it."""
        euro = self.setup_other_currency("EUR", rates=[("2026-01-01", 2.0)])
        dozen = self.env.ref("uom.product_uom_dozen")
        earlier = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.customer.id,
                "invoice_date": "2026-03-01",
                "currency_id": euro.id,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "product_id": self.coffee.id,
                            "product_uom_id": dozen.id,
                            "quantity": 1,
                            "price_unit": 240.0,
                        }
                    )
                ],
            }
        )
        earlier.with_user(self.accountant).action_post()
        last = self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0)], invoice_date="2026-03-11"
        )
        history = self._history(self.customer, self.coffee)
        self.assertRecordValues(history, [{"last_price_unit": 8.0}])
        with self._watching_recomputations() as recompute:
            last.with_user(self.accountant).button_draft()
        recompute.assert_not_called()
        self.assertRecordValues(
            history,
            [
                {
                    "invoice_count": 1,
                    "quantity": 12.0,
                    "last_invoice_date": date(2026, 3, 1),
                    # 240 EUR a dozen, at 2 EUR for 1: 10 a unit
                    "last_price_unit": 10.0,
                    "purchase_count": 1,
                    "last_purchase_date": date(2026, 3, 1),
                }
            ],
        )
        self._assert_as_rebuilt(history)

    def test_an_invoice_cancelling_a_changed_credit_note_is_counted_again(self):
        """An invoice cancelling a credit note counts against the invoice the
        credit note reverses only while the credit note is posted. Credited
        in full by another credit note, the invoice is a purchase again
        through that cancellation alone; the cancelled credit note changed
        since (reset, another product, posted again) no longer has the
        invoice's product: posting it again, and resetting it, still change
        that product's purchases, which the rebuild agrees with."""
        self._post_customer_invoice(
            self.customer, [(self.coffee, 1, 8.0)], invoice_date="2026-03-20"
        )
        invoice = self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0)], invoice_date="2026-03-01"
        )
        accountant = self.accountant
        self._reverse(invoice)[0].with_user(accountant).action_post()
        credit_note = self._reverse(invoice)[0]
        credit_note.with_user(accountant).action_post()
        cancelling = self._reverse(credit_note, modify=True)[0]
        self.assertEqual(cancelling.state, "posted")
        history = self._history(self.customer, self.coffee)
        self._assert_as_rebuilt(history)
        credit_note.with_user(accountant).button_draft()
        self._assert_as_rebuilt(history)
        credit_note.with_user(accountant).write(
            {
                "invoice_line_ids": [
                    Command.update(
                        credit_note.invoice_line_ids.id, {"product_id": self.tea.id}
                    )
                ]
            }
        )
        credit_note.with_user(accountant).action_post()
        self._assert_as_rebuilt(history)
        credit_note.with_user(accountant).button_draft()
        self._assert_as_rebuilt(history)
