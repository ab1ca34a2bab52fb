"""End-to-end: workers post and reset invoices for the same customer and
product at the same moment, in real, separate, committed transactions.

Each worker is one RPC call as Odoo's server runs it: its own cursor, wrapped in
``odoo.service.model.retrying``, which rolls back and replays the whole call on
a serialization failure. A barrier makes sure both workers have read (taken
their repeatable-read snapshot) before either writes. No worker may be
replayed because of the history: a key the history cannot write at once is
queued with the invoice, and once the scheduled action has run (through Odoo's
own cron job machinery) there is one line per key, counting every invoice.
The one exception, tested last: a posting whose customer's consent changed
while it ran is replayed once, rather than count the invoice from a consent
that is no longer the customer's.

These tests commit: everything they create carries a unique tag and is
removed at the end.
"""

import logging
import threading
import time
import uuid
from datetime import timedelta
from unittest.mock import patch

from psycopg2 import OperationalError

from odoo import Command, api, fields
from odoo.modules.registry import Registry
from odoo.service.model import retrying
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name

from odoo.addons.consumer_preferences.models import (
    consumer_preference_history as history_module,
)
from odoo.addons.consumer_preferences.models.consumer_preference_history import (
    QUEUE_CRON_XMLID,
)

_logger = logging.getLogger(__name__)

WORKER_TIMEOUT = 60


