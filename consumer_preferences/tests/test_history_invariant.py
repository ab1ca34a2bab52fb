# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""Randomised check of the history invariant.

A seeded random sequence of real accounting flows (create, post, schedule,
reset to draft, cancel, credit notes from the reversal wizard, hand-made partial
refunds, draft edits, time passing with the auto-post cron) runs over a few
customers, products, units, currencies and two companies. After every step the
history lines must equal what this test derives, in plain Python, from the
posted invoice lines read through the ORM: the rule of issue 4 restated here,
independently of the service.

Reproduce a failure with the seed it prints:
``CONSUMER_PREFERENCES_SEED=<seed> python3 tools/run_tests.py -- -k invariant``.
"""

import os
import random
from collections import Counter, defaultdict
from datetime import date, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.tests import tagged
from odoo.tools import float_compare

from .common import ConsumerPreferenceCommon

HISTORY_MOVE_TYPES = ("out_invoice", "out_refund")
# A seed whose 200 steps do every flow the test requires (many seeds miss
# scheduling, which needs a future-dated invoice posted then time passing).
DEFAULT_SEED = 7
STEP_COUNT = 200
START_DAY = date(2025, 3, 1)


@tagged("post_install", "-at_install")
class TestHistoryInvariant(ConsumerPreferenceCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.euro = cls.setup_other_currency(
            "EUR",
            rates=[
                ("2024-01-01", 1.10),
                ("2025-02-01", 1.25),
                ("2025-05-01", 0.95),
                ("2025-08-01", 1.40),
                ("2025-11-01", 1.05),
            ],
        )
        cls.company_2 = cls.setup_other_company(name="Consumer Preferences Two")[
            "company"
        ]
        cls.accountant.company_ids = [Command.link(cls.company_2.id)]
        cls.private_customer = cls.env["res.partner"].create(
            {"name": "Ivo Private", "is_company": False}
        )
        cls.dozen = cls.env.ref("uom.product_uom_dozen")
        cls.units = cls.env.ref("uom.product_uom_unit")
        cls.companies = cls.company | cls.company_2
        # The contact's invoices must land on its company (cls.customer).
        cls.invoice_partners = (
            cls.customer
            | cls.customer_contact
            | cls.other_customer
            | cls.private_customer
        )
        cls.products = cls.shirt_s | cls.shirt_m | cls.coffee | cls.tea
        # Products sold by the unit or by the dozen (the product unit is Units).
        cls.dozen_products = cls.shirt_m | cls.coffee

    # ------------------------------------------------------------------
    # The test
    # ------------------------------------------------------------------
    def test_random_flows_keep_history_equal_to_posted_invoices(self):
        seed = int(os.environ.get("CONSUMER_PREFERENCES_SEED", DEFAULT_SEED))
        step_count = int(os.environ.get("CONSUMER_PREFERENCES_STEPS", STEP_COUNT))
        randomizer = random.Random(seed)
        self.moves = self.env["account.move"]
        self.flows = Counter()
        journal_log = []
        operations = [
            (self._step_create, 5),
            (self._step_post, 6),
            (self._step_reset_to_draft, 2),
            (self._step_cancel, 2),
            (self._step_reverse_with_wizard, 2),
            (self._step_edit_draft, 1),
            (self._step_edit_posted, 0.7),
            (self._step_let_time_pass, 1),
            (self._step_without_consent, 0.5),
        ]
        steps, weights = zip(*operations, strict=True)
        with freeze_time(START_DAY) as frozen_time:
            self.frozen_time = frozen_time
            for step_number in range(1, step_count + 1):
                step = randomizer.choices(steps, weights)[0]
                try:
                    journal_log.append(f"{step_number}: {step(randomizer)}")
                    self._assert_history_matches_posted_invoices()
                except Exception as error:
                    raise AssertionError(
                        f"History check failed with seed {seed} at step "
                        f"{step_number}/{step_count}. Last steps:\n"
                        + "\n".join(journal_log[-8:])
                        + f"\n{error}"
                    ) from error
        # The sequence did exercise the flows the invariant is about.
        self.assertLessEqual(
            {
                "post out_invoice",
                "post out_refund",
                "schedule",
                "auto-post",
                "reset posted",
                "reset reversal",
                "reset cancel",
                "cancel posted",
                "cancel reversal",
                "cancel draft",
                "refund wizard",
                "modify wizard",
                "consent",
                "edit posted line",
                "link credit note",
                "reverse a cancellation",
            },
            set(self.flows),
            f"seed {seed} missed flows; it did {self.flows}",
        )

    # ------------------------------------------------------------------
    # Steps: each does one real flow and returns what it did
    # ------------------------------------------------------------------
    def _today(self):
        return date.today()

    def _as_accountant(self, moves):
        return moves.with_user(self.accountant).with_company(moves.company_id[:1])

    def _random_line(self, randomizer, product=None, refund=False):
        product = product or randomizer.choice(self.products)
        uom = self.units
        if product in self.dozen_products and randomizer.random() < 0.3:
            uom = self.dozen
        # Invoices sell whole or half units; hand-made refunds return parts.
        quantities = [0.25, 0.5, 1, 2.5] if refund else [1, 1.5, 2, 3, 5, 12]
        return {
            "product_id": product.id,
            "product_uom_id": uom.id,
            "quantity": randomizer.choice(quantities),
            "price_unit": round(randomizer.uniform(1, 120), 2),
        }

    def _step_create(self, randomizer):
        """A draft invoice, or (one time in five) a partial refund by hand."""
        refund = randomizer.random() < 0.2
        partner = randomizer.choice(self.invoice_partners)
        company = self.company_2 if randomizer.random() < 0.15 else self.company
        products = [
            randomizer.choice(self.products) for _ in range(randomizer.randint(1, 3))
        ]
        values = {
            "move_type": "out_refund" if refund else "out_invoice",
            "partner_id": partner.id,
            "invoice_date": self._today() + timedelta(days=randomizer.randint(-90, 15)),
            "invoice_line_ids": [
                Command.create(self._random_line(randomizer, product, refund))
                for product in products
            ],
        }
        if randomizer.random() < 0.3:
            values["currency_id"] = self.euro.id
        move = (
            self.env["account.move"]
            .with_user(self.accountant)
            .with_company(company)
            .create(values)
        )
        self.moves |= move
        return (
            f"create {move.move_type} {move.id} for {partner.name} in "
            f"{company.name} on {move.invoice_date} in {move.currency_id.name}: "
            + ", ".join(
                f"{line.product_id.display_name} {line.quantity} "
                f"{line.product_uom_id.name} at {line.price_unit}"
                for line in move.invoice_line_ids
            )
        )

    def _step_post(self, randomizer):
        """Post a draft: with the button, or scheduled (``_post(soft=True)``),
        which leaves future-dated moves draft until their date."""
        drafts = self.moves.filtered(lambda move: move.state == "draft")
        if not drafts:
            return self._step_create(randomizer)
        move = self._as_accountant(randomizer.choice(drafts))
        scheduled = move.auto_post != "no" and move.date > self._today()
        if scheduled or randomizer.random() < 0.25:
            move._post(soft=True)
            self.flows["schedule" if move.state == "draft" else "soft post"] += 1
            return f"soft post {move.id} dated {move.date}: {move.state}"
        move.action_post()
        self.flows[f"post {move.move_type}"] += 1
        return f"post {move.move_type} {move.id} ({move.name})"

    def _step_reset_to_draft(self, randomizer):
        moves = self.moves.filtered(lambda move: move.state in ("posted", "cancel"))
        if not moves:
            return self._step_post(randomizer)
        move = self._as_accountant(randomizer.choice(moves))
        state = move.state
        if state == "posted" and move.reversed_entry_id:
            self.flows["reset reversal"] += 1
        move.button_draft()
        self.flows[f"reset {state}"] += 1
        return f"reset {state} {move.move_type} {move.id} to draft"

    def _step_cancel(self, randomizer):
        moves = self.moves.filtered(lambda move: move.state in ("posted", "draft"))
        if not moves:
            return self._step_create(randomizer)
        move = self._as_accountant(randomizer.choice(moves))
        state = move.state
        if state == "posted" and move.reversed_entry_id:
            self.flows["cancel reversal"] += 1
        move.button_cancel()
        self.flows[f"cancel {state}"] += 1
        return f"cancel {state} {move.move_type} {move.id}"

    def _step_reverse_with_wizard(self, randomizer):
        """A credit note from the reversal wizard: a draft one to post later,
        or 'reverse and create invoice' which posts it at once; now and then
        a credit note reversed (a return cancelled: an invoice, no purchase),
        and such an invoice reversed in its turn (the return stands)."""
        move_type = "out_refund" if randomizer.random() < 0.25 else "out_invoice"
        invoices = self.moves.filtered(
            lambda move: move.state == "posted" and move.move_type == move_type
        ) or self.moves.filtered(
            lambda move: move.state == "posted" and move.move_type == "out_invoice"
        )
        if not invoices:
            return self._step_post(randomizer)
        # now and then a return cancelled is reversed in its turn: a chain
        cancellations = invoices.filtered("reversed_entry_id")
        if cancellations and randomizer.random() < 0.5:
            invoices = cancellations
        invoice = self._as_accountant(randomizer.choice(invoices))
        wizard = (
            self.env["account.move.reversal"]
            .with_user(self.accountant)
            .with_company(invoice.company_id)
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create(
                {
                    "reason": "Returned goods",
                    "journal_id": invoice.journal_id.id,
                    "date": self._today() - timedelta(days=randomizer.randint(0, 20)),
                }
            )
        )
        modify = randomizer.random() < 0.4
        action = wizard.modify_moves() if modify else wizard.refund_moves()
        self.flows["modify wizard" if modify else "refund wizard"] += 1
        if invoice.reversed_entry_id.reversed_entry_id:
            # a reversal two steps below an invoice reversed in its turn
            self.flows["reverse a cancellation"] += 1
        new_moves = self.env["account.move"].browse(
            [action["res_id"]] if action.get("res_id") else wizard.new_move_ids.ids
        )
        self.moves |= new_moves | invoice.reversal_move_ids
        return (
            f"{'modify' if modify else 'refund'} wizard on {invoice.id}: "
            + ", ".join(
                f"{move.move_type} {move.id} {move.state}"
                for move in new_moves | invoice.reversal_move_ids
            )
        )

    def _step_edit_draft(self, randomizer):
        """Drafts never count, whatever they say before they are posted."""
        drafts = self.moves.filtered(
            lambda move: move.state == "draft" and move.invoice_line_ids
        )
        if not drafts:
            return self._step_create(randomizer)
        move = self._as_accountant(randomizer.choice(drafts))
        line = randomizer.choice(move.invoice_line_ids)
        new_values = self._random_line(
            randomizer, refund=move.move_type == "out_refund"
        )
        values = {"invoice_line_ids": [Command.update(line.id, new_values)]}
        if not move.posted_before and randomizer.random() < 0.3:
            values["partner_id"] = randomizer.choice(self.invoice_partners).id
        if not move.posted_before:
            # A number once given fixes the year: only new drafts change date.
            # The draft of "reverse and create invoice" has no date yet.
            values["invoice_date"] = (move.invoice_date or self._today()) + timedelta(
                days=randomizer.randint(-30, 10)
            )
        move.write(values)
        return f"edit draft {move.id}: {values}"

    def _step_edit_posted(self, randomizer):
        """A script changes a posted invoice in place (Odoo's forms would
        not): a line's product or quantity, or a hand-made credit note linked
        to the invoice it credits. Its keys wait in the queue; the scheduled
        action's work follows."""
        posted = self.moves.filtered(
            lambda move: move.state == "posted" and move.invoice_line_ids
        )
        if not posted:
            return self._step_post(randomizer)
        unlinked_refunds = posted.filtered(
            lambda move: move.move_type == "out_refund" and not move.reversed_entry_id
        )
        if unlinked_refunds and randomizer.random() < 0.4:
            refund = randomizer.choice(unlinked_refunds)
            invoices = posted.filtered(
                lambda move: (
                    move.move_type == "out_invoice"
                    and not move.reversed_entry_id
                    and move.company_id == refund.company_id
                    and move.commercial_partner_id == refund.commercial_partner_id
                )
            )
            if invoices:
                invoice = randomizer.choice(invoices)
                self._as_accountant(refund).write({"reversed_entry_id": invoice.id})
                self._process_history_queue(refund)
                self.flows["link credit note"] += 1
                return f"link credit note {refund.id} to {invoice.id}"
        move = randomizer.choice(posted)
        line = randomizer.choice(move.invoice_line_ids)
        values = {"quantity": randomizer.choice([0.5, 1, 2, 4])}
        if randomizer.random() < 0.5:
            values["product_id"] = randomizer.choice(self.products).id
        self._as_accountant(move).invoice_line_ids.filtered(
            lambda invoice_line: invoice_line == line
        ).write(values)
        self._process_history_queue(move)
        self.flows["edit posted line"] += 1
        return f"edit posted {move.id} line {line.id}: {values}"

    def _process_history_queue(self, move):
        # as the transaction commits (its pre-commit hooks)
        self.env.cr.flush()
        if move.commercial_partner_id.consumer_preference_consent:
            self.assertTrue(
                self.env["consumer.preference.history.queue"].search_count([]),
                "a posted invoice changed in place queues its keys",
            )
        self.env["consumer.preference.history"]._process_queue()

    def _step_without_consent(self, randomizer):
        """While a customer withholds consent nothing is recorded (its lines
        stay as they were); consent given back recounts its invoices."""
        customer = randomizer.choice(self.invoice_partners.commercial_partner_id)
        customer_moves = self.moves.filtered(
            lambda move: move.commercial_partner_id == customer
        )
        history_before = self._history_figures(customer)
        customer.with_user(self.salesperson).consumer_preference_consent = False
        done = []
        for move in randomizer.sample(customer_moves, min(3, len(customer_moves))):
            move = self._as_accountant(move)
            if move.state == "draft" and move.auto_post == "no":
                move.action_post()
                done.append(f"post {move.id}")
            elif move.state == "posted":
                move.button_draft()
                done.append(f"reset {move.id}")
        self.assertEqual(
            self._history_figures(customer),
            history_before,
            f"history of {customer.name} changed without consent after {done}",
        )
        customer.with_user(self.salesperson).consumer_preference_consent = True
        self.flows["consent"] += 1
        return f"without consent of {customer.name}: {done}, consent given back"

    def _history_figures(self, customer):
        self.env.invalidate_all()
        return {
            line.id: (
                line.product_id.id,
                line.invoice_count,
                line.refund_count,
                line.quantity,
                line.amount,
                line.last_invoice_date,
            )
            for line in self._history(customer)
        }

    def _step_let_time_pass(self, randomizer):
        """Days go by; the auto-post cron posts the scheduled moves now due."""
        self.frozen_time.move_to(
            self._today() + timedelta(days=randomizer.randint(1, 25))
        )
        scheduled = self.moves.filtered(
            lambda move: move.state == "draft" and move.auto_post != "no"
        )
        self.env["account.move"].with_user(self.accountant).with_context(
            allowed_company_ids=self.companies.ids
        )._autopost_draft_entries()
        posted = scheduled.filtered(lambda move: move.state == "posted")
        self.flows["auto-post"] += len(posted)
        return f"today is {self._today()}, cron posted {posted.ids}"

    # ------------------------------------------------------------------
    # The rule of issue 4, restated independently of the service
    # ------------------------------------------------------------------
    def _expected_history(self):
        """{(company, commercial partner, product): statistics} from the lines
        of posted customer invoices and credit notes."""
        lines = self.env["account.move.line"].search(
            [
                ("company_id", "in", self.companies.ids),
                ("move_id.state", "=", "posted"),
                ("move_id.move_type", "in", HISTORY_MOVE_TYPES),
                ("display_type", "=", "product"),
                ("product_id", "!=", False),
            ]
        )
        lines_by_key = defaultdict(list)
        for line in lines:
            move = line.move_id
            key = (
                move.company_id.id,
                move.partner_id.commercial_partner_id.id,
                line.product_id.id,
            )
            lines_by_key[key].append(line)
        expected = {}
        for key, key_lines in lines_by_key.items():
            invoice_lines = [
                line for line in key_lines if line.move_id.move_type == "out_invoice"
            ]
            if not invoice_lines:
                # A credit note alone never creates a line.
                continue
            invoices = {line.move_id for line in invoice_lines}
            refunds = {line.move_id for line in key_lines} - invoices
            product = key_lines[0].product_id

            def signed_quantity(line, product=product):
                return (
                    -1 if line.move_id.move_type == "out_refund" else 1
                ) * line.product_uom_id._compute_quantity(
                    line.quantity, product.uom_id, round=False
                )

            quantity = sum(signed_quantity(line) for line in key_lines)
            invoice_dates = [move.invoice_date for move in invoices]
            last_date = max(invoice_dates)
            # A purchase: a day with an invoice that the credit notes
            # reversing it did not credit in full.
            purchase_dates = set()
            for invoice in invoices:
                if invoice.reversed_entry_id:
                    # it cancels a return: no purchase of its own
                    continue
                # its reversals at any depth, each posted with every one
                # between it and the invoice: the credit notes reversing it,
                # the invoices cancelling those (which give back what they
                # credited), the credit notes reversing these, ...
                tree = self._reversal_tree(invoice)
                tree_lines = [line for line in key_lines if line.move_id in tree]
                net = sum(signed_quantity(line) for line in tree_lines)
                credited = any(
                    line.move_id.move_type == "out_refund" for line in tree_lines
                )
                if not credited or round(net, 6) > 0:
                    purchase_dates.add(invoice.invoice_date)
            expected[key] = {
                "attribute_value_ids": set(
                    product.product_template_attribute_value_ids.product_attribute_value_id.ids
                ),
                "invoice_count": len(invoices),
                "refund_count": len(refunds),
                "quantity": quantity,
                "amount": -sum(line.balance for line in key_lines),
                "first_invoice_date": min(invoice_dates),
                "last_invoice_date": last_date,
                # The last sale's unit price, per product unit and in company
                # currency. Which line is "last" among several on the same
                # day is not specified: any of them is accepted.
                "last_price_units": {
                    line.product_uom_id._compute_price(line.price_unit, product.uom_id)
                    / rate
                    for line in invoice_lines
                    if line.move_id.invoice_date == last_date
                    # at the invoice's rate, or at the line's own (an
                    # invoice reversing a credit note keeps the credit
                    # note's amounts, hence its rate)
                    for rate in {
                        line.move_id.invoice_currency_rate,
                        line.amount_currency / line.balance
                        if line.balance
                        else line.move_id.invoice_currency_rate,
                    }
                },
                "purchase_count": len(purchase_dates),
                "first_purchase_date": min(purchase_dates, default=False),
                "last_purchase_date": max(purchase_dates, default=False),
                "average_quantity": quantity / max(len(purchase_dates), 1),
                "average_interval": len(purchase_dates) > 1
                and (max(purchase_dates) - min(purchase_dates)).days
                / (len(purchase_dates) - 1),
            }
        return expected

    def _reversal_tree(self, invoice):
        """``invoice`` and its posted reversals at any depth, found through
        ``reversed_entry_id`` alone: a credit note reverses an invoice, an
        invoice a credit note."""
        tree = frontier = invoice
        while frontier:
            frontier = (
                self.env["account.move"]
                .search(
                    [
                        ("reversed_entry_id", "in", frontier.ids),
                        ("state", "=", "posted"),
                    ]
                )
                .filtered(
                    lambda move, frontier=frontier: (
                        move.move_type != move.reversed_entry_id.move_type
                        and move.move_type in HISTORY_MOVE_TYPES
                    )
                )
                - tree
            )
            tree |= frontier
        return tree

    def _assert_history_matches_posted_invoices(self):
        self.env.invalidate_all()
        expected = self._expected_history()
        history = (
            self.env["consumer.preference"]
            .with_context(active_test=False)
            .search(
                [
                    ("preference_type", "=", "history"),
                    ("company_id", "in", self.companies.ids),
                ]
            )
        )
        actual = {
            (line.company_id.id, line.partner_id.id, line.product_id.id): line
            for line in history
        }
        self.assertEqual(len(actual), len(history), "two history lines share a key")
        self.assertEqual(
            set(actual),
            set(expected),
            "history keys (company, partner, product) differ from posted "
            f"invoices: missing {set(expected) - set(actual)}, "
            f"extra {set(actual) - set(expected)}",
        )
        for key, line in actual.items():
            statistics = expected[key]
            message = f"history line {line.id} of key {key}"
            self.assertTrue(line.active, message)
            self.assertEqual(
                (
                    set(line.attribute_value_ids.ids),
                    line.product_tmpl_id,
                    line.product_category_id,
                ),
                (
                    statistics["attribute_value_ids"],
                    line.product_id.product_tmpl_id,
                    line.product_id.categ_id,
                ),
                f"{message}: characteristics",
            )
            self.assertEqual(
                (
                    line.invoice_count,
                    line.refund_count,
                    line.first_invoice_date,
                    line.last_invoice_date,
                    line.purchase_count,
                    line.first_purchase_date,
                    line.last_purchase_date,
                ),
                (
                    statistics["invoice_count"],
                    statistics["refund_count"],
                    statistics["first_invoice_date"],
                    statistics["last_invoice_date"],
                    statistics["purchase_count"],
                    statistics["first_purchase_date"],
                    statistics["last_purchase_date"],
                ),
                f"{message}: counts and dates",
            )
            self.assertAlmostEqual(
                line.quantity,
                statistics["quantity"],
                places=6,
                msg=f"{message}: quantity",
            )
            self.assertAlmostEqual(
                line.average_quantity,
                statistics["average_quantity"],
                places=6,
                msg=f"{message}: average quantity",
            )
            self.assertEqual(
                float_compare(line.amount, statistics["amount"], precision_digits=2),
                0,
                f"{message}: amount {line.amount} != {statistics['amount']}",
            )
            # Converting a price at the invoice rate and at the rounded line
            # balance differ by less than a cent with these quantities.
            self.assertTrue(
                any(
                    abs(line.last_price_unit - price) < 0.01
                    for price in statistics["last_price_units"]
                ),
                f"{message}: last unit price {line.last_price_unit}, expected one "
                f"of {statistics['last_price_units']}",
            )
            if statistics["average_interval"] is False:
                self.assertFalse(line.next_expected_date, message)
            else:
                # Last date plus the average interval, to the day.
                offset = (line.next_expected_date - line.last_purchase_date).days
                self.assertLessEqual(
                    abs(offset - statistics["average_interval"]),
                    0.5,
                    f"{message}: next expected {line.next_expected_date}, average "
                    f"interval {statistics['average_interval']} days",
                )
