"""End-to-end: the addon's life in a database of its own.

A copy of the test database (the addon installed with its demo data, so
specifications and a history built from posted invoices), plus a customer
invoiced outside the demo data (uninstalling deletes the addon's demo
invoices), goes through what an administrator does: tune the record rule,
upgrade (``-u``), uninstall, install again. Each step runs in a separate Odoo
process, as in production; the fixture records what each step left, and each
test checks one promise.
"""

import os
import shutil
import subprocess
import sys
import uuid
from contextlib import closing

import pytest

import odoo
from odoo.tools import SQL, config

ADDON = "consumer_preferences"
TUNED_RULE_DOMAIN = "[('company_id', 'in', company_ids), ('active', '=', True)]"
# The statistics of a history line, which a reinstall must rebuild as they
# were; ids, audit columns and characteristic values (whose demo records the
# uninstall removes with the addon) aside.
HISTORY_COLUMNS = (
    "company_id, partner_id, product_id, invoice_count, refund_count, quantity, "
    "amount, first_invoice_date, last_invoice_date, last_price_unit, "
    "average_quantity, next_expected_date"
)
CUSTOMER = "Lifecycle Customer"
# Run in `odoo shell`: data of no module, which the uninstall keeps.
CREATE_DATA = f"""
from odoo import Command
customer = env["res.partner"].create({{"name": "{CUSTOMER}", "is_company": True}})
product = env["product.product"].create({{"name": "Lifecycle Tea", "lst_price": 5.0}})
for invoice_date, quantity, move_type in (
    ("2026-01-10", 2, "out_invoice"),
    ("2026-02-10", 3, "out_invoice"),
    ("2026-02-20", 1, "out_refund"),
):
    env["account.move"].create({{
        "move_type": move_type,
        "partner_id": customer.id,
        "invoice_date": invoice_date,
        "invoice_line_ids": [Command.create({{
            "product_id": product.id, "quantity": quantity, "price_unit": 5.0,
        }})],
    }}).action_post()
env["consumer.preference"].create({{
    "partner_id": customer.id, "product_id": product.id, "note": "Green",
}})
env.cr.commit()
"""
HISTORY_INDEXES = (
    "account_move_consumer_preference_history_index",
    "account_move_line_consumer_preference_history_index",
)
# What the uninstall must leave nothing of, as queries returning what is left.
LEFTOVER_QUERIES = {
    "tables": """
        SELECT table_name FROM information_schema.tables
         WHERE table_schema = 'public' AND table_name LIKE 'consumer%%'
    """,
    "columns": """
        SELECT table_name || '.' || column_name FROM information_schema.columns
         WHERE table_schema = 'public' AND column_name LIKE 'consumer%%'
    """,
    "indexes": "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%consumer%%'",
    "functions": "SELECT proname FROM pg_proc WHERE proname LIKE 'consumer%%'",
    "constraints": """
        SELECT conname FROM pg_constraint WHERE conname LIKE '%%consumer%%'
    """,
    "models": "SELECT model FROM ir_model WHERE model LIKE 'consumer.%%'",
    "fields": """
        SELECT model || '.' || name FROM ir_model_fields
         WHERE name LIKE 'consumer%%' OR model LIKE 'consumer.%%'
    """,
    "views": """
        SELECT name FROM ir_ui_view
         WHERE name LIKE '%%consumer%%' OR arch_db::text LIKE '%%consumer_pref%%'
    """,
    "menus": """
        SELECT menu.id::text FROM ir_ui_menu menu
          JOIN ir_model_data xml_id
            ON xml_id.model = 'ir.ui.menu' AND xml_id.res_id = menu.id
         WHERE xml_id.module = %(addon)s
    """,
    "actions": """
        SELECT name->>'en_US' FROM ir_actions
         WHERE name->>'en_US' IN ('Consumer Preferences', 'Bill from Preferences',
                                  'Rebuild purchase history',
                                  'Forget consumer preferences')
    """,
    "groups": """
        SELECT module_group.name->>'en_US' FROM res_groups module_group
          JOIN ir_module_category category ON category.id = module_group.category_id
         WHERE category.name->>'en_US' = 'Consumer Preferences'
    """,
    "categories": """
        SELECT name->>'en_US' FROM ir_module_category
         WHERE name->>'en_US' = 'Consumer Preferences'
    """,
    "rules": "SELECT name FROM ir_rule WHERE name ILIKE 'consumer preferences%%'",
    "access rights": "SELECT name FROM ir_model_access WHERE name LIKE 'consumer%%'",
    "external ids of views, menus, groups, rules, rights and models": """
        SELECT model || ' ' || name FROM ir_model_data
         WHERE module = %(addon)s AND model IN (
               'ir.ui.view', 'ir.ui.menu', 'res.groups', 'ir.rule',
               'ir.model.access', 'ir.model', 'ir.model.fields',
               'ir.model.constraint', 'ir.actions.act_window',
               'ir.actions.server', 'ir.module.category')
    """,
}


