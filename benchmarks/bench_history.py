"""Measure what the purchase history costs: on posting, whatever the
customer's past, against plain Odoo, and for the rebuild.

    python3 benchmarks/bench_history.py -c <odoo.conf> -d <database>
        [--plain-database <database>] [--runs 7] [--explain] [--large 1000000]
        [--sections 1,2,3,4] [--tracking] [--jit-lines 600000]

The database needs consumer_preferences installed, with accounting configured
(a chart of accounts and a sales journal in the admin's company; demo data
does). The script prints, side by side in the same run:

1. posting an invoice of 5 and of 50 lines for a new customer and for
   customers with 20,000 and 100,000 posted invoice lines of the same
   products (copied in SQL from a posted invoice), resetting it to draft
   (then posting it again), then the credit note reversing it in full, and
   that credit note reset to draft: median time of ``action_post``
   (``button_draft``), of the history's part of it, and the ratio to the new
   customer;
2. with ``--plain-database`` (a database with the same Odoo and ``account``
   but without the addon, e.g. ``-i account,sales_team`` with demo data):
   posting invoices of 1, 5 and 50 lines in both, interleaved, in one
   process, for a customer who bought those products before, then for a new
   customer each time (a first purchase: every key new), then the credit
   note reversing in full an invoice of the first customer's, and resetting
   such an invoice to draft: median times, the ratio, and the queries of
   each posting (reset). Each posting is committed, as
   Odoo commits each request (in one transaction, a posting would update
   history lines the same transaction wrote: their foreign keys are checked
   again and no update is HOT, which no user's posting pays), so this
   section runs in scratch copies of both databases, dropped after; and on a
   connection reset before each posting, as Odoo's pool resets it for each
   request (no plan is kept from one posting to the next);
3. the full rebuild against the raw ``GROUP BY`` (company, commercial
   partner, product) over the same posted lines, at about 100,000 and
   ``--large`` (1,000,000) lines: from existing lines and from none;
4. with ``--sections 4`` (not run by default: it copies ``--jit-lines``,
   600,000, lines): the exact recomputation of the 50 keys of a customer
   with that many posted lines (as the scheduled action or a reset to draft
   recomputes keys), its statement alternately with JIT off, as the service
   runs it, and on, PostgreSQL's default (compiled past its
   ``jit_above_cost``, about 340,000 lines here).

With ``--explain``, it prints ``EXPLAIN (ANALYZE, BUFFERS)`` of the increment
on a posting for the 100,000-line customer, of the exact recomputation of new
keys, and of the rebuild.

Everything else is rolled back at the end.
"""

import statistics
import time
from contextlib import contextmanager

from psycopg2.extensions import ISOLATION_LEVEL_REPEATABLE_READ

from odoo import Command, api
from odoo.modules.registry import Registry
from odoo.sql_db import Cursor

from bench_data import copy_posted_invoice, insert_customers
from rolled_back import argument_parser, run_rolled_back, scratch_copies

PRODUCT_COUNT = 200
HISTORY_SIZES = (0, 20_000, 100_000)
INVOICE_SIZES = (5, 50)
OVERHEAD_SIZES = (1, 5, 50)
# Section 2's kinds of posting, and how each is printed.
OVERHEAD_KINDS = {
    "repeat": "",
    "first": ", first purchase",
    "reversal": ", credit note reversing a purchase",
    "reset": ", a purchase reset to draft",
}
# The history service's statements: those explained, and those replayed
# around them (its settings, the rebuild's table).
EXPLAINED_STATEMENTS = ("WITH move_lines", "WITH keys AS", "CREATE TEMPORARY TABLE")
SERVICE_STATEMENTS = (*EXPLAINED_STATEMENTS, "WITH previous", "DROP TABLE")


