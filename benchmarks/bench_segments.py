"""Measure the nightly computations of the predictive profile: customer
segments (RFM) and products bought together, on a large company.

    python3 benchmarks/bench_segments.py -c <odoo.conf> -d <database>
        [--customers 100000] [--lines 1000000] [--specifications 20000]
        [--runs 3] [--posting-runs 15]

The database needs consumer_preferences installed, with accounting configured
(demo data does). The script grows, in SQL, ``--customers`` customers and
``--lines`` posted invoice lines of 4-line invoices (copies of one posted
invoice, over 200 products and 1,500 days; every customer gets one invoice,
the others go mostly to the first customers, as real customers are unequal),
builds their purchase history (a rebuild), gives ``--specifications`` of
them a specification (after the planner's statistics, as an import does),
then prints:

1. the segments' nightly recomputation (one statement for the company), from
   no rows and over existing rows, against the raw ``GROUP BY`` of the same
   posted lines per customer and product (the history's floor, as in
   bench_history) and per customer over their invoices; peak memory of the
   Python process (tracemalloc) and of the PostgreSQL backend (VmHWM, which
   counts the shared buffers it touched too);
2. the refresh of one customer from the queue (ranked against the others);
3. the cost that queuing adds to posting: ``action_post`` of 1- and 5-line
   invoices with and without the queue insert, interleaved (median, ratio);
4. products bought together over the same data: time, memory (the bound is
   PostgreSQL's ``work_mem`` per sort or hash, AFFINITY_WORK_MEM; Python holds
   no row) and pairs kept.

Everything is rolled back at the end.
"""

import statistics
import time
import tracemalloc
from contextlib import contextmanager

from odoo.tools import SQL

from bench_data import copy_posted_invoice, insert_customers
from bench_history import RAW_AGGREGATE, HistoryBench, _spread
from rolled_back import argument_parser, run_rolled_back

INVOICE_LINES = 4
CUSTOMER_AGGREGATE = """
    SELECT move.commercial_partner_id, COUNT(*), MIN(move.invoice_date),
           MAX(move.invoice_date), SUM(move.amount_untaxed_signed)
      FROM account_move move
     WHERE move.state = 'posted' AND move.company_id = %s
       AND move.move_type IN ('out_invoice', 'out_refund')
     GROUP BY move.commercial_partner_id
"""


