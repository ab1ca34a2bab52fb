"""Measure what the purchase history costs: on posting, and for the backfill.

    python3 benchmarks/bench_history.py -c <odoo.conf> -d <database> [--invoices 300]

The database needs consumer_preferences installed, with accounting configured
(a chart of accounts and a sales journal in the admin's company). The script
creates customers, products and posted invoices, then prints:

- posting: the median time of ``action_post`` of an invoice, and of the
  history refresh alone for the same invoice (``_sync_moves``), with its
  queries, for invoices of 1 and of 50 lines;
- backfill: the time and queries of rebuilding every history line of the
  database from its posted invoices, as the install hook does.

Everything is rolled back at the end.
"""

import random
import statistics
import time

from odoo import Command

from rolled_back import argument_parser, run_rolled_back

CUSTOMER_COUNT = 30
PRODUCT_COUNT = 200


def main(argv=None):
    parser = argument_parser(__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--invoices", type=int, default=300, help="posted invoices of 10 lines"
    )
    parser.add_argument("--runs", type=int, default=15, help="timed postings")
    run_rolled_back(parser.parse_args(argv), run)


def run(env, arguments):
    company = env.ref("base.user_admin").company_id
    env = env(context={"allowed_company_ids": company.ids, "tracking_disable": True})
    customers = env["res.partner"].create(
        [{"name": f"Bench Customer {index}"} for index in range(CUSTOMER_COUNT)]
    )
    products = env["product.product"].create(
        [
            {"name": f"Bench Product {index}", "list_price": 10.0}
            for index in range(PRODUCT_COUNT)
        ]
    )
    randomness = random.Random(20261123)

    def new_invoice(line_count):
        return env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": randomness.choice(customers).id,
                "invoice_date": f"2026-{randomness.randint(1, 10):02d}-15",
                "invoice_line_ids": [
                    Command.create(
                        {
                            "product_id": product.id,
                            "quantity": randomness.randint(1, 9),
                            "price_unit": 10.0,
                        }
                    )
                    for product in randomness.sample(products, line_count)
                ],
            }
        )

    for line_count in (1, 50):
        post_seconds, sync_seconds, sync_queries = [], [], []
        for _run in range(arguments.runs):
            invoice = new_invoice(line_count)
            env.flush_all()
            started = time.perf_counter()
            invoice.action_post()
            env.flush_all()
            post_seconds.append(time.perf_counter() - started)

            queries_before = env.cr.sql_log_count
            started = time.perf_counter()
            env["consumer.preference.history"]._sync_moves(invoice)
            sync_seconds.append(time.perf_counter() - started)
            sync_queries.append(env.cr.sql_log_count - queries_before)
        print(
            f"{line_count:>2}-line invoice: action_post median "
            f"{statistics.median(post_seconds) * 1000:.1f} ms, of which the "
            f"history refresh {statistics.median(sync_seconds) * 1000:.1f} ms "
            f"/ {max(sync_queries)} queries"
        )

    started = time.perf_counter()
    for _index in range(arguments.invoices):
        new_invoice(10).action_post()
    env.flush_all()
    print(
        f"Posted {arguments.invoices} invoices of 10 lines in "
        f"{time.perf_counter() - started:.1f} s."
    )

    env.cr.execute(
        "SELECT count(*) FROM account_move_line line"
        " JOIN account_move move ON move.id = line.move_id"
        " WHERE move.state = 'posted' AND line.display_type = 'product'"
        " AND move.move_type IN ('out_invoice', 'out_refund')"
    )
    (source_line_count,) = env.cr.fetchone()
    env.cr.execute("DELETE FROM consumer_preference WHERE preference_type = 'history'")
    env.invalidate_all()
    queries_before = env.cr.sql_log_count
    started = time.perf_counter()
    env["consumer.preference.history"]._rebuild()
    seconds = time.perf_counter() - started
    history_count = env["consumer.preference"].search_count(
        [("preference_type", "=", "history")]
    )
    print(
        f"Backfill: {history_count} history lines from {source_line_count} "
        f"posted invoice lines in {seconds * 1000:.0f} ms, "
        f"{env.cr.sql_log_count - queries_before} queries."
    )


if __name__ == "__main__":
    main()