def main(argv=None):
    parser = argument_parser(__doc__.split("\n\n", 1)[0])
    parser.add_argument("--plain-database", help="the same Odoo without the addon")
    parser.add_argument("--runs", type=int, default=7, help="timed postings each")
    parser.add_argument(
        "--large", type=int, default=1_000_000, help="lines of the large rebuild"
    )
    parser.add_argument(
        "--jit-lines",
        type=int,
        default=600_000,
        help="posted lines of section 4's customer",
    )
    parser.add_argument("--explain", action="store_true", help="print the plans")
    parser.add_argument(
        "--tracking",
        action="store_true",
        help="section 2 posts with the chatter's tracking, as a user does",
    )
    parser.add_argument(
        "--sections",
        default="1,2,3",
        help="which of the sections above to run, e.g. 1,3,4 (default: 1,2,3)",
    )
    arguments = parser.parse_args(argv)
    if arguments.plain_database and "2" in arguments.sections.split(","):
        # Section 2 commits each posting, as Odoo does: in copies.
        with scratch_copies(
            arguments, [arguments.database, arguments.plain_database]
        ) as copies:
            arguments.scratch_copies = copies
            run_rolled_back(arguments, run)
    else:
        run_rolled_back(arguments, run)


def run(env, arguments):
    bench = HistoryBench(env, arguments)
    sections = arguments.sections.split(",")
    if "1" in sections:
        bench.posting_by_history_size()
    if "2" in sections and arguments.plain_database:
        bench.posting_against_plain_odoo()
    if "3" in sections:
        bench.rebuild_against_raw_aggregate()
    if "4" in sections:
        bench.recompute_with_and_without_jit()


