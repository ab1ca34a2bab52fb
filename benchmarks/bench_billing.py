"""Billing from preferences: the Bill wizard against a direct invoice.

    python3 benchmarks/bench_billing.py -c ODOO_CONF -d DATABASE
        [--lines 200] [--repeat 7] [--pricelist] [--untaxed] [--form-read]

Needs a database with consumer_preferences installed and a company with a
chart of accounts. Everything happens in one transaction, rolled back at the
end: the database is left as it was.

A customer bought LINES products once (one posted invoice, so LINES history
lines on its Preferences tab). Each repetition times, side by side and in
alternating order:

- wizard: open the Bill wizard (``default_get``), save it with a quantity on
  every line (``create``, which prices the lines), then ``action_bill()``,
  which creates and posts the invoice (auto-post on);
- direct: ``account.move.create(...)`` with the same lines (products,
  quantities, prices, descriptions), then ``action_post()``.

Both run as the administrator (access rights checked), with an empty record
cache, and include the purchase-history update that posting triggers. The
report gives each run, the medians, their ratio and the SQL query counts.
The target: wizard / direct <= 1.2.

``--untaxed`` gives the products no customer taxes and a category without
income account: their lines take the sales journal's account and its taxes,
as on an invoice. ``--form-read`` adds to the wizard's save what the web
client reads back (``web_save``): the totals and the first 40 lines with
their taxes and subtotals, which computes the taxes of every line with a
quantity.
"""

import statistics
import time

from odoo import Command

from rolled_back import argument_parser, run_rolled_back

TARGET_RATIO = 1.2


def parse_arguments():
    parser = argument_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=200, help="invoice lines")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each")
    parser.add_argument(
        "--pricelist",
        action="store_true",
        help="give the customer a pricelist with quantity breaks",
    )
    parser.add_argument(
        "--form-read",
        action="store_true",
        help="read back the wizard's totals and first lines after saving it",
    )
    parser.add_argument(
        "--untaxed",
        action="store_true",
        help="products without customer taxes nor income account: their lines "
        "get the sales journal's account and its taxes, as on an invoice",
    )
    return parser.parse_args()


def main():
    run_rolled_back(parse_arguments(), benchmark)


def benchmark(env, arguments):
    admin = env.ref("base.user_admin")
    env = env(user=admin, context={"tracking_disable": True})
    customer = prepare_data(
        env, arguments.lines, arguments.pricelist, arguments.untaxed
    )
    products = "untaxed, without income account" if arguments.untaxed else "taxed"
    print(
        f"{arguments.lines} lines, {arguments.repeat} runs each, company "
        f"{env.company.name}, pricelist: "
        f"{customer.property_product_pricelist.display_name or 'none'}, "
        f"products: {products}"
    )

    # Warm-up (ormcache, first query plans); the wizard's invoice also gives
    # the exact line values the direct invoice repeats.
    wizard_invoice, _timing = bill_with_wizard(env, customer, arguments)
    line_values = [
        {
            "product_id": line.product_id.id,
            "name": line.name,
            "quantity": line.quantity,
            "price_unit": line.price_unit,
        }
        for line in wizard_invoice.invoice_line_ids
    ]
    assert len(line_values) == arguments.lines, "the wizard billed every line"
    bill_directly(env, customer, line_values)

    wizard_runs, direct_runs = [], []
    for repetition in range(arguments.repeat):
        # Alternate which goes first, so that drift hits both alike.
        if repetition % 2:
            direct_runs.append(bill_directly(env, customer, line_values)[1])
            wizard_runs.append(bill_with_wizard(env, customer, arguments)[1])
        else:
            wizard_runs.append(bill_with_wizard(env, customer, arguments)[1])
            direct_runs.append(bill_directly(env, customer, line_values)[1])

    report(wizard_runs, direct_runs)


def report(wizard_runs, direct_runs):
    def median(runs, key):
        return statistics.median(run[key] for run in runs)

    print(
        f"{'run':>4} {'wizard s':>9} {'direct s':>9} {'ratio':>6}"
        f" {'wizard cpu':>11} {'direct cpu':>11} {'ratio':>6}"
        f" {'wizard q':>9} {'direct q':>9}"
    )
    for index, (wizard, direct) in enumerate(
        zip(wizard_runs, direct_runs, strict=True), start=1
    ):
        print(
            f"{index:>4} {wizard['seconds']:>9.3f} {direct['seconds']:>9.3f}"
            f" {wizard['seconds'] / direct['seconds']:>6.2f}"
            f" {wizard['cpu']:>11.3f} {direct['cpu']:>11.3f}"
            f" {wizard['cpu'] / direct['cpu']:>6.2f}"
            f" {wizard['queries']:>9} {direct['queries']:>9}"
        )
    print(
        f"wizard steps, median CPU s: open {median(wizard_runs, 'open'):.3f}, "
        f"save {median(wizard_runs, 'save'):.3f}, "
        f"bill {median(wizard_runs, 'bill'):.3f}"
    )
    print(
        f"median wall: wizard {median(wizard_runs, 'seconds'):.3f} s, "
        f"direct {median(direct_runs, 'seconds'):.3f} s"
    )
    print(
        f"median CPU of this process (PostgreSQL excluded): "
        f"wizard {median(wizard_runs, 'cpu'):.3f} s, "
        f"direct {median(direct_runs, 'cpu'):.3f} s"
    )
    print(
        f"median queries: wizard {median(wizard_runs, 'queries'):.0f}, "
        f"direct {median(direct_runs, 'queries'):.0f}"
    )
    cpu_ratio = median(wizard_runs, "cpu") / median(direct_runs, "cpu")
    print(f"ratio wizard/direct, CPU: {cpu_ratio:.3f}")
    ratio = median(wizard_runs, "seconds") / median(direct_runs, "seconds")
    verdict = "OK" if ratio <= TARGET_RATIO else "OVER TARGET"
    print(
        f"ratio wizard/direct, wall: {ratio:.3f} (target <= {TARGET_RATIO}) {verdict}"
    )


