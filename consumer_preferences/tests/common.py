# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
import re
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from unittest.mock import patch

import polib
from lxml import etree

from odoo import Command
from odoo.sql_db import Cursor
from odoo.tests import new_test_user
from odoo.tools import SQL
from odoo.tools.safe_eval import safe_eval
from odoo.tools.translate import TranslationModuleReader

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

from .companies import (
    ACCOUNTMAN,
    PREPARED_COMPANY_MODULE,
    PREPARED_USERS,
    prepared_user_name,
)

# The repository's addons, whose templates ship their terms: one may change a
# term of another (a field's help).
REPOSITORY = Path(__file__).parents[2]


def terms_missing_from_templates(env, module):
    """The terms Odoo exports for ``module`` (the names of the models it adds
    or extends included; tests' own strings aside) that no template of an
    installed addon of this repository holds: left untranslated."""
    reader = TranslationModuleReader(env.cr, modules=[module], lang="en_US")
    exported = {
        source
        for _module, kind, name, _res_id, source, _value, _comments in reader
        if not (kind == "code" and "/tests/" in name)
    }
    installed = set(
        env["ir.module.module"].search([("state", "=", "installed")]).mapped("name")
    )
    shipped = {
        entry.msgid
        for template in REPOSITORY.glob("*/i18n/*.pot")
        if template.stem in installed
        for entry in polib.pofile(str(template))
    }
    return sorted(exported - shipped)