class HistoryBench:
    def __init__(self, env, arguments):
        company = env.ref("base.user_admin").company_id
        self.env = env(
            context={"allowed_company_ids": company.ids, "tracking_disable": True}
        )
        self.arguments = arguments
        self.products = self._create_products(self.env, "Bench")
        self.invoice_date_day = 0

    # ------------------------------------------------------------------
    # 1. Posting, by the customer's history size
    # ------------------------------------------------------------------
    def posting_by_history_size(self):
        env = self.env
        print("1. Posting for customers with a history (same products):")
        customers = {}
        for size in HISTORY_SIZES[1:]:
            customer = env["res.partner"].create({"name": f"Bench {size} lines"})
            template = self._new_invoice(env, customer, self.products[:50])
            template.action_post()
            self._copy_invoice(template, size // 50 - 1)
            customers[size] = customer
        env.cr.execute("ANALYZE account_move, account_move_line, consumer_preference")
        # Their history as a rebuild leaves it.
        env["consumer.preference.history"]._rebuild(
            env["res.partner"].browse([customer.id for customer in customers.values()])
        )
        self._print_posted_lines(customers)

        timings = {
            (size, lines): {
                "post": [],
                "history": [],
                "reset post": [],
                "reset history": [],
                "reversal post": [],
                "reversal history": [],
                "reversal reset post": [],
                "reversal reset history": [],
            }
            for size in HISTORY_SIZES
            for lines in INVOICE_SIZES
        }
        for _run in range(self.arguments.runs):
            for lines in INVOICE_SIZES:
                for size in HISTORY_SIZES:
                    # "0": a customer with no history at all, each time.
                    customer = customers.get(size) or env["res.partner"].create(
                        {"name": "Bench new customer"}
                    )
                    invoice = self._new_invoice(env, customer, self.products[:lines])
                    with self._timed_history() as history_seconds:
                        post_seconds = self._timed_post(invoice)
                    timings[size, lines]["post"].append(post_seconds)
                    timings[size, lines]["history"].append(sum(history_seconds))
                    # Reset to draft (then posted again, untimed)
                    with self._timed_history() as history_seconds:
                        reset_seconds = self._timed_post(invoice, method="button_draft")
                    timings[size, lines]["reset post"].append(reset_seconds)
                    timings[size, lines]["reset history"].append(sum(history_seconds))
                    invoice.action_post()
                    # The credit note reversing it in full (the reversal
                    # wizard's Reverse, then posted)
                    reversal = invoice._reverse_moves()
                    with self._timed_history() as history_seconds:
                        post_seconds = self._timed_post(reversal)
                    timings[size, lines]["reversal post"].append(post_seconds)
                    timings[size, lines]["reversal history"].append(
                        sum(history_seconds)
                    )
                    # That credit note reset to draft (the purchase back)
                    with self._timed_history() as history_seconds:
                        reset_seconds = self._timed_post(
                            reversal, method="button_draft"
                        )
                    timings[size, lines]["reversal reset post"].append(reset_seconds)
                    timings[size, lines]["reversal reset history"].append(
                        sum(history_seconds)
                    )
        for kind, label in (
            ("", "invoice"),
            ("reset ", "invoice reset to draft"),
            ("reversal ", "credit note reversing it"),
            ("reversal reset ", "credit note reset to draft"),
        ):
            action = "button_draft" if "reset" in kind else "action_post"
            for lines in INVOICE_SIZES:
                new_post = statistics.median(timings[0, lines][f"{kind}post"])
                new_history = statistics.median(timings[0, lines][f"{kind}history"])
                for size in HISTORY_SIZES:
                    post = timings[size, lines][f"{kind}post"]
                    history = timings[size, lines][f"{kind}history"]
                    print(
                        f"   {lines:>2}-line {label}, customer with {size:>7,} "
                        f"lines: {action} {_spread(post)}, of which history "
                        f"{_spread(history)}; ratio to new customer: post "
                        f"{statistics.median(post) / new_post:.2f}, history "
                        f"{statistics.median(history) / new_history:.2f}"
                    )
        if self.arguments.explain:
            big = customers[HISTORY_SIZES[-1]]
            self._explain_posting(
                "Increment, 5-line invoice, 100,000-line customer", big
            )
            self._explain_posting(
                "Increment inserting new keys, 5-line invoice, new customer",
                env["res.partner"].create({"name": "Bench explain new"}),
            )

    # ------------------------------------------------------------------
    # 2. Posting with and without the addon
    # ------------------------------------------------------------------
    def posting_against_plain_odoo(self):
        addon_copy, plain_copy = self.arguments.scratch_copies
        print(
            f"2. Posting with the addon ({self.arguments.database}) and without "
            f"({self.arguments.plain_database}), interleaved, each posting "
            f"committed (in scratch copies of both):"
        )
        with (
            Registry(addon_copy).cursor() as addon_cr,
            Registry(plain_copy).cursor() as plain_cr,
        ):
            envs = {}
            for name, cr in (("addon", addon_cr), ("plain", plain_cr)):
                root = api.Environment(cr, api.SUPERUSER_ID, {})
                company = root.ref("base.user_admin").company_id
                envs[name] = root(
                    context={
                        "allowed_company_ids": company.ids,
                        "tracking_disable": True,
                    }
                )
            self._compare_with_plain(envs)

    def _compare_with_plain(self, envs):
        products = {
            name: self._create_products(env, "Plain bench")
            for name, env in envs.items()
        }
        customers = {
            name: env["res.partner"].create({"name": f"Bench {name} customer"})
            for name, env in envs.items()
        }
        # A history for the addon's customer, so that postings add to it.
        for name, env in envs.items():
            self._new_invoice(env, customers[name], products[name][:50]).action_post()
            env.cr.commit()
        cases = [(lines, kind) for kind in OVERHEAD_KINDS for lines in OVERHEAD_SIZES]
        seconds = {(name, case): [] for name in envs for case in cases}
        queries = {(name, case): [] for name in envs for case in cases}
        for run in range(self.arguments.runs + 1):
            for lines, kind in cases:
                order = ("plain", "addon") if run % 2 else ("addon", "plain")
                for name in order:
                    env = envs[name]
                    move = self._overhead_move(
                        env, kind, customers[name], products[name][:lines]
                    )
                    if self.arguments.tracking:
                        # posted as a user posts: with the chatter's tracking
                        move = move.with_context(tracking_disable=False)
                    env.cr.commit()
                    _reset_connection(env.cr)
                    count_before = env.cr.sql_log_count
                    post_seconds = self._timed_post(
                        move,
                        commit=True,
                        method="button_draft" if kind == "reset" else "action_post",
                    )
                    if run:  # the first run warms the caches up
                        case = (lines, kind)
                        seconds[name, case].append(post_seconds)
                        queries[name, case].append(env.cr.sql_log_count - count_before)
        for case in cases:
            lines, kind = case
            plain, addon = seconds["plain", case], seconds["addon", case]
            ratios = [a / p for a, p in zip(addon, plain, strict=True)]
            print(
                f"   {lines:>2} lines{OVERHEAD_KINDS[kind]}: plain "
                f"{_spread(plain)}, addon "
                f"{_spread(addon)}; ratio median {statistics.median(ratios):.3f} "
                f"(pairs {min(ratios):.2f}–{max(ratios):.2f}); queries plain "
                f"{_range(queries['plain', case])}, addon "
                f"{_range(queries['addon', case])}"
            )

    def _overhead_move(self, env, kind, customer, products):
        """The move a case of section 2 posts or resets: a draft invoice for
        the customer (who bought those products before), for a new customer
        (a first purchase: every key new), the credit note reversing in full
        an invoice of the customer's just posted (the reversal wizard's
        Reverse), or an invoice of the customer's just posted (to reset to
        draft)."""
        if kind == "first":
            customer = env["res.partner"].create({"name": "Bench first purchase"})
        invoice = self._new_invoice(env, customer, products)
        if kind not in ("reversal", "reset"):
            return invoice
        invoice.action_post()
        env.cr.commit()
        return invoice if kind == "reset" else invoice._reverse_moves()

    # ------------------------------------------------------------------
    # 3. Rebuild against the raw aggregate
    # ------------------------------------------------------------------
    def rebuild_against_raw_aggregate(self):
        env = self.env
        print("3. Full rebuild against the raw GROUP BY over the same lines:")
        customer_ids = insert_customers(env, 2_000, "Bench rebuild customer")
        template = self._new_invoice(
            env, env["res.partner"].browse(customer_ids[0]), self.products[:10]
        )
        template.action_post()
        copied = 0
        for target in (100_000, self.arguments.large):
            missing = target - self._posted_line_count()
            if missing > 0:
                self._copy_invoice(
                    template,
                    missing // 10,
                    customer_ids=customer_ids,
                    rotate=True,
                    first_number=copied + 1,
                )
                copied += missing // 10
            env.cr.execute(
                "ANALYZE account_move, account_move_line, consumer_preference"
            )
            self._time_rebuild()

    def _time_rebuild(self):
        env = self.env
        history = env["consumer.preference.history"]
        line_count = self._posted_line_count()
        history._rebuild()  # every line in place before timing
        raw, existing, empty = [], [], []
        for _run in range(3):
            raw.append(self._timed(lambda: env.cr.execute(RAW_AGGREGATE)))
            existing.append(self._timed(history._rebuild))
            env.cr.execute(
                "DELETE FROM consumer_preference WHERE preference_type = 'history'"
            )
            empty.append(self._timed(history._rebuild))
        env.cr.execute(RAW_AGGREGATE)
        key_count = len(env.cr.fetchall())
        print(
            f"   {line_count:,} posted lines, {key_count:,} keys: raw GROUP BY "
            f"{_spread(raw)}; rebuild over existing lines {_spread(existing)} "
            f"(ratio {statistics.median(existing) / statistics.median(raw):.2f}); "
            f"from no lines {_spread(empty)} "
            f"(ratio {statistics.median(empty) / statistics.median(raw):.2f})"
        )
        if self.arguments.explain:
            _print_explain(env.cr, "Raw GROUP BY", RAW_AGGREGATE, [])
            with self._recorded_service_statements() as statements:
                history._rebuild()
            _print_explain_replay(env.cr, "Rebuild over existing lines", statements)
            with env.cr.savepoint(flush=False) as savepoint:
                env.cr.execute(
                    "DELETE FROM consumer_preference WHERE preference_type = 'history'"
                )
                with self._recorded_service_statements() as statements:
                    history._rebuild()
                savepoint.rollback()
            env.cr.execute(
                "DELETE FROM consumer_preference WHERE preference_type = 'history'"
            )
            _print_explain_replay(env.cr, "Rebuild from no lines", statements)
            history._rebuild()

    # ------------------------------------------------------------------
    # 4. Recomputing large keys, JIT off and on
    # ------------------------------------------------------------------
    def recompute_with_and_without_jit(self):
        env = self.env
        customer = env["res.partner"].create({"name": "Bench JIT customer"})
        template = self._new_invoice(env, customer, self.products[:50])
        template.action_post()
        self._copy_invoice(template, self.arguments.jit_lines // 50 - 1)
        env.cr.execute("ANALYZE account_move, account_move_line, consumer_preference")
        keys = [
            (template.company_id.id, customer.id, product.id)
            for product in self.products[:50]
        ]
        with self._recorded_service_statements() as statements:
            env["consumer.preference.history"]._recompute(keys=keys)
        [(query, params)] = [
            statement
            for statement in statements
            if statement[0].lstrip().startswith("WITH keys AS")
        ]
        print(
            f"4. Recomputing the 50 keys of a customer with "
            f"{self._posted_line_count([customer.id]):,} posted lines, the "
            f"statement alternately with JIT off (the service's) and on:"
        )
        seconds = {"off": [], "on": []}
        for run in range(self.arguments.runs):
            for jit in ("off", "on") if run % 2 else ("on", "off"):
                with env.cr.savepoint(flush=False) as savepoint:
                    env.cr.execute(f"SET LOCAL jit = {jit}")
                    seconds[jit].append(
                        self._timed(lambda: env.cr.execute(query, params))
                    )
                    savepoint.rollback()
        ratios = [
            on / off for on, off in zip(seconds["on"], seconds["off"], strict=True)
        ]
        print(
            f"   JIT off {_spread(seconds['off'])}, on {_spread(seconds['on'])}; "
            f"on/off median {statistics.median(ratios):.2f} "
            f"(pairs {min(ratios):.2f}–{max(ratios):.2f})"
        )

    # ------------------------------------------------------------------
    # Data
    # ------------------------------------------------------------------
    @staticmethod
    def _create_products(env, name):
        return env["product.product"].create(
            [
                {"name": f"{name} product {index}", "list_price": 10.0}
                for index in range(PRODUCT_COUNT)
            ]
        )

    def _new_invoice(self, env, customer, products):
        self.invoice_date_day = self.invoice_date_day % 27 + 1
        return env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "invoice_date": f"2026-10-{self.invoice_date_day:02d}",
                "invoice_line_ids": [
                    Command.create(
                        {"product_id": product.id, "quantity": 3, "price_unit": 10.0}
                    )
                    for product in products
                ],
            }
        )

    def _copy_invoice(
        self, template, copies, customer_ids=None, rotate=False, first_number=1
    ):
        """Insert ``copies`` posted copies of ``template`` in SQL, dated one
        day earlier each (and, with ``customer_ids``, spread over those
        customers; with ``rotate``, each copy's products shifted along the
        bench products, so that customers buy different products); numbered
        from ``first_number`` (see copy_posted_invoice)."""
        customer_ids = customer_ids or [template.commercial_partner_id.id]
        copy_posted_invoice(
            self.env,
            template,
            copies,
            partner="(%(customers)s::int[])[1 + copy.number %% %(customer_count)s]",
            days_before="copy.number %% 1500",
            products=self.products,
            product_step=1 if rotate else 0,
            first_number=first_number,
            parameters={"customers": customer_ids, "customer_count": len(customer_ids)},
        )

    def _posted_line_count(self, partner_ids=None):
        self.env.cr.execute(
            """
            SELECT COUNT(*) FROM account_move_line line
              JOIN account_move move ON move.id = line.move_id
             WHERE move.state = 'posted' AND line.display_type = 'product'
               AND move.move_type IN ('out_invoice', 'out_refund')
               AND (%(partners)s::int[] IS NULL
                    OR move.commercial_partner_id = ANY(%(partners)s::int[]))
            """,
            {"partners": partner_ids},
        )
        return self.env.cr.fetchone()[0]

    def _print_posted_lines(self, customers):
        for customer in customers.values():
            print(
                f"   customer '{customer.name}': "
                f"{self._posted_line_count([customer.id]):,} posted lines"
            )

    # ------------------------------------------------------------------
    # Timing and plans
    # ------------------------------------------------------------------
    @staticmethod
    def _timed(function):
        started = time.perf_counter()
        function()
        return time.perf_counter() - started

    def _timed_post(self, invoice, commit=False, method="action_post"):
        """Time ``action_post`` (or ``method``: ``button_draft``) of
        ``invoice`` and its writes; with ``commit``, and its commit, as Odoo
        commits each request."""
        invoice.env.flush_all()
        started = time.perf_counter()
        getattr(invoice, method)()
        invoice.env.flush_all()
        if commit:
            invoice.env.cr.commit()
        return time.perf_counter() - started

    @contextmanager
    def _timed_history(self):
        """Time the history's part of what runs inside: the service's entry
        points on posting (before and after Odoo's write) and on any other
        change of state, wrapped on its class for the time of the block."""
        service_class = type(self.env["consumer.preference.history"])
        originals = {
            name: getattr(service_class, name)
            for name in (
                "_start_posting",
                "_start_unposting",
                "_finish_sync",
                "_sync_moves",
            )
            # older code has no _start_unposting
            if hasattr(service_class, name)
        }
        seconds = []
        depth = [0]  # _sync_moves calls _finish_sync: timed once

        def timed(method):
            def timed_method(service, *args):
                depth[0] += 1
                started = time.perf_counter()
                try:
                    return method(service, *args)
                finally:
                    depth[0] -= 1
                    if not depth[0]:
                        seconds.append(time.perf_counter() - started)

            return timed_method

        for name, method in originals.items():
            setattr(service_class, name, timed(method))
        try:
            yield seconds
        finally:
            for name, method in originals.items():
                setattr(service_class, name, method)

    @contextmanager
    def _recorded_service_statements(self):
        """Record the history's statements (query, params) sent inside."""
        statements = []
        execute = Cursor.execute

        def recording_execute(cursor, query, params=None, log_exceptions=True):
            code = getattr(query, "code", query)
            if isinstance(code, str) and code.lstrip().startswith(SERVICE_STATEMENTS):
                statements.append((code, getattr(query, "params", params)))
            return execute(cursor, query, params, log_exceptions)

        Cursor.execute = recording_execute
        try:
            yield statements
        finally:
            Cursor.execute = execute

    def _explain_posting(self, title, customer):
        invoice = self._new_invoice(self.env, customer, self.products[:5])
        with self._recorded_service_statements() as statements:
            invoice.action_post()
        _print_explain_replay(self.env.cr, title, statements)


