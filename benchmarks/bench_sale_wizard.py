"""Add from Preferences on a quotation, against OCA's recommendation wizard.

    python3 benchmarks/bench_sale_wizard.py -c ODOO_CONF -d DATABASE
        [--lines 2000] [--repeat 5] [--oca-lines 1000]

Needs a database with consumer_preferences_sale installed and a company with a
chart of accounts; OCA's ``sale_order_product_recommendation`` (18.0) is
measured too when installed in the same database (it is not part of this
project: ``pip install --no-deps odoo-addon-sale-order-product-recommendation``
into a folder of the addons path). Everything happens in one transaction,
rolled back at the end: the database is left as it was.

A customer has LINES preference lines: LINES / 2 specifications (products 0
to LINES / 2) and LINES / 2 history lines from two posted invoices of two
confirmed, delivered sales orders (products LINES / 4 to 3 * LINES / 4), so
that both wizards find the same purchases. Each repetition times what the web
client asks the server, with an empty record cache, as the salesperson
(the administrator):

- ours: the quotation's *Add from Preferences* button, which creates the
  wizard and its lines (unpriced: a line is priced when read or billed), then
  the form's ``web_read`` (the first 40 lines with their suggested quantity,
  price, taxes and subtotal, as the web client reads a list: 40 lines
  priced);
- OCA: its *Recommended Products* button's action, the form's ``onchange``,
  saving the wizard (``web_save``), *Generate* (``generate_recommendations``,
  ``line_amount`` = OCA-LINES products) and the reopened wizard's
  ``web_read`` (the first 40 lines, likewise).

The report gives each run, the medians (wall time, PostgreSQL included, CPU
time of this process, SQL queries), the ratio ours / OCA and the verdict
against the target: ours opens in < 0.5 s.
"""

import statistics
import time

from lxml import etree

from odoo import Command, fields

from rolled_back import argument_parser, run_rolled_back

TARGET_SECONDS = 0.5
# Records of a list (an x2many's included) the web client reads at once.
LIST_LIMIT = 40


def parse_arguments():
    parser = argument_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2000, help="preference lines")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each")
    parser.add_argument(
        "--oca-lines",
        type=int,
        default=1000,
        help="OCA's line_amount: how many bought products it recommends",
    )
    return parser.parse_args()


def main():
    run_rolled_back(parse_arguments(), benchmark)


def benchmark(env, arguments):
    admin = env.ref("base.user_admin")
    env = env(user=admin, context={"tracking_disable": True})
    oca = "sale.order.recommendation" in env
    print(f"Preparing {arguments.lines} preference lines ...", flush=True)
    order = prepare_data(env, arguments.lines)
    preference_count = env["consumer.preference"].search_count(
        [("partner_id", "=", order.partner_id.id)]
    )
    print(
        f"{preference_count} preference lines, {arguments.repeat} runs each, "
        f"OCA sale_order_product_recommendation: "
        f"{'installed' if oca else 'not installed, not measured'}"
    )
    ours_spec = form_fields_spec(env, "consumer.preference.bill")
    oca_spec = form_fields_spec(env, "sale.order.recommendation") if oca else None

    # Warm-up: ormcache, views, first query plans.
    ours_lines, _timing = open_ours(env, order, ours_spec)
    if oca:
        oca_lines, _timing = open_oca(env, order, oca_spec, arguments.oca_lines)
        print(f"lines shown: ours {ours_lines}, OCA {oca_lines}")
    else:
        print(f"lines shown: ours {ours_lines}")

    ours_runs, oca_runs = [], []
    for repetition in range(arguments.repeat):
        # Alternate which goes first, so that drift hits both alike.
        steps = [lambda: ours_runs.append(open_ours(env, order, ours_spec)[1])]
        if oca:
            steps.append(
                lambda: oca_runs.append(
                    open_oca(env, order, oca_spec, arguments.oca_lines)[1]
                )
            )
        for step in steps if repetition % 2 == 0 else reversed(steps):
            step()
    report(ours_runs, oca_runs)


def report(ours_runs, oca_runs):
    def median(runs, key):
        return statistics.median(run[key] for run in runs)

    print(f"{'run':>4} {'ours s':>8} {'ours cpu':>9} {'ours q':>7}", end="")
    print(f" {'OCA s':>8} {'OCA cpu':>9} {'OCA q':>7}" if oca_runs else "")
    for index, ours in enumerate(ours_runs):
        print(
            f"{index + 1:>4} {ours['seconds']:>8.3f} {ours['cpu']:>9.3f}"
            f" {ours['queries']:>7}",
            end="",
        )
        if oca_runs:
            oca = oca_runs[index]
            print(f" {oca['seconds']:>8.3f} {oca['cpu']:>9.3f} {oca['queries']:>7}")
        else:
            print()
    ours_seconds = median(ours_runs, "seconds")
    print(
        f"ours (Add from Preferences opens): median {ours_seconds:.3f} s wall, "
        f"{median(ours_runs, 'cpu'):.3f} s CPU, "
        f"{median(ours_runs, 'queries'):.0f} queries"
    )
    if oca_runs:
        oca_seconds = median(oca_runs, "seconds")
        print(
            f"OCA (open, generate, read the lines): median {oca_seconds:.3f} s "
            f"wall, {median(oca_runs, 'cpu'):.3f} s CPU, "
            f"{median(oca_runs, 'queries'):.0f} queries"
        )
        print(f"ratio ours/OCA, wall: {ours_seconds / oca_seconds:.3f}")
    verdict = "OK" if ours_seconds < TARGET_SECONDS else "OVER TARGET"
    print(f"ours: {ours_seconds:.3f} s (target < {TARGET_SECONDS} s) {verdict}")


