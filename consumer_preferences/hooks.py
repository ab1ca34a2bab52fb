# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo.tools import SQL

from .models.account_move import HISTORY_MOVE_INDEX
from .models.account_move_line import HISTORY_LINE_INDEX
from .models.consumer_preference_statistics import CREDITED_FUNCTION


def post_init_hook(env):
    """Backfill: a database that already has posted invoices gets its whole
    purchase history in one pass, through the same service as live posting."""
    env["consumer.preference.history"]._rebuild()
    # ... and its customers' segments and products bought together, without
    # waiting for the first night.
    for company in env["res.company"].search([]):
        env["consumer.preference.segment"]._recompute(company)
        env["consumer.preference.affinity"]._recompute(company)


def uninstall_hook(env):
    """Drop the indexes this addon put on Odoo's tables, and its database
    function: Odoo removes the tables, columns and constraints of the
    addon's own fields, not these."""
    for index in (HISTORY_MOVE_INDEX, HISTORY_LINE_INDEX):
        env.cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(index)))
    # by its whole signature: by its name alone, the drop would fail should
    # a later version leave another signature of it
    env.cr.execute(
        SQL(
            "DROP FUNCTION IF EXISTS %s(integer, integer, integer, integer[],"
            " integer[])",
            SQL.identifier(CREDITED_FUNCTION),
        )
    )