RAW_AGGREGATE = """
    SELECT move.company_id, move.commercial_partner_id, line.product_id,
           COUNT(*), SUM(line.quantity), SUM(line.balance)
      FROM account_move_line line
      JOIN account_move move ON move.id = line.move_id
     WHERE move.state = 'posted'
       AND move.move_type IN ('out_invoice', 'out_refund')
       AND line.display_type = 'product'
     GROUP BY move.company_id, move.commercial_partner_id, line.product_id
"""


def _print_explain(cr, title, query, params):
    """EXPLAIN ANALYZE ``query`` inside a savepoint rolled back after."""
    with cr.savepoint(flush=False) as savepoint:
        cr.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query}", params)
        plan = "\n".join(f"      {line}" for (line,) in cr.fetchall())
        savepoint.rollback()
    print(f"   --- EXPLAIN ANALYZE: {title}\n{plan}")


def _print_explain_replay(cr, title, statements):
    """Replay the service's ``statements`` (query, params) in order inside a
    savepoint rolled back after, under EXPLAIN ANALYZE for those that do the
    work (the others set what they need: settings, the rebuild's table)."""
    with cr.savepoint(flush=False) as savepoint:
        for query, params in statements:
            if not query.lstrip().startswith(EXPLAINED_STATEMENTS):
                cr.execute(query, params)
                continue
            cr.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query}", params)
            plan = "\n".join(f"      {line}" for (line,) in cr.fetchall())
            print(f"   --- EXPLAIN ANALYZE: {title}\n{plan}")
        savepoint.rollback()


def _reset_connection(cr):
    """Reset ``cr``'s connection as Odoo's pool resets it for each request
    (psycopg2's reset: ``DISCARD ALL``, which drops every plan a session
    keeps), then set it up again as Odoo's cursor does: no posting runs on
    what an earlier one left in the session."""
    connection = cr._cnx
    connection.reset()
    connection.set_isolation_level(ISOLATION_LEVEL_REPEATABLE_READ)


def _spread(seconds):
    """Median and range, in milliseconds."""
    values = [value * 1000 for value in seconds]
    return f"{statistics.median(values):.1f} ms [{min(values):.1f}–{max(values):.1f}]"


def _range(values):
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}–{high}"


if __name__ == "__main__":
    main()