def prepare_data(env, line_count):
    """A quotation of a customer with ``line_count`` preference lines."""
    env.company.write({"consumer_preference_billing": True})
    half, quarter = line_count // 2, line_count // 4
    products = env["product.product"].create(
        [
            {"name": f"Benchmark product {index:04d}", "lst_price": 10.0 + index}
            for index in range(half + quarter)
        ]
    )
    customer = env["res.partner"].create(
        {"name": "Benchmark customer", "is_company": True}
    )
    env["consumer.preference"].create(
        [
            {"partner_id": customer.id, "product_id": product.id}
            for product in products[:half]
        ]
    )
    bought = products[quarter : quarter + half]
    for days_ago in (60, 30):
        order = env["sale.order"].create(
            {
                "partner_id": customer.id,
                "order_line": [
                    Command.create({"product_id": product.id, "product_uom_qty": 2})
                    for product in bought
                ],
            }
        )
        order.action_confirm()
        # Delivered (OCA recommends delivered products), then invoiced: the
        # posted invoice records our history.
        order.order_line.qty_delivered = 2
        invoice = order._create_invoices()
        invoice.invoice_date = fields.Date.subtract(
            fields.Date.context_today(invoice), days=days_ago
        )
        invoice.action_post()
    quotation = env["sale.order"].create({"partner_id": customer.id})
    env.flush_all()
    return quotation


def form_fields_spec(env, model):
    """The ``fields_spec`` the web client sends for the model's form view:
    its fields, those of its lists' inline views, names of related records."""
    view = env[model].get_views([(False, "form")])
    arch = etree.fromstring(view["views"]["form"]["arch"])
    return _node_spec(env[model], arch)


def _node_spec(model, node):
    spec = {}
    for field_node in node.iter("field"):
        if _inside_other_field(field_node, node):
            continue
        name = field_node.get("name")
        field = model._fields[name]
        if field.type in ("one2many", "many2many"):
            subview = next(iter(field_node.iterchildren("list", "form")), None)
            if subview is not None:
                # The web client reads the first page of a list only.
                spec[name] = {
                    "fields": _node_spec(model.env[field.comodel_name], subview),
                    "limit": int(subview.get("limit", LIST_LIMIT)),
                }
            else:
                spec[name] = {"fields": {"display_name": {}}}
        elif field.type == "many2one":
            spec[name] = {"fields": {"display_name": {}}}
        else:
            spec[name] = {}
    return spec


def _inside_other_field(field_node, root):
    parent = field_node.getparent()
    while parent is not None and parent is not root:
        if parent.tag == "field":
            return True
        parent = parent.getparent()
    return False


def open_ours(env, order, spec):
    """The button (which creates the wizard), then the form's web_read."""
    env.flush_all()
    env.invalidate_all()
    queries_before = env.cr.sql_log_count
    start = now()
    action = order.action_add_from_preferences()
    wizard = env[action["res_model"]].browse(action["res_id"])
    [record] = wizard.web_read(spec)
    env.flush_all()
    end = now()
    assert record["line_ids"], "the wizard offers the preferences"
    return len(wizard.line_ids), timing(
        start, end, env.cr.sql_log_count - queries_before
    )


def open_oca(env, order, spec, line_amount):
    """OCA's button action, onchange, save, Generate, read the lines."""
    env.flush_all()
    env.invalidate_all()
    queries_before = env.cr.sql_log_count
    start = now()
    action = env["ir.actions.act_window"]._for_xml_id(
        "sale_order_product_recommendation.sale_order_recommendation_action"
    )
    Wizard = env["sale.order.recommendation"].with_context(
        active_model="sale.order", active_id=order.id, active_ids=order.ids
    )
    values = Wizard.onchange({}, [], spec)["value"]
    values = {
        name: value["id"] if isinstance(value, dict) else value
        for name, value in values.items()
        if name != "line_ids"
    }
    values["line_amount"] = line_amount
    wizard = Wizard.browse(Wizard.web_save(values, {})[0]["id"])
    reopen = wizard.generate_recommendations()
    [record] = wizard.browse(reopen["res_id"]).web_read(spec)
    end = now()
    assert action["res_model"] == wizard._name
    return len(record["line_ids"]), timing(
        start, end, env.cr.sql_log_count - queries_before
    )


def timing(start, end, queries):
    return {"seconds": end[0] - start[0], "cpu": end[1] - start[1], "queries": queries}


def now():
    """Wall time, and CPU time of this process: PostgreSQL's work shows in the
    first only, and the second suffers less from other programs' load."""
    return time.perf_counter(), time.process_time()


if __name__ == "__main__":
    main()
