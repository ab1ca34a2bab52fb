"""Measure how the history queue drains as it grows.

The scheduled action recomputes the queued keys a batch at a time
(``consumer.preference.history._process_queue``). Picking a batch must cost
the batch, not the queue: this fills the queue with keys of customers who
bought nothing (so that their recomputation costs almost nothing and the
batches' selection shows), each queued ``--copies`` times in no order, at
each of ``--sizes`` rows, and drains it. Printed for each size: the drain,
the time spent picking batches (``_lock_queued_keys``), per batch and per
1,000 rows; then one customer with many keys (as a consent given back
queues them): ``--products`` keys, each queued ``--customer-copies`` times.
The drains commit each batch, as the scheduled action does: in a scratch
copy of the database, dropped after.

Run::

    python3 benchmarks/bench_queue.py -c ODOO_CONF -d DATABASE [--sizes 100000,400000]
"""

import statistics
import time
from contextlib import contextmanager

from bench_data import insert_customers
from rolled_back import argument_parser, run_rolled_back, scratch_copies


def main(argv=None):
    parser = argument_parser(__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--sizes",
        default="100000,400000",
        help="queue rows of each drain, comma-separated",
    )
    parser.add_argument("--copies", type=int, default=4, help="rows queuing each key")
    parser.add_argument(
        "--customer-copies",
        type=int,
        default=40,
        help="rows queuing each key of the customer with many keys",
    )
    parser.add_argument(
        "--products",
        type=int,
        default=250,
        help="keys of the customer with many keys",
    )
    arguments = parser.parse_args(argv)
    with scratch_copies(arguments, [arguments.database]) as (copy,):
        arguments.database = copy
        run_rolled_back(arguments, run)


def run(env, arguments):
    sizes = [int(size) for size in arguments.sizes.split(",")]
    products = env["product.product"].create(
        [
            {"name": f"Bench queue product {index}"}
            for index in range(max(50, arguments.products))
        ]
    )
    company_id = env.ref("base.main_company").id
    print("History queue drains (a transaction a batch, in a scratch copy):")
    for size in sizes:
        keys = size // arguments.copies
        customer_ids = insert_customers(env, keys // 50, "Bench queue customer")
        _fill_queue(env, company_id, customer_ids, products[:50].ids, arguments.copies)
        _drain(env, f"{size:,} rows, {keys:,} keys of {len(customer_ids):,} customers")
    customer_ids = insert_customers(env, 1, "Bench queue customer with many keys")
    _fill_queue(
        env,
        company_id,
        customer_ids,
        products[: arguments.products].ids,
        arguments.customer_copies,
    )
    _drain(
        env,
        f"one customer's {arguments.products} keys, "
        f"{arguments.customer_copies} rows each",
    )


def _fill_queue(env, company_id, customer_ids, product_ids, copies):
    """Queue every (customer, product) key ``copies`` times, in no order, and
    analyze the queue (autovacuum would within a minute). Queued a minute
    ago: the drain is timed, not the scheduled action's wait for a fresh
    queue to settle (QUEUE_SETTLE_SECONDS)."""
    env.cr.execute(
        """
        INSERT INTO consumer_preference_history_queue
               (company_id, partner_id, product_id, queued_at)
        SELECT %s, partner_id, product_id,
               NOW() AT TIME ZONE 'UTC' - INTERVAL '1 minute'
          FROM unnest(%s::int[]) AS customer(partner_id)
         CROSS JOIN unnest(%s::int[]) AS product(product_id)
         CROSS JOIN generate_series(1, %s) AS copy(number)
         ORDER BY md5(partner_id || ',' || product_id || ',' || copy.number)
        """,
        [company_id, customer_ids, product_ids, copies],
    )
    env.cr.execute("ANALYZE consumer_preference_history_queue")


def _drain(env, title):
    env.cr.execute("SELECT COUNT(*) FROM consumer_preference_history_queue")
    rows = env.cr.fetchone()[0]
    history = env["consumer.preference.history"]
    with _timed(type(history), "_lock_queued_keys") as picking:
        started = time.perf_counter()
        done = history._process_queue()
        drained = time.perf_counter() - started
    env.cr.execute("SELECT COUNT(*) FROM consumer_preference_history_queue")
    left = env.cr.fetchone()[0]
    print(
        f"   {title}: drained in {drained:.1f} s ({done:,} keys, {left} rows left); "
        f"picking {len(picking)} batches {sum(picking):.2f} s, median "
        f"{statistics.median(picking) * 1000:.0f} ms a batch, "
        f"{sum(picking) / rows * 1_000_000:.1f} ms per 1,000 rows"
    )


@contextmanager
def _timed(model_class, name):
    """Time each call of ``model_class.name`` within the block."""
    timings = []
    method = getattr(model_class, name)

    def timed(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            timings.append(time.perf_counter() - started)

    setattr(model_class, name, timed)
    try:
        yield timings
    finally:
        setattr(model_class, name, method)


if __name__ == "__main__":
    main()