def main(argv=None):
    parser = argument_parser(__doc__.split("\n\n", 1)[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument(
        "--specifications",
        type=int,
        default=20_000,
        help="customers given a specification, after the planner's statistics",
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs each")
    parser.add_argument(
        "--posting-runs", type=int, default=15, help="timed postings each"
    )
    run_rolled_back(parser.parse_args(argv), run)


def run(env, arguments):
    bench = SegmentBench(env, arguments)
    bench.grow()
    bench.segments()
    bench.one_customer_refresh()
    bench.posting_with_queue()
    bench.bought_together()


class SegmentBench(HistoryBench):
    def __init__(self, env, arguments):
        super().__init__(env, arguments)
        self.company = self.env.company
        self.customer_ids = []

    # ------------------------------------------------------------------
    # Data
    # ------------------------------------------------------------------
    def grow(self):
        env = self.env
        started = time.perf_counter()
        self.customer_ids = insert_customers(
            env, self.arguments.customers, "Bench segment customer"
        )
        template = self._new_invoice(
            env,
            env["res.partner"].browse(self.customer_ids[0]),
            self.products[:INVOICE_LINES],
        )
        template.action_post()
        copies = self.arguments.lines // INVOICE_LINES - 1
        self._copy_skewed(template, copies)
        env.cr.execute("ANALYZE account_move, account_move_line, res_partner")
        grown = time.perf_counter() - started
        started = time.perf_counter()
        env["consumer.preference.history"]._rebuild(companies=self.company)
        env.cr.execute("ANALYZE consumer_preference")
        rebuilt = time.perf_counter() - started
        env.cr.execute(
            "SELECT COUNT(*) FROM consumer_preference "
            "WHERE preference_type = 'history' AND company_id = %s",
            [self.company.id],
        )
        history_count = env.cr.fetchone()[0]
        specification_count = self._insert_specifications()
        print(
            f"0. Grown in {grown:.0f} s: {len(self.customer_ids):,} customers, "
            f"{self._posted_line_count():,} posted lines in all; history "
            f"rebuilt in {rebuilt:.0f} s: {history_count:,} history lines; "
            f"{specification_count:,} specifications"
        )

    def _insert_specifications(self):
        """Specify the first bench product for the last ``--specifications``
        customers, after the statistics were taken, as an import does before
        PostgreSQL's next ANALYZE: the planner believes there are few."""
        customer_ids = self.customer_ids[::-1][: self.arguments.specifications]
        product = self.products[0]
        self.env.cr.execute(
            """
            INSERT INTO consumer_preference (
                   partner_id, company_id, product_id, product_tmpl_id,
                   preference_type, attribute_value_key, active)
            SELECT customer_id, %s, %s, %s, 'specification', '', TRUE
              FROM unnest(%s::int[]) customer_id
            """,
            [self.company.id, product.id, product.product_tmpl_id.id, customer_ids],
        )
        return self.env.cr.rowcount

    def _copy_skewed(self, template, copies):
        """Posted copies of ``template`` in SQL: copy n goes to customer n
        while n ≤ customers, then to a customer drawn towards the first ones
        (index ∝ u²); dated a pseudo-random day of the last 1,500; products
        shifted along the bench products."""
        # The customers' ids are consecutive (one INSERT): computed, not
        # looked up in an array, whose size would cost on every row.
        first_customer = min(self.customer_ids)
        assert max(self.customer_ids) - first_customer + 1 == len(self.customer_ids)
        copy_posted_invoice(
            self.env,
            template,
            copies,
            partner=(
                "(%(first_customer)s - 1 + CASE WHEN copy.number <= "
                "%(customer_count)s THEN copy.number ELSE 1 + FLOOR("
                "%(customer_count)s * POWER(((copy.number::bigint * 7919) "
                "%% 1000003) / 1000003.0, 2))::int END)"
            ),
            days_before="((copy.number::bigint * 104729) %% 1500)::int",
            products=self.products,
            product_step=3,
            parameters={
                "first_customer": first_customer,
                "customer_count": len(self.customer_ids),
            },
        )

    # ------------------------------------------------------------------
    # 1. Segments
    # ------------------------------------------------------------------
    def segments(self):
        env = self.env
        Segment = env["consumer.preference.segment"]
        print("1. Segments' nightly recomputation (one statement, one company):")
        raw_lines, raw_moves, empty, existing = [], [], [], []
        measures = {}
        for _run in range(self.arguments.runs):
            raw_lines.append(self._timed(lambda: env.cr.execute(RAW_AGGREGATE)))
            raw_moves.append(
                self._timed(
                    lambda: env.cr.execute(CUSTOMER_AGGREGATE, [self.company.id])
                )
            )
            env.cr.execute(
                "DELETE FROM consumer_preference_segment WHERE company_id = %s",
                [self.company.id],
            )
            with self._measured() as measure:
                empty.append(self._timed(lambda: Segment._recompute(self.company)))
            measures["from no rows"] = measure
            with self._measured() as measure:
                existing.append(self._timed(lambda: Segment._recompute(self.company)))
            measures["over existing rows"] = measure
        env.cr.execute(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE churn_risk) "
            "FROM consumer_preference_segment WHERE company_id = %s",
            [self.company.id],
        )
        scored, churn = env.cr.fetchone()
        env.cr.execute(
            "SELECT rfm_segment, COUNT(*) FROM consumer_preference_segment "
            "WHERE company_id = %s GROUP BY rfm_segment ORDER BY 2 DESC",
            [self.company.id],
        )
        segments = ", ".join(f"{name} {count:,}" for name, count in env.cr.fetchall())
        raw = statistics.median(raw_lines)
        moves = statistics.median(raw_moves)
        print(f"   {scored:,} customers scored ({churn:,} at churn risk): {segments}")
        print(
            f"   raw GROUP BY of the posted lines (customer, product) "
            f"{_spread(raw_lines)}; raw GROUP BY of the invoices (customer) "
            f"{_spread(raw_moves)}"
        )
        for name, timings in (
            ("from no rows", empty),
            ("over existing rows", existing),
        ):
            median = statistics.median(timings)
            print(
                f"   recomputation {name}: {_spread(timings)}; ratio to the raw "
                f"GROUP BY of the lines {median / raw:.2f}, of the invoices "
                f"{median / moves:.2f}; {measures[name]()}"
            )

    # ------------------------------------------------------------------
    # 2. One customer, from the queue
    # ------------------------------------------------------------------
    def one_customer_refresh(self):
        env = self.env
        Segment = env["consumer.preference.segment"]
        customer = env["res.partner"].browse(self.customer_ids[0])
        timings = [
            self._timed(lambda: Segment._recompute(self.company, customer))
            for _run in range(self.arguments.runs)
        ]
        print(
            f"2. Refresh of one customer (ranked against the "
            f"{len(self.customer_ids):,} others): {_spread(timings)}"
        )

    # ------------------------------------------------------------------
    # 3. What queuing adds to posting
    # ------------------------------------------------------------------
    def posting_with_queue(self):
        env = self.env
        print("3. Posting with and without the segment queue's insert, interleaved:")
        # The insert is a part of the history's statement at posting
        # (``_enqueue_sql``): without it, that part selects nothing instead.
        segment_class = type(env["consumer.preference.segment"])
        enqueue_sql = segment_class._enqueue_sql
        customer = env["res.partner"].browse(self.customer_ids[1])
        for lines in (1, 5):
            seconds = {"with": [], "without": []}
            for run in range(self.arguments.posting_runs + 1):
                order = ("with", "without") if run % 2 else ("without", "with")
                for name in order:
                    invoice = self._new_invoice(env, customer, self.products[:lines])
                    if name == "without":
                        segment_class._enqueue_sql = _no_enqueue_sql
                    try:
                        post_seconds = self._timed_post(invoice)
                    finally:
                        segment_class._enqueue_sql = enqueue_sql
                    if run:  # the first run warms the caches up
                        seconds[name].append(post_seconds)
            ratios = [
                with_queue / without
                for with_queue, without in zip(
                    seconds["with"], seconds["without"], strict=True
                )
            ]
            print(
                f"   {lines} line(s): without {_spread(seconds['without'])}, with "
                f"{_spread(seconds['with'])}; ratio median "
                f"{statistics.median(ratios):.3f}"
            )

    # ------------------------------------------------------------------
    # 4. Bought together
    # ------------------------------------------------------------------
    def bought_together(self):
        # imported once Odoo knows its addons path
        from odoo.addons.consumer_preferences.models import (
            consumer_preference_affinity,
        )

        env = self.env
        Affinity = env["consumer.preference.affinity"]
        print(
            f"4. Products bought together (last "
            f"{self.company.consumer_preference_affinity_months} months; bound: "
            f"work_mem {consumer_preference_affinity.AFFINITY_WORK_MEM} per sort "
            f"or hash, spilled to disk beyond):"
        )
        timings, pair_count = [], 0
        for _run in range(self.arguments.runs):
            with self._measured() as measure:
                started = time.perf_counter()
                pair_count = Affinity._recompute(self.company)
                timings.append(time.perf_counter() - started)
        print(
            f"   {pair_count:,} pairs kept: {_spread(timings)} "
            f"({statistics.median(timings):.1f} s); {measure()}"
        )

    # ------------------------------------------------------------------
    # Measures
    # ------------------------------------------------------------------
    @contextmanager
    def _measured(self):
        """Python's peak allocation inside the block (tracemalloc) and the
        PostgreSQL backend's peak resident memory so far (VmHWM); yields a
        function that formats them."""
        self.env.cr.execute("SELECT pg_backend_pid()")
        backend_pid = self.env.cr.fetchone()[0]
        tracemalloc.start()
        figures = {}
        try:
            yield (
                lambda: (
                    f"peak memory: Python {figures['python'] / 2**20:.1f} MiB, "
                    f"PostgreSQL backend {figures['backend']}"
                )
            )
        finally:
            figures["python"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            figures["backend"] = _peak_resident(backend_pid)


def _no_enqueue_sql(model, moves):
    return SQL("SELECT NULL")


def _peak_resident(pid):
    """The peak resident memory of process ``pid`` (Linux), or why not."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return f"{int(line.split()[1]) / 1024:.0f} MiB (VmHWM)"
    except OSError as error:
        return f"unknown ({error.strerror})"
    return "unknown"


if __name__ == "__main__":
    main()