def prepare_data(env, line_count, with_pricelist, untaxed=False):
    """A customer who bought ``line_count`` products once, billing with
    auto-post on; ``untaxed``: products without customer taxes, in a category
    without income account."""
    env.company.write(
        {"consumer_preference_billing": True, "consumer_preference_auto_post": True}
    )
    untaxed_values = {}
    if untaxed:
        category = env["product.category"].create({"name": "Benchmark untaxed"})
        category.property_account_income_categ_id = False
        untaxed_values = {"categ_id": category.id, "taxes_id": [Command.clear()]}
    products = env["product.product"].create(
        [
            {
                "name": f"Benchmark product {index:04d}",
                "lst_price": 10.0 + index,
                **untaxed_values,
            }
            for index in range(line_count)
        ]
    )
    customer = env["res.partner"].create(
        {"name": "Benchmark customer", "is_company": True}
    )
    env["account.move"].create(
        {
            "move_type": "out_invoice",
            "partner_id": customer.id,
            "invoice_line_ids": [
                Command.create({"product_id": product.id, "quantity": 1})
                for product in products
            ],
        }
    ).action_post()
    if with_pricelist:
        customer.property_product_pricelist = env["product.pricelist"].create(
            {
                "name": "Benchmark pricelist",
                "currency_id": env.company.currency_id.id,
                "item_ids": [
                    Command.create(
                        {
                            "applied_on": "3_global",
                            "compute_price": "percentage",
                            "percent_price": 5.0,
                        }
                    ),
                    Command.create(
                        {
                            "applied_on": "3_global",
                            "min_quantity": 3,
                            "compute_price": "percentage",
                            "percent_price": 10.0,
                        }
                    ),
                ],
            }
        )
    env.flush_all()
    return customer


# What the wizard's form reads back once saved (--form-read).
FORM_SPECIFICATION = {
    "amount_untaxed": {},
    "amount_tax": {},
    "amount_total": {},
    "line_ids": {
        "fields": {
            "product_id": {"fields": {"display_name": {}}},
            "quantity": {},
            "price_unit": {},
            "tax_ids": {"fields": {"display_name": {}}},
            "price_subtotal": {},
        },
        "limit": 40,
    },
}


def bill_with_wizard(env, customer, arguments):
    """Open, save with a quantity on every line, bill: what the web client
    asks the server."""
    env.flush_all()
    env.invalidate_all()
    Wizard = env["consumer.preference.bill"].with_context(
        active_model="res.partner", active_id=customer.id, active_ids=customer.ids
    )
    queries_before = env.cr.sql_log_count
    start = now()
    values = Wizard.default_get(list(Wizard.fields_get(attributes=[])))
    opened = now()
    for index, (_command, _id, line_values) in enumerate(values["line_ids"]):
        line_values["quantity"] = 1 + index % 5
    wizard = Wizard.create(values)
    if arguments.form_read:
        wizard.web_read(FORM_SPECIFICATION)
    env.flush_all()
    saved = now()
    action = wizard.action_bill()
    env.flush_all()
    end = now()
    invoice = env["account.move"].browse(action["res_id"])
    assert invoice.state == "posted"
    assert len(invoice.invoice_line_ids) == arguments.lines
    return invoice, {
        "seconds": end[0] - start[0],
        "cpu": end[1] - start[1],
        "open": opened[1] - start[1],
        "save": saved[1] - opened[1],
        "bill": end[1] - saved[1],
        "queries": env.cr.sql_log_count - queries_before,
    }


def bill_directly(env, customer, line_values):
    env.flush_all()
    env.invalidate_all()
    queries_before = env.cr.sql_log_count
    start = now()
    invoice = env["account.move"].create(
        {
            "move_type": "out_invoice",
            "partner_id": customer.id,
            "invoice_line_ids": [Command.create(values) for values in line_values],
        }
    )
    invoice.action_post()
    env.flush_all()
    end = now()
    assert invoice.state == "posted"
    return invoice, {
        "seconds": end[0] - start[0],
        "cpu": end[1] - start[1],
        "queries": env.cr.sql_log_count - queries_before,
    }


def now():
    """Wall time, and CPU time of this process: PostgreSQL's work shows in the
    first only, and the second suffers less from other programs' load."""
    return time.perf_counter(), time.process_time()


if __name__ == "__main__":
    main()
