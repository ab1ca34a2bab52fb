"""Time the partner form of a customer with 2,000 purchase history lines.

    python3 benchmarks/bench_profile.py -c <odoo.conf> -d <database> [--lines 2000]

The database needs consumer_preferences installed (with accounting configured:
a chart of accounts and a sales journal in the admin's company). The script
creates products with a size characteristic and posted customer invoices so
that the history service records one history line per product, then times the
server side of opening the customer's form: the ``web_read`` the web client
sends, with the specification it builds from the form view. Everything is
rolled back at the end.

How the specification is built (as ``getFieldsSpec`` in the web client's
``relational_model/utils.js`` does): every field of the form arch returned by
``get_views`` is read; a many2one reads its ``display_name``; an x2many with an
inline list or kanban reads that subview's fields for its first 40 records
(the subview's ``limit``); ``many2many_tags`` read ``display_name``; fields
always invisible are read without their related records.
"""

import statistics
import time
from datetime import date, timedelta

from lxml import etree

from odoo import Command

from rolled_back import argument_parser, run_rolled_back

X2MANY_DEFAULT_LIMIT = 40
INVOICE_LINE_COUNT = 100  # lines per invoice
SIZES = ("XS", "S", "M", "L")


def main(argv=None):
    run_rolled_back(parse_arguments(argv), run)


def parse_arguments(argv):
    parser = argument_parser(__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--lines", type=int, default=2000, help="history lines (default 2000)"
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="timed form opens (default 5)"
    )
    return parser.parse_args(argv)


def run(env, arguments):
    user = env.ref("base.user_admin")
    company = user.company_id
    env = env(context={"allowed_company_ids": company.ids})

    started = time.perf_counter()
    customer = create_customer_with_history(env, arguments.lines)
    history_count = env["consumer.preference"].search_count(
        [("partner_id", "=", customer.id), ("preference_type", "=", "history")]
    )
    print(
        f"Set up {history_count} history lines for {customer.name} "
        f"in {time.perf_counter() - started:.1f} s."
    )
    env.flush_all()

    # What a request of the admin opening the form runs with.
    user_env = env(
        user=user,
        context={
            "lang": user.lang or "en_US",
            "tz": user.tz or "UTC",
            "allowed_company_ids": company.ids,
            "bin_size": True,
        },
    )
    form_view = user_env["res.partner"].get_views([(False, "form")])
    specification = form_specification(form_view, "res.partner")
    profile_specification = {
        field_name: {}
        for field_name in specification
        if field_name.startswith("consumer_profile_")
    }

    partner = customer.with_env(user_env)
    report("Form web_read", partner, specification, arguments.runs)
    report("Profile fields only", partner, profile_specification, arguments.runs)

    values = partner.web_read(profile_specification)[0]
    print("Summary shown:")
    for field_name, value in values.items():
        if field_name != "id":
            print(f"  {field_name}: {value}")


def report(title, partner, specification, runs):
    """Time ``web_read``: the first (cold registry caches) and then ``runs``
    more, each with an empty record cache, as in a new request."""
    timings = [time_web_read(partner, specification) for _run in range(runs + 1)]
    cold, warm = timings[0], timings[1:]
    median_seconds = statistics.median(seconds for seconds, _queries in warm)
    print(
        f"{title}: first {cold[0] * 1000:.0f} ms / {cold[1]} queries; "
        f"then median {median_seconds * 1000:.0f} ms / {warm[-1][1]} queries "
        f"over {runs} runs ({len(specification)} fields)"
    )


def time_web_read(partner, specification):
    env = partner.env
    env.invalidate_all()
    cr = env.cr
    query_count = cr.sql_log_count
    started = time.perf_counter()
    partner.web_read(specification)
    return time.perf_counter() - started, cr.sql_log_count - query_count


def form_specification(views, model_name):
    """The web_read specification the web client builds for the form."""
    models = views["models"]
    arch = etree.fromstring(views["views"]["form"]["arch"])
    return arch_specification(arch, model_name, models)


def arch_specification(node, model_name, models):
    fields = models[model_name]["fields"]
    specification = {}
    for field_node in top_field_nodes(node):
        field_name = field_node.get("name")
        field = fields[field_name]
        always_invisible = field_node.get("invisible") in ("1", "True")
        field_specification = specification.setdefault(field_name, {})
        if field["type"] in ("many2one", "reference"):
            field_specification.setdefault("fields", {})
            if not always_invisible:
                field_specification["fields"]["display_name"] = {}
        elif field["type"] in ("one2many", "many2many") and not always_invisible:
            subview = next(
                (child for child in field_node if child.tag in ("list", "kanban")),
                None,
            )
            if subview is not None:
                field_specification["fields"] = arch_specification(
                    subview, field["relation"], models
                )
                field_specification["limit"] = int(
                    subview.get("limit") or X2MANY_DEFAULT_LIMIT
                )
            elif field_node.get("widget") in ("many2many_tags", "many2many_checkboxes"):
                field_specification["fields"] = {"display_name": {}}
    return specification


def top_field_nodes(node):
    """The field nodes of this view, not those of its x2many subviews."""
    for child in node:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "field":
            yield child
        else:
            yield from top_field_nodes(child)


def create_customer_with_history(env, line_count):
    """A customer who bought ``line_count`` products, each on two posted
    invoices: ``line_count`` history lines, written by the history service
    when the invoices are posted."""
    size = env["product.attribute"].create(
        {
            "name": "Benchmark Size",
            "create_variant": "always",
            "value_ids": [Command.create({"name": name}) for name in SIZES],
        }
    )
    categories = env["product.category"].create(
        [{"name": f"Benchmark Category {number}"} for number in range(8)]
    )
    template_count = -(-line_count // len(SIZES))
    templates = env["product.template"].create(
        [
            {
                "name": f"Benchmark Product {number:04d}",
                "categ_id": categories[number % len(categories)].id,
                "list_price": 10.0 + number % 50,
                "taxes_id": [Command.clear()],
                "attribute_line_ids": [
                    Command.create(
                        {
                            "attribute_id": size.id,
                            "value_ids": [Command.set(size.value_ids.ids)],
                        }
                    )
                ],
            }
            for number in range(template_count)
        ]
    )
    products = templates.product_variant_ids[:line_count]

    customer = env["res.partner"].create(
        {"name": "Benchmark Customer", "is_company": True}
    )
    batches = [
        products[start : start + INVOICE_LINE_COUNT]
        for start in range(0, len(products), INVOICE_LINE_COUNT)
    ]
    first_date = date(2025, 1, 6)
    invoice_values = []
    for purchase in range(2):  # each product bought twice
        for number, batch in enumerate(batches):
            invoice_date = first_date + timedelta(days=purchase * 300 + number * 7)
            invoice_values.append(
                {
                    "move_type": "out_invoice",
                    "partner_id": customer.id,
                    "invoice_date": invoice_date,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": product.id,
                                "quantity": 1 + product.id % 5,
                                "price_unit": product.lst_price,
                                "tax_ids": [Command.clear()],
                            }
                        )
                        for product in batch
                    ],
                }
            )
    invoices = env["account.move"].create(invoice_values)
    invoices.action_post()
    return customer


if __name__ == "__main__":
    main()