class ConsumerPreferenceCommon(AccountTestInvoicingCommon):
    """Company, users, products with characteristics and customers, built once.

    Flows use the user they belong to: the salesperson specifies, the
    accountant posts invoices.
    """

    @classmethod
    def setUpClass(cls):
        # Odoo's accounting test class makes, for every class, data these
        # tests never use (products and partners a and b, a fiscal position,
        # payment terms, cash roundings, a composite tax, a second user: 0.7 s
        # a class). Its set-up is skipped for its parent's, and what these
        # tests use of it is made here, as it makes it.
        super(AccountTestInvoicingCommon, cls).setUpClass()
        cls.maxDiff = None
        cls.company_data = cls.collect_company_accounting_data(cls.env.company)
        cls.tax_sale_a = cls.company_data["default_tax_sale"]
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.company_data["company"]

        # Contact Creation comes with Odoo's default internal user.
        cls.salesperson = cls._new_company_user(
            "cp_salesperson",
            "base.group_user,base.group_partner_manager,sales_team.group_sale_salesman",
        )
        cls.accountant = cls._new_company_user(
            "cp_accountant", "base.group_user,account.group_account_invoice"
        )
        cls.preference_manager = cls._new_company_user(
            "cp_manager",
            "base.group_user,consumer_preferences.group_consumer_preference_manager",
        )

        cls.quality = cls.env["product.attribute"].create(
            {
                "name": "Quality",
                "create_variant": "no_variant",
                "value_ids": [Command.create({"name": name}) for name in "789"],
            }
        )
        cls.size = cls.env["product.attribute"].create(
            {
                "name": "Size",
                "create_variant": "always",
                "value_ids": [Command.create({"name": name}) for name in "SML"],
            }
        )
        cls.quality_7, cls.quality_8, cls.quality_9 = cls.quality.value_ids
        cls.size_s, cls.size_m, cls.size_l = cls.size.value_ids
        cls.colour = cls.env["product.attribute"].create(
            {"name": "Colour", "value_ids": [Command.create({"name": "Red"})]}
        )

        cls.category_textile = cls.env["product.category"].create({"name": "Textile"})
        cls.category_food = cls.env["product.category"].create({"name": "Food"})
        cls.shirt_template = cls.env["product.template"].create(
            {
                "name": "Shirt",
                "categ_id": cls.category_textile.id,
                "list_price": 20.0,
                "property_account_income_id": cls.company_data[
                    "default_account_revenue"
                ].id,
                "taxes_id": [Command.set(cls.tax_sale_a.ids)],
                "attribute_line_ids": [
                    Command.create(
                        {
                            "attribute_id": cls.size.id,
                            "value_ids": [Command.set(cls.size.value_ids.ids)],
                        }
                    ),
                    Command.create(
                        {
                            "attribute_id": cls.quality.id,
                            "value_ids": [Command.set(cls.quality.value_ids.ids)],
                        }
                    ),
                ],
            }
        )
        cls.shirt_s, cls.shirt_m, cls.shirt_l = (
            cls.shirt_template.product_variant_ids.sorted(
                lambda variant: (
                    variant.product_template_attribute_value_ids.product_attribute_value_id.id
                )
            )
        )
        cls.coffee = cls._create_product(
            name="Coffee", categ_id=cls.category_food.id, lst_price=8.0
        )
        cls.tea = cls._create_product(
            name="Tea", categ_id=cls.category_food.id, lst_price=5.0
        )

        cls.customer = cls.env["res.partner"].create(
            {"name": "Azure Shop", "is_company": True}
        )
        cls.customer_contact = cls.env["res.partner"].create(
            {"name": "Jane Azure", "parent_id": cls.customer.id}
        )
        cls.other_customer = cls.env["res.partner"].create(
            {"name": "Deco Store", "is_company": True}
        )

    @classmethod
    def setup_independent_user(cls):
        # OVERRIDE: the prepared user, as Odoo would create it, unless the
        # class wants more groups
        user = cls._prepared_user(ACCOUNTMAN["login"])
        if user and cls.get_default_groups() <= user.groups_id:
            return user
        return super().setup_independent_user()

    @classmethod
    def setup_independent_company(cls, **kwargs):
        # OVERRIDE: the prepared company, as Odoo would create it
        return (not kwargs and cls._prepared_company("company_1_data")) or (
            super().setup_independent_company(**kwargs)
        )

    @classmethod
    def setup_other_company(cls, **kwargs):
        # OVERRIDE: the prepared company, as Odoo would create it
        company = not kwargs and cls._prepared_company("company_2")
        if not company:
            return super().setup_other_company(**kwargs)
        return cls.collect_company_accounting_data(company)

    @classmethod
    def _prepared_company(cls, name):
        """The company ``name`` prepared in the database (``companies.py``),
        given to the current user as ``_create_company`` gives its company;
        None without it, or when the class wants another chart."""
        if cls.chart_template or cls.country_code:
            return None
        company = cls.env.ref(
            f"{PREPARED_COMPANY_MODULE}.{name}", raise_if_not_found=False
        )
        if company:
            cls.env.user.company_ids = [Command.link(company.id)]
        return company

    @classmethod
    def _prepared_user(cls, login):
        """The user ``login`` prepared in the database (``companies.py``), or
        an empty recordset."""
        return (
            cls.env.ref(
                f"{PREPARED_COMPANY_MODULE}.{prepared_user_name(login)}",
                raise_if_not_found=False,
            )
            or cls.env["res.users"]
        )

    @classmethod
    def _new_company_user(cls, login, groups):
        """A user of the test company only, with these groups (xml ids): the
        prepared one when the class uses the prepared company."""
        prepared = PREPARED_USERS.get(login) == groups and cls._prepared_user(login)
        if prepared:
            if prepared.company_ids != cls.company:  # a class's own company
                prepared.write(
                    {
                        "company_id": cls.company.id,
                        "company_ids": [Command.set(cls.company.ids)],
                    }
                )
            return prepared
        return new_test_user(
            cls.env,
            login=login,
            groups=groups,
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    @classmethod
    def _create_customer_invoice(
        cls,
        partner,
        lines,
        move_type="out_invoice",
        invoice_date="2026-01-15",
        **values,
    ):
        """A draft customer invoice; ``lines`` are (product, quantity, price_unit)."""
        return cls.env["account.move"].create(
            {
                "move_type": move_type,
                "partner_id": partner.id,
                "invoice_date": invoice_date,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "product_id": product.id,
                            "quantity": quantity,
                            "price_unit": price,
                        }
                    )
                    for product, quantity, price in lines
                ],
                **values,
            }
        )

    def _post_for_new_customers(self, count=12):
        """Post an invoice of coffee and tea for each of ``count`` new
        customers, and bring the planner's statistics of the invoices and
        customers up to date (a test reading a plan's estimates)."""
        customers = self.env["res.partner"].create(
            [{"name": f"Estimated customer {number}"} for number in range(count)]
        )
        for customer in customers:
            self._post_customer_invoice(
                customer, [(self.coffee, 1, 8.0), (self.tea, 2, 5.0)]
            )
        self.env.flush_all()
        self.env.cr.execute("ANALYZE account_move, account_move_line, res_partner")
        return customers

    @classmethod
    def _post_customer_invoice(cls, partner, lines, **values):
        """Create and post as the accountant, as in real life."""
        invoice = cls._create_customer_invoice(partner, lines, **values)
        invoice.with_user(cls.accountant).action_post()
        return invoice

    def _reverse(self, move, modify=False, reversal_date=None):
        """Odoo's reversal wizard on ``move``, as the accountant: a draft
        reversal (Reverse), or a posted one with a draft copy of ``move`` to
        correct (Reverse and Create Invoice). Returns the new reversal and
        that draft."""
        earlier_reversals = move.reversal_move_ids
        wizard = (
            self.env["account.move.reversal"]
            .with_user(self.accountant)
            .with_context(active_model="account.move", active_ids=move.ids)
            .create(
                {
                    "journal_id": move.journal_id.id,
                    "reason": "Wrong price",
                    "date": reversal_date or move.invoice_date,
                }
            )
        )
        action = wizard.modify_moves() if modify else wizard.refund_moves()
        corrected = self.env["account.move"].browse(
            action.get("res_id") if modify else ()
        )
        return move.reversal_move_ids - earlier_reversals, corrected

    def _history(self, partner=None, product=None):
        domain = [("preference_type", "=", "history")]
        if partner:
            domain.append(("partner_id", "=", partner.id))
        if product:
            domain.append(("product_id", "=", product.id))
        return self.env["consumer.preference"].search(domain)

    def _filter_domain(self, filter_name):
        """The domain of a filter of the search view, evaluated as the web
        client does."""
        search_view = self.env.ref(
            "consumer_preferences.consumer_preference_view_search"
        )
        [filter_node] = etree.fromstring(search_view.arch).xpath(
            f"//filter[@name='{filter_name}']"
        )
        return safe_eval(filter_node.get("domain"), {"context_today": date.today})

    @contextmanager
    def _record_priced_lines(self):
        """Within the block, the ids of the Bill wizard's lines whose unit
        price is computed are added to the set this yields."""
        line_class = type(self.env["consumer.preference.bill.line"])
        compute_price_unit = line_class._compute_price_unit
        priced_ids = set()

        def record_and_compute(lines):
            priced_ids.update(lines.ids)
            return compute_price_unit(lines)

        with patch.object(line_class, "_compute_price_unit", record_and_compute):
            yield priced_ids


