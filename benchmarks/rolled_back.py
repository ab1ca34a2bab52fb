"""What every benchmark script shares: its command line and a rolled-back run.

A benchmark is ``python3 benchmarks/bench_X.py -c ODOO_CONF -d DATABASE [...]``
against a database with consumer_preferences installed; it runs in one
transaction as the superuser and rolls it back, leaving the database as it
was.
"""

import argparse

import odoo
from odoo import api
from odoo.modules.registry import Registry


def argument_parser(description):
    """A parser with the options every benchmark takes; add your own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("-c", "--config", required=True, help="Odoo configuration file")
    parser.add_argument("-d", "--database", required=True, help="database name")
    return parser


def run_rolled_back(arguments, benchmark):
    """Call ``benchmark(env, arguments)`` with a superuser environment of the
    database, then roll everything back."""
    odoo.tools.config.parse_config(["-c", arguments.config, "-d", arguments.database])
    with Registry(arguments.database).cursor() as cr:
        try:
            benchmark(api.Environment(cr, odoo.SUPERUSER_ID, {}), arguments)
        finally:
            cr.rollback()
    print("Rolled back: the database is unchanged.")