def _run_odoo(database, *arguments, stdin=None):
    """Run Odoo on ``database`` in a process of its own, as an administrator
    does; fail with its output when it fails."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "odoo",
            *arguments,
            f"--config={config.rcfile}",
            f"--database={database}",
            "--no-http",
            "--log-level=warn",
        ],
        input=stdin,
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


def _query(database, query):
    """The rows of ``query`` in ``database``, sorted."""
    connection = odoo.sql_db.db_connect(database)
    with closing(connection.cursor()) as cr:
        cr.execute(query, {"addon": ADDON})
        return sorted(cr.fetchall())


def _preference_rows(database):
    """Every preference line, every column, and every characteristic link."""
    return (
        _query(database, "SELECT * FROM consumer_preference"),
        _query(database, "SELECT * FROM consumer_preference_attribute_value_rel"),
    )


def _history(database):
    """The history lines of the customer invoiced outside the demo data."""
    return _query(
        database,
        f"""SELECT {HISTORY_COLUMNS} FROM consumer_preference
             WHERE preference_type = 'history'
               AND partner_id IN (SELECT id FROM res_partner
                                   WHERE name = '{CUSTOMER}')""",
    )


def _rule_domain(database):
    return _query(
        database,
        f"""SELECT rule.domain_force FROM ir_rule rule
              JOIN ir_model_data xml_id
                ON xml_id.model = 'ir.rule' AND xml_id.res_id = rule.id
             WHERE xml_id.module = '{ADDON}'
               AND xml_id.name = 'consumer_preference_rule_company'""",
    )


@pytest.fixture(scope="module")
def lifecycle():
    """Run the whole life once; return what each step left."""
    source = config["db_name"]
    database = f"{source}_lifecycle_{uuid.uuid4().hex[:6]}"
    _copy_database(source, database)
    try:
        _run_odoo(database, "shell", stdin=CREATE_DATA)
        observed = {"installed_preferences": _preference_rows(database)}
        observed["installed_history"] = _history(database)
        connection = odoo.sql_db.db_connect(database)
        with closing(connection.cursor()) as cr:
            cr.execute(
                """UPDATE ir_rule SET domain_force = %s
                    WHERE id = (SELECT res_id FROM ir_model_data
                                 WHERE module = %s
                                   AND name = 'consumer_preference_rule_company')
                """,
                [TUNED_RULE_DOMAIN, ADDON],
            )
            cr.commit()

        _run_odoo(database, f"--update={ADDON}", "--stop-after-init")
        observed["updated_preferences"] = _preference_rows(database)
        observed["updated_rule_domain"] = _rule_domain(database)

        _run_odoo(
            database,
            "shell",
            stdin=(
                "env['ir.module.module'].search("
                f"[('name', '=', '{ADDON}')]).button_immediate_uninstall()\n"
            ),
        )
        observed["uninstalled_state"] = _query(
            database, "SELECT state FROM ir_module_module WHERE name = %(addon)s"
        )
        observed["leftovers"] = {
            kind: _query(database, query) for kind, query in LEFTOVER_QUERIES.items()
        }

        # Demo data again would add invoices: reinstall on the same invoices.
        _run_odoo(
            database, f"--init={ADDON}", "--without-demo=all", "--stop-after-init"
        )
        observed["reinstalled_history"] = _history(database)
        return observed
    finally:
        _drop_database(database)


def _server_statement(statement):
    """Run a statement outside any transaction, on the server's maintenance
    database (CREATE and DROP DATABASE cannot run in one)."""
    with closing(odoo.sql_db.db_connect("postgres").cursor()) as cr:
        cr._cnx.autocommit = True
        cr.execute(statement)


def _copy_database(source, database):
    """Copy the test database, filestore included. Not Odoo's
    exp_duplicate_database: it loads the copy's registry in this process,
    which pytest-odoo runs in test mode."""
    # A template cannot be copied while connected to: give back this
    # process's idle connections (no test holds a cursor between tests).
    odoo.sql_db.close_db(source)
    _server_statement(
        SQL(
            "CREATE DATABASE %s TEMPLATE %s",
            SQL.identifier(database),
            SQL.identifier(source),
        )
    )
    # The source's files are where Odoo keeps them for this process (a
    # pytest-xdist worker's copy of the test database shares the original's);
    # the copy's, where the Odoo it is run by will look.
    if os.path.isdir(config.filestore(source)):
        shutil.copytree(config.filestore(source), _own_filestore(database))


def _drop_database(database):
    odoo.sql_db.close_db(database)
    _server_statement(SQL("DROP DATABASE IF EXISTS %s", SQL.identifier(database)))
    shutil.rmtree(_own_filestore(database), ignore_errors=True)


def _own_filestore(database):
    """The folder of `database`'s files in Odoo's data folder. Not
    `config.filestore()`: pytest-odoo points it at the original test
    database's files for every database in a pytest-xdist worker."""
    return os.path.join(config["data_dir"], "filestore", database)


def test_install_has_data(lifecycle):
    preferences, links = lifecycle["installed_preferences"]
    assert len(preferences) > 10 and links
    assert len(lifecycle["installed_history"]) == 1


def test_update_keeps_every_line(lifecycle):
    assert lifecycle["updated_preferences"] == lifecycle["installed_preferences"]


def test_update_keeps_tuned_record_rule(lifecycle):
    """Defect 10: the rule is noupdate data."""
    assert lifecycle["updated_rule_domain"] == [(TUNED_RULE_DOMAIN,)]


def test_uninstall_leaves_nothing(lifecycle):
    assert lifecycle["uninstalled_state"] == [("uninstalled",)]
    leftovers = {
        kind: [row for row in rows if row[0] not in HISTORY_INDEXES]
        for kind, rows in lifecycle["leftovers"].items()
    }
    # The history service's indexes: test_uninstall_drops_history_indexes.
    assert {kind: rows for kind, rows in leftovers.items() if rows} == {}


def test_uninstall_drops_history_indexes(lifecycle):
    """Defect 8: the history service's indexes go with the addon (its
    uninstall_hook, in hooks.py)."""
    left_indexes = {name for (name,) in lifecycle["leftovers"]["indexes"]}
    assert left_indexes.isdisjoint(HISTORY_INDEXES), left_indexes


def test_reinstall_rebuilds_history(lifecycle):
    assert lifecycle["reinstalled_history"] == lifecycle["installed_history"]