def loops_over_computed_sets(plan):
    """The nested loops of an EXPLAIN (FORMAT JSON) plan whose inner side
    scans a set computed in the statement (a CTE or a subquery), which has
    no index: each reads the whole set once per row of its outer side."""
    node = plan["Plan"] if "Plan" in plan else plan
    children = node.get("Plans", [])
    if node["Node Type"] == "Nested Loop":
        inner = children[1]
        while inner["Node Type"] in ("Materialize", "Hash", "Sort"):
            inner = inner["Plans"][0]
        if inner["Node Type"] in ("CTE Scan", "Subquery Scan", "Function Scan"):
            yield f"{node.get('Join Type')} loop over {inner['Node Type']}"
    for child in children:
        yield from loops_over_computed_sets(child)


@contextmanager
def explained_plans(marker, analyze=False):
    """Within the block, each statement sent whose text contains ``marker``
    is first explained (EXPLAIN (FORMAT JSON)) on the same cursor, at the
    moment it runs; the block gets the list of those plans. With
    ``analyze``, the statement is run once more to explain it: for
    statements that only read (or take advisory locks, which a transaction
    may take again)."""
    plans = []
    execute = Cursor.execute
    options = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"

    def explaining_execute(cursor, query, params=None, log_exceptions=True):
        code = getattr(query, "code", query)
        if isinstance(code, str) and marker in code:
            execute(
                cursor,
                f"EXPLAIN ({options}) {code}",
                getattr(query, "params", params),
            )
            plans.append(cursor.fetchone()[0][0])
        return execute(cursor, query, params, log_exceptions)

    with patch.object(Cursor, "execute", explaining_execute):
        yield plans


def rows_read(node, table):
    """The rows an analyzed plan's ``node``, below it included, read from
    ``table``: those its scans returned and those their conditions
    removed, in every loop."""
    read = 0
    if node.get("Relation Name") == table:
        read = node["Actual Loops"] * (
            node["Actual Rows"]
            + node.get("Rows Removed by Filter", 0)
            + node.get("Rows Removed by Index Recheck", 0)
        )
    return read + sum(rows_read(child, table) for child in node.get("Plans", []))


def negated_subplans(node):
    """The conditions of a plan's ``node``, below it included, that keep the
    rows *not* in a subquery's result ("not in"): PostgreSQL checks them
    against the result hashed, or, once too long to hash, by reading it
    again for each row."""
    for key in ("Filter", "Join Filter", "Index Cond", "Recheck Cond"):
        if re.search(r"NOT \((hashed )?SubPlan", node.get(key, "")):
            yield node[key]
    for child in node.get("Plans", []):
        yield from negated_subplans(child)


def searched_by_joins(test, model, domain):
    """Assert that searching ``domain`` on ``model`` keeps no row for not
    being in a subquery's result: a "not in" PostgreSQL cannot hash (a list
    of hundreds of thousands of ids) is checked by reading the list again
    for each row, more than a minute for 375,000 lines."""
    query = model._search(domain)
    test.env.cr.execute(SQL("EXPLAIN (FORMAT JSON) %s", query.select()))
    plan = test.env.cr.fetchone()[0][0]
    test.assertEqual(
        list(negated_subplans(plan["Plan"])), [], f"{model._name} {domain}"
    )
