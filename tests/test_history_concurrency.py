"""End-to-end: two workers post invoices for the same customer and product at
the same moment, in real, separate, committed transactions.

Each worker is one RPC call as Odoo's server runs it: its own cursor, wrapped in
``odoo.service.model.retrying``, which rolls back and replays the whole call on
a serialization failure. A barrier makes sure both workers have read (taken
their repeatable-read snapshot) before either writes. The history must end
with one line per key, counting both invoices.

These tests commit: everything they create carries a unique tag and is
removed at the end.
"""

import logging
import threading
import uuid

from psycopg2 import OperationalError

from odoo import Command, api
from odoo.modules.registry import Registry
from odoo.service.model import retrying
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name

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
            cls.tea_id, cls.coffee_id, cls.milk_id, cls.sugar_id = (
                env["product.product"]
                .create(
                    [
                        {"name": f"Concurrency {name} {cls.tag}", "lst_price": 10.0}
                        for name in ("Tea", "Coffee", "Milk", "Sugar")
                    ]
                )
                .ids
            )
            cls.company_id = company.id

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
            # History lines go with their customer (ON DELETE CASCADE).
            env["res.partner"].search(
                [("name", "=like", f"Concurrency % {cls.tag}")]
            ).unlink()
            env["product.template"].with_context(active_test=False).search(
                [("name", "=like", f"Concurrency % {cls.tag}")]
            ).unlink()
            env["account.journal"].search(
                [("name", "=", f"Concurrency Sales {cls.tag}")]
            ).unlink()
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {"active_test": False})
            left_over = [
                (model, env[model].search_count([("name", "like", cls.tag)]))
                for model in ("res.partner", "product.product", "account.journal")
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

    def _assert_retried(self, failures, worker):
        """The worker whose snapshot missed the other's commit was replayed
        because of the history statement, not because of something else."""
        self.assertTrue(failures[worker], f"{worker} was never retried: {failures}")
        pgcode, message, in_history = failures[worker][0]
        self.assertEqual(pgcode, "40001", message)
        self.assertTrue(in_history, f"{worker} failed outside the history: {message}")

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
        """Two workers post one invoice each; the later one must be retried."""
        failures = self._race(
            ("worker 1", first, "action_post"),
            ("worker 2", second, "action_post"),
            order=order,
        )
        if order == "sequential":
            self._assert_retried(failures, "worker 2")
        else:
            self.assertTrue(any(failures.values()), "nobody was retried")

    def test_two_workers_race_the_first_purchase(self):
        """No line yet: both workers insert it. Simultaneously, and with the
        second inserting after the first committed a row it cannot see."""
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
        """Both orders: the reset commits first (it deletes the line the
        poster's snapshot still sees), or the posting does."""
        expected_line = {
            "invoice_count": 1,
            "refund_count": 0,
            "quantity": 4.0,
            "first_invoice_date": "2026-03-09",
            "last_invoice_date": "2026-03-09",
            "active": True,
        }
        for first_worker in ("reset", "post"):
            with self.subTest(first_commits=first_worker):
                posted, draft = self._create_invoices(
                    self.sugar_id, [(1.0, "2026-03-02"), (4.0, "2026-03-09")], post=(0,)
                )
                reset = ("reset", posted, "button_draft")
                post = ("post", draft, "action_post")
                workers = (reset, post) if first_worker == "reset" else (post, reset)
                failures = self._race(*workers, order="sequential")
                self._assert_retried(failures, workers[1][0])
                self.assertEqual(self._states([posted, draft]), ["draft", "posted"])
                self.assertEqual(self._history(self.sugar_id), [expected_line])
                # Next round starts from no posted sugar invoice.
                self._commit(
                    lambda env, draft=draft: (
                        env["account.move"].browse(draft).button_cancel()
                    )
                )
                self.assertEqual(self._history(self.sugar_id), [])