@tagged("post_install", "-at_install")
class TestHistoryConcurrency(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        cls.tag = uuid.uuid4().hex[:8]
        cls.addClassCleanup(cls._remove_committed_data)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            cls.user_id = env.ref("base.user_admin").id
            company = env.ref("base.user_admin").company_id
            sale_journal = env["account.journal"].search(
                [("company_id", "=", company.id), ("type", "=", "sale")], limit=1
            )
            cls.journal_id = (
                env["account.journal"]
                .create(
                    {
                        "name": f"Concurrency Sales {cls.tag}",
                        "code": f"C{cls.tag[:4]}".upper(),
                        "type": "sale",
                        "company_id": company.id,
                        "default_account_id": sale_journal.default_account_id.id,
                    }
                )
                .id
            )
            cls.customer_id = (
                env["res.partner"]
                .create({"name": f"Concurrency Customer {cls.tag}", "is_company": True})
                .id
            )
            (
                cls.tea_id,
                cls.coffee_id,
                cls.milk_id,
                cls.sugar_id,
                cls.juice_id,
                cls.water_id,
                cls.bread_id,
                cls.honey_id,
                cls.jam_id,
            ) = (
                env["product.product"]
                .create(
                    [
                        {"name": f"Concurrency {name} {cls.tag}", "lst_price": 10.0}
                        for name in (
                            "Tea",
                            "Coffee",
                            "Milk",
                            "Sugar",
                            "Juice",
                            "Water",
                            "Bread",
                            "Honey",
                            "Jam",
                        )
                    ]
                )
                .ids
            )
            cls.company_id = company.id
            cls.pack_id = (
                env["uom.uom"]
                .create(
                    {
                        "name": f"Concurrency Pack {cls.tag}",
                        "category_id": env.ref("uom.product_uom_categ_unit").id,
                        "uom_type": "bigger",
                        "factor_inv": 6,
                    }
                )
                .id
            )

    @classmethod
    def _remove_committed_data(cls):
        """Undo everything the tests committed, in a fresh transaction."""
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            moves = env["account.move"].search(
                [("journal_id", "=", getattr(cls, "journal_id", 0))]
            )
            moves.filtered(lambda move: move.state != "draft").button_draft()
            moves.with_context(force_delete=True).unlink()
            # History lines and queued keys go with their customer (ON DELETE
            # CASCADE).
            env["res.partner"].search(
                [("name", "=like", f"Concurrency % {cls.tag}")]
            ).unlink()
            env["product.template"].with_context(active_test=False).search(
                [("name", "=like", f"Concurrency % {cls.tag}")]
            ).unlink()
            env["account.journal"].search(
                [("name", "=", f"Concurrency Sales {cls.tag}")]
            ).unlink()
            env["uom.uom"].search(
                [("name", "=", f"Concurrency Pack {cls.tag}")]
            ).unlink()
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {"active_test": False})
            left_over = [
                (model, env[model].search_count([("name", "like", cls.tag)]))
                for model in (
                    "res.partner",
                    "product.product",
                    "account.journal",
                    "uom.uom",
                )
            ] + [
                (
                    "consumer.preference",
                    env["consumer.preference"].search_count(
                        [("partner_id.name", "like", cls.tag)]
                    ),
                )
            ]
        if any(count for _model, count in left_over):
            raise AssertionError(f"committed test records left over: {left_over}")

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _commit(self, function):
        """Run ``function(env)`` in its own transaction and commit it."""
        with self.registry.cursor() as cr:
            return function(api.Environment(cr, self.user_id, {}))

    def _create_invoices(self, product_id, lines, post=()):
        """Committed invoices of the customer, ``lines`` being
        (quantity, invoice date); those whose index is in ``post`` are posted."""

        def create(env):
            invoices = env["account.move"].create(
                [
                    {
                        "move_type": "out_invoice",
                        "partner_id": self.customer_id,
                        "journal_id": self.journal_id,
                        "invoice_date": invoice_date,
                        "invoice_line_ids": [
                            Command.create(
                                {
                                    "product_id": product_id,
                                    "quantity": quantity,
                                    "price_unit": 10.0,
                                }
                            )
                        ],
                    }
                    for quantity, invoice_date in lines
                ]
            )
            invoices.browse([invoices.ids[index] for index in post]).action_post()
            return invoices.ids

        return self._commit(create)

    def _post_reversal(self, move_id):
        """Commit the posted credit note reversing the invoice ``move_id`` in
        full (the reversal wizard's Reverse, then posted); return its id."""

        def reverse(env):
            reversal = env["account.move"].browse(move_id)._reverse_moves()
            reversal.action_post()
            return reversal.id

        return self._commit(reverse)

    def _race(self, first, second, order):
        """Run two workers, each ``(name, move_id, method name)``.

        Both read their invoice, then wait at a barrier, so that both
        snapshots predate both commits. With ``order="simultaneous"`` both then
        write at once; with ``order="sequential"`` the second writes only once
        the first has committed (the worst case for its stale snapshot).
        Returns {worker name: [(pgcode, message, whether the failing statement
        was the history's) for each failure that made ``retrying`` replay the
        call]}.
        """
        barrier = threading.Barrier(2, timeout=WORKER_TIMEOUT)
        first_committed = threading.Event()
        failures = {first[0]: [], second[0]: []}
        errors = []

        def work(name, move_id, method, wait_for=None, done=None):
            def call(env):
                move = env["account.move"].browse(move_id)
                # The call reads its record first: the snapshot is taken here.
                move.read(["state"])
                if not failures[name]:
                    barrier.wait()
                    if wait_for is not None and not wait_for.wait(WORKER_TIMEOUT):
                        raise TimeoutError(f"{name}: the other worker never committed")
                try:
                    getattr(move, method)()
                    env.flush_all()
                except OperationalError as error:
                    query = getattr(error.cursor, "query", None) or b""
                    failures[name].append(
                        (
                            error.pgcode,
                            (error.pgerror or "").splitlines()[0],
                            b"consumer_preference" in query,
                        )
                    )
                    raise

            try:
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, self.user_id, {})
                    retrying(lambda: call(env), env)
            except Exception as error:  # reported by the main thread
                errors.append((name, error))
                barrier.abort()
            finally:
                if done is not None:
                    done.set()

        sequential = order == "sequential"
        threads = [
            threading.Thread(
                target=work,
                args=(*first,),
                kwargs={"done": first_committed},
            ),
            threading.Thread(
                target=work,
                args=(*second,),
                kwargs={"wait_for": first_committed if sequential else None},
            ),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(2 * WORKER_TIMEOUT)
        self.assertFalse(any(thread.is_alive() for thread in threads), "a worker hung")
        if errors:
            raise AssertionError(f"workers failed: {errors}") from errors[0][1]
        _logger.info("%s race %s / %s: retried on %s", order, first, second, failures)
        return failures

    def _history(self, product_id):
        """The history lines of the customer for the product, read in a new
        transaction, straight from the table so that no cache can hide a
        duplicate."""
        with self.registry.cursor() as cr:
            cr.execute(
                """
                SELECT invoice_count, refund_count, quantity, first_invoice_date,
                       last_invoice_date, active
                  FROM consumer_preference
                 WHERE preference_type = 'history'
                   AND partner_id = %s AND product_id = %s AND company_id = %s
                """,
                (self.customer_id, product_id, self.company_id),
            )
            return [
                {
                    "invoice_count": invoice_count,
                    "refund_count": refund_count,
                    "quantity": float(quantity),
                    "first_invoice_date": str(first_date),
                    "last_invoice_date": str(last_date),
                    "active": active,
                }
                for (
                    invoice_count,
                    refund_count,
                    quantity,
                    first_date,
                    last_date,
                    active,
                ) in cr.fetchall()
            ]

    def _states(self, move_ids):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT state FROM account_move WHERE id = ANY(%s) ORDER BY id",
                [move_ids],
            )
            return [state for (state,) in cr.fetchall()]

    def _queued(self):
        """The customer's queued keys, read in a new transaction."""
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT product_id FROM consumer_preference_history_queue "
                "WHERE partner_id = %s ORDER BY id",
                [self.customer_id],
            )
            return [product_id for (product_id,) in cr.fetchall()]

    def _segment_queued(self):
        """How often the customer is queued for a refresh of its segment,
        read in a new transaction."""
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT COUNT(*) FROM consumer_preference_segment_queue "
                "WHERE partner_id = %s",
                [self.customer_id],
            )
            return cr.fetchone()[0]

    def _run_scheduled_action(self):
        """Run the queue's scheduled action as a cron worker does: acquire
        the job (ready only if posting triggered it), run it in its own
        transactions. Returns whether the job was ready."""
        ir_cron = self.registry["ir.cron"]
        with self.registry.cursor() as cron_cr:
            cron_id = (
                api.Environment(cron_cr, api.SUPERUSER_ID, {}).ref(QUEUE_CRON_XMLID).id
            )
            cron_cr.execute(
                "SELECT COUNT(*) FROM ir_cron_trigger WHERE cron_id = %s",
                [cron_id],
            )
            triggered = cron_cr.fetchone()[0] > 0
            # Not due by its interval: only a trigger makes it ready.
            cron_cr.execute(
                "UPDATE ir_cron SET nextcall = NOW() AT TIME ZONE 'UTC' "
                "+ INTERVAL '1 hour' WHERE id = %s",
                [cron_id],
            )
            cron_cr.commit()
            job = ir_cron._acquire_one_job(cron_cr, cron_id)
            if job:
                ir_cron._process_job(cron_cr.dbname, cron_cr, job)
        return triggered and bool(job)

    def _hold_key(self, cr, product_id):
        """Take the advisory lock of the customer's key of ``product_id`` in
        ``cr``, as a transaction posting for it does."""
        cr.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended("
            "'consumer_preference_history:' || %s || ',' || %s || ',' || %s, 0))",
            [self.company_id, self.customer_id, product_id],
        )

    def _assert_nobody_retried(self, failures):
        self.assertEqual(failures, {name: [] for name in failures})

    def _assert_drained(self):
        """Keys were queued, the posting triggered the scheduled action, and
        once it ran nothing is left."""
        self.assertTrue(self._queued(), "no key was queued")
        self.assertTrue(self._run_scheduled_action(), "the job was not triggered")
        self.assertEqual(self._queued(), [])

    # ------------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------------
    def test_two_workers_post_for_a_key_that_has_a_line(self):
        (earlier,) = self._create_invoices(
            self.tea_id, [(1.0, "2026-01-05")], post=(0,)
        )
        self.assertEqual(len(self._history(self.tea_id)), 1)
        expected_count, expected_quantity = 1, 1.0
        for order in ("sequential", "simultaneous"):
            with self.subTest(order=order):
                first, second = self._create_invoices(
                    self.tea_id, [(2.0, "2026-01-10"), (3.0, "2026-01-12")]
                )
                self._race_two_posts(first, second, order)
                self.assertEqual(self._states([earlier, first, second]), ["posted"] * 3)
                expected_count += 2
                expected_quantity += 5.0
                self.assertEqual(
                    self._history(self.tea_id),
                    [
                        {
                            "invoice_count": expected_count,
                            "refund_count": 0,
                            "quantity": expected_quantity,
                            "first_invoice_date": "2026-01-05",
                            "last_invoice_date": "2026-01-12",
                            "active": True,
                        }
                    ],
                )

    def _race_two_posts(self, first, second, order):
        """Two workers post one invoice each: both commit at the first try,
        the key one of them could not write is queued, the job drains it."""
        failures = self._race(
            ("worker 1", first, "action_post"),
            ("worker 2", second, "action_post"),
            order=order,
        )
        self._assert_nobody_retried(failures)
        self._assert_drained()

    def test_two_workers_race_the_first_purchase(self):
        """No line yet: both workers would insert it. Simultaneously, and with
        the second inserting after the first committed a row it cannot see."""
        for order, product_id in (
            ("simultaneous", self.coffee_id),
            ("sequential", self.milk_id),
        ):
            with self.subTest(order=order):
                first, second = self._create_invoices(
                    product_id, [(2.0, "2026-02-01"), (5.0, "2026-02-03")]
                )
                self.assertEqual(self._history(product_id), [])
                self._race_two_posts(first, second, order)
                self.assertEqual(self._states([first, second]), ["posted"] * 2)
                self.assertEqual(
                    self._history(product_id),
                    [
                        {
                            "invoice_count": 2,
                            "refund_count": 0,
                            "quantity": 7.0,
                            "first_invoice_date": "2026-02-01",
                            "last_invoice_date": "2026-02-03",
                            "active": True,
                        }
                    ],
                )

    def test_one_worker_resets_while_another_posts(self):
        """Both orders: the reset commits first, or the posting does; the
        reset takes the key's only posted invoice (its line is deleted: the
        poster's snapshot still sees it), one of two (its line is counted
        down), or the credit note crediting one in full (its purchase given
        back). Both commit at the first try, the key one of them could not
        write is queued, and the line is exact once the queue is
        drained."""
        cases = {
            "only invoice": (
                self.sugar_id,
                [(1.0, "2026-03-02"), (4.0, "2026-03-09")],
                {
                    "invoice_count": 1,
                    "quantity": 4.0,
                    "first_invoice_date": "2026-03-09",
                },
            ),
            "one of two": (
                self.honey_id,
                [(1.0, "2026-04-02"), (2.0, "2026-04-05"), (4.0, "2026-04-09")],
                {
                    "invoice_count": 2,
                    "quantity": 6.0,
                    "first_invoice_date": "2026-04-05",
                },
            ),
            "credit note": (
                self.jam_id,
                [(1.0, "2026-05-02"), (4.0, "2026-05-09")],
                {
                    "invoice_count": 2,
                    "quantity": 5.0,
                    "first_invoice_date": "2026-05-02",
                },
            ),
        }
        for case, (product_id, lines, figures) in cases.items():
            expected_line = {
                "refund_count": 0,
                "last_invoice_date": lines[-1][1],
                "active": True,
                **figures,
            }
            for first_worker in ("reset", "post"):
                with self.subTest(case=case, first_commits=first_worker):
                    *posted, draft = self._create_invoices(
                        product_id, lines, post=range(len(lines) - 1)
                    )
                    moves = [*posted, draft]
                    reset_move = posted[0]
                    if case == "credit note":
                        reset_move = self._post_reversal(posted[0])
                        moves.append(reset_move)
                    reset = ("reset", reset_move, "button_draft")
                    post = ("post", draft, "action_post")
                    workers = (
                        (reset, post) if first_worker == "reset" else (post, reset)
                    )
                    failures = self._race(*workers, order="sequential")
                    self._assert_nobody_retried(failures)
                    self._assert_drained()
                    self.assertEqual(
                        self._states(moves),
                        ["draft" if move == reset_move else "posted" for move in moves],
                    )
                    self.assertEqual(self._history(product_id), [expected_line])
                    # Next round starts from no posted invoice of the product.
                    self._commit(
                        lambda env, moves=moves: (
                            env["account.move"].browse(moves).button_cancel()
                        )
                    )
                    self.assertEqual(self._history(product_id), [])

    def test_posting_does_not_wait_for_a_history_line_held_elsewhere(self):
        """A long transaction (a manager's rebuild, say) holds the line:
        posting neither waits for it nor fails; it queues the key."""
        (earlier,) = self._create_invoices(
            self.juice_id, [(1.0, "2026-04-01")], post=(0,)
        )
        (draft,) = self._create_invoices(self.juice_id, [(6.0, "2026-04-20")])
        with self.registry.cursor() as holder:
            holder.execute(
                "SELECT id FROM consumer_preference WHERE preference_type = "
                "'history' AND partner_id = %s AND product_id = %s FOR UPDATE",
                [self.customer_id, self.juice_id],
            )
            self.assertEqual(len(holder.fetchall()), 1)
            segment_queued = self._segment_queued()
            started = time.monotonic()
            self._commit(lambda env: env["account.move"].browse(draft).action_post())
            elapsed = time.monotonic() - started
            holder.rollback()
        self.assertLess(elapsed, 5.0, "posting waited for the locked line")
        self.assertEqual(self._states([earlier, draft]), ["posted"] * 2)
        self.assertEqual(self._queued(), [self.juice_id])
        # The history's statement, which queues the customer's segment too,
        # was rolled back: the segment is queued all the same.
        self.assertEqual(self._segment_queued(), segment_queued + 1)
        self.assertEqual(self._history(self.juice_id)[0]["invoice_count"], 1)
        self.assertTrue(self._run_scheduled_action())
        self.assertEqual(self._history(self.juice_id)[0]["invoice_count"], 2)
        self.assertEqual(self._history(self.juice_id)[0]["quantity"], 7.0)

    def test_a_queued_key_survives_a_crash_before_the_refresh(self):
        """The key is queued in the invoice's own transaction: once that has
        committed, whatever happens to the process that posted it (here it
        never runs the job), a later run of the job makes the line exact, and
        until then the partner says its history is pending."""
        (draft,) = self._create_invoices(self.water_id, [(3.0, "2026-05-04")])
        with self.registry.cursor() as holder:
            self._hold_key(holder, self.water_id)
            self._commit(lambda env: env["account.move"].browse(draft).action_post())
            holder.rollback()
        self.assertEqual(self._history(self.water_id), [])
        self.assertEqual(self._queued(), [self.water_id])
        pending = self._commit(
            lambda env: (
                env["res.partner"]
                .browse(self.customer_id)
                .consumer_preference_history_pending
            )
        )
        self.assertTrue(pending)
        # A new registry cursor, as after a restart: the queue is all it needs.
        self.assertTrue(self._run_scheduled_action())
        self.assertEqual(self._queued(), [])
        self.assertEqual(self._history(self.water_id)[0]["invoice_count"], 1)
        pending = self._commit(
            lambda env: (
                env["res.partner"]
                .browse(self.customer_id)
                .consumer_preference_history_pending
            )
        )
        self.assertFalse(pending)

    def test_a_key_held_while_the_scheduled_action_runs_is_retried_at_once(self):
        """The scheduled action finds the only queued key held by another
        transaction: it recomputes nothing, and has itself run again at once
        (a trigger) rather than at its next interval. Odoo counts such a run
        as finished and forgets the posting's trigger."""
        (draft,) = self._create_invoices(self.bread_id, [(3.0, "2026-05-04")])
        with self.registry.cursor() as holder:
            self._hold_key(holder, self.bread_id)
            self._commit(lambda env: env["account.move"].browse(draft).action_post())
            self.assertTrue(self._run_scheduled_action())
            self.assertEqual(self._queued(), [self.bread_id])
            holder.rollback()
        self.assertTrue(self._run_scheduled_action(), "the job was not triggered")
        self.assertEqual(self._queued(), [])
        self.assertEqual(self._history(self.bread_id)[0]["invoice_count"], 1)

    def _set_pack_size(self, env, size):
        env["uom.uom"].browse(self.pack_id).write({"factor_inv": size})
        env.flush_all()

    def _post_as_the_pack_becomes_ten(self, draft):
        """Post ``draft`` as an RPC call does, the pack made ten units and the
        scheduled action run in between (after the call took its snapshot,
        before it posts); then run the action again. Returns the attempts
        (1: never replayed). The pack is six again after the test."""

        def change_then_run_the_queue(env):
            self._set_pack_size(env, 10)
            env.cr.commit()
            self._drain()

        self.addCleanup(self._commit, lambda env: self._set_pack_size(env, 6))
        attempts = self._post_around(draft, change_then_run_the_queue)
        self.assertEqual(self._states([draft]), ["posted"])
        self._drain()
        return attempts

    def test_a_unit_ratio_changed_before_a_posting_in_it_commits(self):
        """The pack becomes ten units after the posting took its snapshot
        and before it posts; the scheduled action runs in between, and sees
        no line in packs. The posting must not add its packs at six: it
        holds the unit, finds it changed, and queues its key instead (never
        replayed). Once the queue ran: 2 packs of ten."""
        customer_id = self._new_customer("Packs Before", consent=True)
        draft = self._customer_invoice(customer_id, self.juice_id, 2, self.pack_id)

        self.assertEqual(self._post_as_the_pack_becomes_ten(draft), 1)
        self.assertEqual(
            self._customer_history(customer_id), [(self.juice_id, 1, 20.0)]
        )

    def test_a_unit_ratio_changed_while_a_posting_holds_it(self):
        """The posting holds the pack when the change is saved: the change
        waits for it, but its snapshot, taken before, misses the posting's
        line (restated from nothing). The scheduled action, reading once
        the change committed, restates it: 2 packs of ten."""
        customer_id = self._new_customer("Packs While", consent=True)
        draft = self._customer_invoice(customer_id, self.water_id, 2, self.pack_id)
        snapshot_taken = threading.Event()

        def change():
            with self.registry.cursor() as cr:
                env = api.Environment(cr, self.user_id, {})

                def call():
                    env["uom.uom"].browse(self.pack_id).read(["factor_inv"])
                    snapshot_taken.set()
                    self._set_pack_size(env, 10)

                retrying(call, env)

        try:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, self.user_id, {})
                env["account.move"].browse(draft).action_post()
                env.flush_all()
                thread, result = self._in_thread(change)
                self.assertTrue(snapshot_taken.wait(WORKER_TIMEOUT))
                self._wait_for_a_lock_wait()
            thread.join(WORKER_TIMEOUT)
            self.assertFalse(thread.is_alive(), "the change never committed")
            self.assertNotIn("error", result)
            self.assertEqual(
                self._customer_history(customer_id), [(self.water_id, 1, 12.0)]
            )
            self._drain()
            self.assertEqual(
                self._customer_history(customer_id), [(self.water_id, 1, 20.0)]
            )
        finally:
            self._commit(lambda env: self._set_pack_size(env, 6))

    def test_a_unit_ratio_changed_before_a_key_is_recomputed_from_its_past(self):
        """The customer's only juice so far came back: a credit note of 2
        packs, which makes no history line. The pack becomes ten units after
        a posting of one juice, in its own unit, took its snapshot; the
        scheduled action runs in between, with nothing to restate (no line).
        The posting recomputes the key from all its lines, the credit note's
        packs with them: it must not count them at six (1 - 12). It holds
        the pack, finds it changed, and queues the key. Once the queue ran:
        1 - 20."""
        customer_id = self._new_customer("Packs Credited", consent=True)
        refund = self._customer_invoice(
            customer_id, self.juice_id, 2, self.pack_id, move_type="out_refund"
        )
        self._commit(lambda env: env["account.move"].browse(refund).action_post())
        draft = self._customer_invoice(customer_id, self.juice_id, 1)
        self.assertEqual(self._customer_history(customer_id), [])

        self.assertEqual(self._post_as_the_pack_becomes_ten(draft), 1)
        self.assertEqual(
            self._customer_history(customer_id), [(self.juice_id, 1, -19.0)]
        )

    def _wait_for_a_lock_wait(self):
        """Wait until a transaction of the database waits for a lock."""
        deadline = time.monotonic() + WORKER_TIMEOUT
        while time.monotonic() < deadline:
            with self.registry.cursor() as cr:
                cr.execute(
                    "SELECT COUNT(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                if cr.fetchone()[0]:
                    return
            time.sleep(0.05)
        raise AssertionError("no transaction ever waited for the unit")

    def test_a_key_committed_behind_a_batch_is_left_for_the_next_run(self):
        """A transaction queued a key (its row's id taken) and commits only
        once the scheduled action's first batch has read past that id: each
        batch goes on after the last row the one before read, so the run
        does not go back for it; but it reports the row left, and Odoo runs
        the action again at once, which recomputes the key."""
        customer_id = self._new_customer("Queued behind a batch", consent=True)
        draft = self._customer_invoice(customer_id, self.water_id, 3.0)
        self._commit(lambda env: env["account.move"].browse(draft).action_post())
        # A figure only a recomputation puts right.
        self._commit(
            lambda env: env.cr.execute(
                "UPDATE consumer_preference SET invoice_count = 99 "
                "WHERE partner_id = %s AND product_id = %s",
                [customer_id, self.water_id],
            )
        )
        water_key = (self.company_id, customer_id, self.water_id)
        bread_key = (self.company_id, customer_id, self.bread_id)
        history_class = self.registry["consumer.preference.history"]
        lock_queued_keys = history_class._lock_queued_keys
        batches = []
        with self.registry.cursor() as late:
            api.Environment(late, self.user_id, {})[
                "consumer.preference.history"
            ]._enqueue([water_key])
            self._commit(
                lambda env: env["consumer.preference.history"]._enqueue([bread_key])
            )

            def commit_after_the_first_batch(model, *args, **kwargs):
                picked = lock_queued_keys(model, *args, **kwargs)
                batches.append(picked and [key for key, _ids, _locked in picked[0]])
                late.commit()
                return picked

            ran = []
            with patch.object(
                history_class, "_lock_queued_keys", commit_after_the_first_batch
            ):
                # In a thread of its own, as a cron worker: the action then
                # commits each batch, and the next one reads a new snapshot.
                thread, result = self._in_thread(
                    lambda: ran.append(self._run_scheduled_action())
                )
                thread.join(WORKER_TIMEOUT)
        self.assertEqual((ran, result), ([True], {}))
        # two runs: the first one's batches, then the second one's
        self.assertEqual(batches, [[bread_key], None, [water_key], None])
        self.assertFalse(self._customer_pending(customer_id))
        self.assertEqual(self._customer_history(customer_id), [(self.water_id, 1, 3.0)])

    def test_keys_queued_while_the_scheduled_action_settles_come_along(self):
        """Under sustained contention, one run takes the keys every posting
        of that second queued: woken by a freshly queued key, the scheduled
        action waits until it has waited QUEUE_SETTLE_SECONDS, and a key
        queued meanwhile is recomputed in the same batch, not left for a
        run of its own."""
        customer_id = self._new_customer("Queued while settling", consent=True)
        water_key = (self.company_id, customer_id, self.water_id)
        bread_key = (self.company_id, customer_id, self.bread_id)
        history_class = self.registry["consumer.preference.history"]
        settle_seconds = history_class._queue_settle_seconds
        lock_queued_keys = history_class._lock_queued_keys
        waits, batches = [], []
        waiting = threading.Event()

        def settle_and_tell(model):
            waits.append(settle_seconds(model))
            waiting.set()
            return waits[-1]

        def record_batch(model, *args, **kwargs):
            picked = lock_queued_keys(model, *args, **kwargs)
            batches.append(picked and [key for key, _ids, _locked in picked[0]])
            return picked

        self._commit(
            lambda env: env["consumer.preference.history"]._enqueue([water_key])
        )
        ran = []
        with (
            # longer than a busy machine may take to start the run
            patch.object(history_module, "QUEUE_SETTLE_SECONDS", 3.0),
            patch.object(history_class, "_queue_settle_seconds", settle_and_tell),
            patch.object(history_class, "_lock_queued_keys", record_batch),
        ):
            # In a thread of its own, as a cron worker (which commits).
            thread, result = self._in_thread(
                lambda: ran.append(self._run_scheduled_action())
            )
            self.assertTrue(waiting.wait(WORKER_TIMEOUT))
            self._commit(
                lambda env: env["consumer.preference.history"]._enqueue([bread_key])
            )
            thread.join(WORKER_TIMEOUT)
        self.assertEqual((ran, result), ([True], {}))
        self.assertGreater(waits[0], 1.0)
        self.assertEqual(batches, [[water_key, bread_key], None])
        self.assertFalse(self._customer_pending(customer_id))

    # ------------------------------------------------------------------
    # Consent changed by another transaction while an invoice is posted
    # ------------------------------------------------------------------
    def _new_customer(self, name, consent):
        return self._commit(
            lambda env: (
                env["res.partner"]
                .create(
                    {
                        "name": f"Concurrency {name} {self.tag}",
                        "is_company": True,
                        "consumer_preference_consent": consent,
                    }
                )
                .id
            )
        )

    def _post_around(self, move_id, meanwhile):
        """Post ``move_id`` as an RPC call does (replayed on a serialization
        failure), ``meanwhile`` being committed in another transaction after
        the call has read its invoice (taken its snapshot) and before it
        posts."""
        attempts = []

        def call(env):
            move = env["account.move"].browse(move_id)
            move.read(["state"])
            if not attempts:
                self._commit(meanwhile)
            attempts.append(True)
            move.action_post()
            env.flush_all()

        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.user_id, {})
            retrying(lambda: call(env), env)
        return len(attempts)

    def _change_consent_around(self, change, meanwhile):
        """Run ``change(env)`` (a change of consent) as an RPC call does
        (replayed on a serialization failure), ``meanwhile`` being committed
        in another transaction after the call has read (taken its snapshot)
        and before it changes anything."""
        attempts = []

        def call(env):
            env["res.partner"].search([], limit=1).read(["name"])
            if not attempts:
                self._commit(meanwhile)
            attempts.append(True)
            change(env)
            env.flush_all()

        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.user_id, {})
            retrying(lambda: call(env), env)
        return len(attempts)

    def _customer_history(self, customer_id):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT product_id, invoice_count, quantity FROM consumer_preference "
                "WHERE preference_type = 'history' AND partner_id = %s",
                [customer_id],
            )
            return [
                (product_id, count, float(quantity))
                for product_id, count, quantity in cr.fetchall()
            ]

    def _customer_pending(self, customer_id):
        """Whether the customer's form says a refresh is pending, read in a
        new transaction."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.user_id, {})
            return (
                env["res.partner"]
                .browse(customer_id)
                .consumer_preference_history_pending
            )

    def _rank(self, customer_id):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT customer_rank FROM res_partner WHERE id = %s", [customer_id]
            )
            return cr.fetchone()[0]

    def _in_thread(self, function):
        """Run ``function()`` in a thread; return the thread and a dict that
        gets its ``error``, if any."""
        result = {}

        def target():
            try:
                function()
            except Exception as error:  # noqa: BLE001 (reported by the test)
                result["error"] = repr(error)

        thread = threading.Thread(target=target)
        thread.start()
        return thread, result

    def _post_as_a_call(self, move_id):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.user_id, {})

            def call():
                env["account.move"].browse(move_id).action_post()
                env.flush_all()

            retrying(call, env)

    def _post_while_held(self, customer_id, move_id):
        """A function posting ``move_id`` while a third transaction holds the
        customer's row: Odoo then skips raising the customer's rank, the
        posting's only write of it, and it conflicts with no change of the
        customer's consent."""

        def post(env):
            with self.registry.cursor() as holder:
                holder.execute(
                    "SELECT id FROM res_partner WHERE id = %s FOR NO KEY UPDATE",
                    [customer_id],
                )
                env["account.move"].browse(move_id).action_post()
                env.flush_all()

        return post

    def _give_back_while_posted(self, customer_id, move_id):
        """Give the customer's consent back while ``move_id`` is posted and
        committed in the window where they conflict with nothing: the
        give-back's rebuild misses the invoice, and the customer is queued
        whole."""
        return self._change_consent_around(
            lambda env: (
                env["res.partner"]
                .browse(customer_id)
                .write({"consumer_preference_consent": True})
            ),
            self._post_while_held(customer_id, move_id),
        )

    def _erase_while_posted(self, customer_id, move_id):
        """Erase the customer's history while ``move_id`` (a first purchase)
        is posted and committed in the window where they conflict with
        nothing: its line is not in the erasure's snapshot."""
        return self._change_consent_around(
            lambda env: (
                env["res.partner"]
                .browse(customer_id)
                .action_consumer_preference_erase_history()
            ),
            self._post_while_held(customer_id, move_id),
        )

    def _customer_invoice(
        self, customer_id, product_id, quantity, unit_id=None, move_type="out_invoice"
    ):
        """A committed draft invoice (or ``move_type``) of the customer:
        ``quantity`` of the product, in its own unit or ``unit_id``."""
        line = {"product_id": product_id, "quantity": quantity, "price_unit": 10.0}
        if unit_id:
            line["product_uom_id"] = unit_id

        def create(env):
            return (
                env["account.move"]
                .create(
                    {
                        "move_type": move_type,
                        "partner_id": customer_id,
                        "journal_id": self.journal_id,
                        "invoice_date": "2026-06-01",
                        "invoice_line_ids": [Command.create(line)],
                    }
                )
                .id
            )

        return self._commit(create)

    def _drain(self):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT (SELECT COUNT(*) FROM consumer_preference_history_queue)"
                " + (SELECT COUNT(*) FROM consumer_preference_history_unit_queue)"
            )
            queued = cr.fetchone()[0]
        if queued:
            self._run_scheduled_action()

    def test_consent_given_back_while_an_invoice_is_posted(self):
        """The customer gives consent back (its history is rebuilt) after
        the posting read the customer, who did not consent then: neither
        sees the other, yet the invoice must count once both committed."""
        customer_id = self._new_customer("Returning", consent=False)
        draft = self._customer_invoice(customer_id, self.tea_id, 2.0)
        attempts = self._post_around(
            draft,
            lambda env: (
                env["res.partner"]
                .browse(customer_id)
                .write({"consumer_preference_consent": True})
            ),
        )
        self.assertEqual(self._states([draft]), ["posted"])
        # Replayed once: the posting had not seen the change.
        self.assertEqual(attempts, 2)
        self._drain()
        self.assertEqual(self._customer_history(customer_id), [(self.tea_id, 1, 2.0)])

    def test_history_erased_while_an_invoice_is_posted(self):
        """The customer's history is erased (consent withdrawn) after the
        posting read the customer, who consented then: its first purchase of
        a product must not leave a history line behind."""
        customer_id = self._new_customer("Erased", consent=True)
        draft = self._customer_invoice(customer_id, self.coffee_id, 3.0)
        attempts = self._post_around(
            draft,
            lambda env: (
                env["res.partner"]
                .browse(customer_id)
                .action_consumer_preference_erase_history()
            ),
        )
        self.assertEqual(self._states([draft]), ["posted"])
        # Replayed once: the posting had not seen the change.
        self.assertEqual(attempts, 2)
        self._drain()
        self.assertEqual(self._customer_history(customer_id), [])

    def test_consent_given_back_while_an_invoice_is_reset(self):
        """An invoice posted while the customer did not consent is reset to
        draft, and committed, after the consent's change back read the
        database but before it locked the customer: the reset conflicts with
        nothing (it writes no history for a customer who does not consent),
        and the change's rebuild, from its snapshot, counts the invoice. The
        change queues the customer whole: once the queue has run, from a
        snapshot taken after both committed, the invoice does not count."""
        customer_id = self._new_customer("Returning reset", consent=False)
        invoice = self._customer_invoice(customer_id, self.tea_id, 2.0)
        self._commit(lambda env: env["account.move"].browse(invoice).action_post())
        attempts = self._change_consent_around(
            lambda env: (
                env["res.partner"]
                .browse(customer_id)
                .write({"consumer_preference_consent": True})
            ),
            lambda env: env["account.move"].browse(invoice).button_draft(),
        )
        self.assertEqual(self._states([invoice]), ["draft"])
        # Nothing replayed: the customer waits in the queue, whole.
        self.assertEqual(attempts, 1)
        self.assertTrue(self._customer_pending(customer_id))
        self._drain()
        self.assertEqual(self._customer_history(customer_id), [])
        self.assertFalse(self._customer_pending(customer_id))

    def test_history_erased_while_an_invoice_is_posted_and_committed(self):
        """A first purchase is posted, and committed, after the erasure read
        the database but before it locked the customer, while a third
        transaction held the customer's row (Odoo then skips raising the
        customer's rank, the posting's only write of it): the posting
        conflicts with nothing, and its line is not in the erasure's
        snapshot. The erasure queues the customer whole: once the queue has
        run, the line is gone too."""
        customer_id = self._new_customer("Erased committed", consent=True)
        draft = self._customer_invoice(customer_id, self.coffee_id, 3.0)
        attempts = self._erase_while_posted(customer_id, draft)
        self.assertEqual(self._states([draft]), ["posted"])
        self.assertEqual(attempts, 1)
        self._drain()
        self.assertEqual(self._customer_history(customer_id), [])
        self.assertFalse(self._customer_pending(customer_id))

    def test_posting_does_not_wait_for_a_customer_queued_whole(self):
        """The scheduled action turns a customer queued whole (consent given
        back while a first purchase committed) into its keys and recomputes
        them: a posting of the same product meanwhile, with the action's
        transaction still open, neither waits for it nor fails, and raises
        the customer's rank as usual; once both have committed and the
        queue has run, both invoices count."""
        customer_id = self._new_customer("Whole wait", consent=False)
        first = self._customer_invoice(customer_id, self.tea_id, 2.0)
        second = self._customer_invoice(customer_id, self.tea_id, 1.0)
        self.assertEqual(self._give_back_while_posted(customer_id, first), 1)
        rank = self._rank(customer_id)
        with self.registry.cursor() as cron_cr:
            # The action's work, in one transaction left open (a test's
            # thread does not commit its batches).
            env = api.Environment(cron_cr, api.SUPERUSER_ID, {})
            env["consumer.preference.history"]._process_queue()
            thread, result = self._in_thread(lambda: self._post_as_a_call(second))
            thread.join(WORKER_TIMEOUT / 4)
            self.assertFalse(thread.is_alive(), "the posting waited")
        self.assertEqual(result, {})
        self.assertEqual(self._states([first, second]), ["posted", "posted"])
        self.assertEqual(self._rank(customer_id), rank + 1)
        self._drain()
        self.assertEqual(self._customer_history(customer_id), [(self.tea_id, 2, 3.0)])

    def test_queue_does_not_wait_for_a_posting_of_a_customer_queued_whole(self):
        """A posting for a customer queued whole (consent given back) is
        left open: the scheduled action does not wait for it, and recomputes
        the other queued keys meanwhile; once it has committed and the queue
        has run again, its invoice counts."""
        customer_id = self._new_customer("Whole stall", consent=False)
        draft = self._customer_invoice(customer_id, self.milk_id, 1.0)
        self._commit(
            lambda env: (
                env["res.partner"]
                .browse(customer_id)
                .write({"consumer_preference_consent": True})
            )
        )
        self._create_invoices(self.sugar_id, [(1.0, "2026-05-01")], post=[0])
        self._commit(
            lambda env: env["consumer.preference.history"]._enqueue(
                [(self.company_id, self.customer_id, self.sugar_id)]
            )
        )
        with self.registry.cursor() as posting_cr:
            env = api.Environment(posting_cr, self.user_id, {})
            env["account.move"].browse(draft).action_post()
            env.flush_all()
            thread, result = self._in_thread(self._run_scheduled_action)
            thread.join(WORKER_TIMEOUT / 4)
            self.assertFalse(thread.is_alive(), "the scheduled action waited")
            self.assertEqual(result, {})
            self.assertEqual(self._queued(), [])
        self._drain()
        self.assertEqual(self._customer_history(customer_id), [(self.milk_id, 1, 1.0)])

    def test_queued_erasure_leaves_a_held_line_for_the_next_run(self):
        """A queued erasure whose line another transaction holds does not
        wait for it: the erasure stays queued, and the next run, once the
        line is free, erases it."""
        customer_id = self._new_customer("Erased held", consent=True)
        draft = self._customer_invoice(customer_id, self.juice_id, 3.0)
        self._erase_while_posted(customer_id, draft)
        with self.registry.cursor() as holder:
            holder.execute(
                "SELECT id FROM consumer_preference WHERE partner_id = %s "
                "AND preference_type = 'history' FOR UPDATE",
                [customer_id],
            )
            thread, result = self._in_thread(self._run_scheduled_action)
            thread.join(WORKER_TIMEOUT / 4)
            self.assertFalse(thread.is_alive(), "the scheduled action waited")
            self.assertEqual(result, {})
            self.assertEqual(
                self._customer_history(customer_id), [(self.juice_id, 1, 3.0)]
            )
            self.assertTrue(self._customer_pending(customer_id))
        self._drain()
        self.assertEqual(self._customer_history(customer_id), [])
        self.assertFalse(self._customer_pending(customer_id))

    def test_nightly_segments_go_on_when_the_queue_refreshes_meanwhile(self):
        """The nightly scoring of a company overlapping the segment queue's
        refresh, which commits during it (both are due at night): the
        nightly's statement, whose snapshot predates that commit, meets the
        queued rows the refresh deleted. It no longer fails the whole run:
        the company is scored again by a run triggered a minute later, in a
        new transaction."""
        customer_id = self._new_customer("Nightly", consent=True)
        move_id = self._customer_invoice(customer_id, self.tea_id, 2)
        self._post_as_a_call(move_id)  # queues the customer's segment
        self.assertEqual(self._customer_segment_queued(customer_id), 1)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            segment_cron = "consumer_preferences.ir_cron_consumer_preference_segment"
            triggers_before = self._cron_triggers(env, segment_cron)
            cr.execute("SELECT 1 FROM consumer_preference_segment_queue LIMIT 1")
            self._commit(
                lambda other: (
                    other["consumer.preference.segment"].sudo()._process_queue()
                )
            )
            env["consumer.preference.segment"]._cron_recompute()
            self.assertEqual(
                self._cron_triggers(env, segment_cron), triggers_before + 1
            )
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            env["consumer.preference.segment"]._cron_recompute()
            cr.execute(
                "SELECT invoice_count FROM consumer_preference_segment "
                "WHERE partner_id = %s AND company_id = %s",
                [customer_id, self.company_id],
            )
            self.assertEqual(cr.fetchall(), [(1,)])

    def test_segment_queue_goes_on_when_the_nightly_scores_meanwhile(self):
        """The other way round: the nightly scoring commits while the
        segment queue's refresh runs. The refresh no longer fails: its batch
        stays queued for a run triggered a minute later."""
        customer_id = self._new_customer("Queued", consent=True)
        move_id = self._customer_invoice(customer_id, self.tea_id, 2)
        self._post_as_a_call(move_id)  # queues the customer's segment
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            queue_cron = (
                "consumer_preferences.ir_cron_consumer_preference_segment_queue"
            )
            triggers_before = self._cron_triggers(env, queue_cron)
            cr.execute("SELECT 1 FROM consumer_preference_segment_queue LIMIT 1")
            self._commit(
                lambda other: (
                    other["consumer.preference.segment"].sudo()._cron_recompute()
                )
            )
            env["consumer.preference.segment"]._process_queue()
            self.assertEqual(self._cron_triggers(env, queue_cron), triggers_before + 1)
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT invoice_count FROM consumer_preference_segment "
                "WHERE partner_id = %s AND company_id = %s",
                [customer_id, self.company_id],
            )
            self.assertEqual(cr.fetchall(), [(1,)])

    @staticmethod
    def _cron_triggers(env, cron_xmlid):
        """How many runs of the scheduled action are triggered, read in
        ``env``'s transaction."""
        env.cr.execute(
            "SELECT COUNT(*) FROM ir_cron_trigger WHERE cron_id = %s",
            [env.ref(cron_xmlid).id],
        )
        return env.cr.fetchone()[0]

    def _customer_segment_queued(self, customer_id):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT COUNT(*) FROM consumer_preference_segment_queue "
                "WHERE partner_id = %s",
                [customer_id],
            )
            return cr.fetchone()[0]

    def test_two_reminder_runs_at_once_make_one_reminder(self):
        """Two runs of the reorder reminders at the same moment (Run Manually
        beside the cron worker): the second, whose snapshot predates the
        first's commit, meets its reminder; it no longer fails, leaves the
        company to a run triggered a minute later, and the customer has one
        reminder."""
        customer_id = self._new_customer("Reminded", consent=True)
        # expected again 20 days ago: due, within the window of 180 days
        today = fields.Date.today()
        for invoice_date in (today - timedelta(days=60), today - timedelta(days=40)):
            move_id = self._commit(
                lambda env, invoice_date=invoice_date: (
                    env["account.move"]
                    .create(
                        {
                            "move_type": "out_invoice",
                            "partner_id": customer_id,
                            "journal_id": self.journal_id,
                            "invoice_date": invoice_date,
                            "invoice_line_ids": [
                                Command.create(
                                    {"product_id": self.tea_id, "quantity": 1}
                                )
                            ],
                        }
                    )
                    .id
                )
            )
            self._post_as_a_call(move_id)
        with self.registry.cursor() as cr:
            cr.execute("SELECT COALESCE(MAX(id), 0) FROM consumer_preference_reminder")
            last_reminder_id = cr.fetchone()[0]
        self.addCleanup(self._remove_reminders_after, last_reminder_id)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            reminder_cron = "consumer_preferences.ir_cron_consumer_preference_reorder"
            triggers_before = self._cron_triggers(env, reminder_cron)
            cr.execute("SELECT 1 FROM consumer_preference_reminder LIMIT 1")
            self._commit(
                lambda other: (
                    other["consumer.preference.reminder"].sudo()._cron_remind()
                )
            )
            env["consumer.preference.reminder"]._cron_remind()
            self.assertEqual(
                self._cron_triggers(env, reminder_cron), triggers_before + 1
            )
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT COUNT(*) FROM consumer_preference_reminder "
                "WHERE partner_id = %s",
                [customer_id],
            )
            self.assertEqual(cr.fetchone()[0], 1)

    def _remove_reminders_after(self, last_reminder_id):
        """The reminders the runs committed (of the demo customers too), with
        their To-Dos and emails."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            reminders = env["consumer.preference.reminder"].search(
                [("id", ">", last_reminder_id)]
            )
            reminders._delete_emails()
            reminders.activity_id.unlink()
            reminders.unlink()
