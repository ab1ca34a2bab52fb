"""What every benchmark script shares: its command line and a rolled-back run.

A benchmark is ``python3 benchmarks/bench_X.py -c ODOO_CONF -d DATABASE [...]``
against a database with consumer_preferences installed; it runs in one
transaction as the superuser and rolls it back, leaving the database as it
was. What must commit (posting as Odoo posts, a transaction each) runs in
scratch copies of the databases, dropped after.
"""

import argparse
from contextlib import closing, contextmanager

import odoo
from odoo import api
from odoo.modules.registry import Registry
from odoo.sql_db import close_db, db_connect
from odoo.tools import SQL


def argument_parser(description):
    """A parser with the options every benchmark takes; add your own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("-c", "--config", required=True, help="Odoo configuration file")
    parser.add_argument("-d", "--database", required=True, help="database name")
    return parser


def run_rolled_back(arguments, benchmark):
    """Call ``benchmark(env, arguments)`` with a superuser environment of the
    database, then roll everything back."""
    _parse_config(arguments)
    with Registry(arguments.database).cursor() as cr:
        try:
            benchmark(api.Environment(cr, odoo.SUPERUSER_ID, {}), arguments)
        finally:
            cr.rollback()
    print("Rolled back: the database is unchanged.")


@contextmanager
def scratch_copies(arguments, databases):
    """Copy each of ``databases`` (``CREATE DATABASE ... TEMPLATE``) for a
    benchmark that commits, as Odoo does at the end of each request; yield
    the copies' names, in the same order, and drop them after. A database
    someone is connected to cannot be copied: PostgreSQL says so."""
    _parse_config(arguments)
    copies = [f"{name}_bench_scratch" for name in databases]
    with closing(db_connect("postgres").cursor()) as cr:
        cr._cnx.autocommit = True
        for name, copy in zip(databases, copies, strict=True):
            cr.execute(SQL("DROP DATABASE IF EXISTS %s", SQL.identifier(copy)))
            cr.execute(
                SQL(
                    "CREATE DATABASE %s TEMPLATE %s",
                    SQL.identifier(copy),
                    SQL.identifier(name),
                )
            )
    try:
        yield copies
    finally:
        for copy in copies:
            Registry.delete(copy)
            close_db(copy)
        with closing(db_connect("postgres").cursor()) as cr:
            cr._cnx.autocommit = True
            for copy in copies:
                cr.execute(SQL("DROP DATABASE IF EXISTS %s", SQL.identifier(copy)))


def _parse_config(arguments):
    odoo.tools.config.parse_config(["-c", arguments.config, "-d", arguments.database])
