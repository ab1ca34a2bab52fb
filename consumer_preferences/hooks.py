# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).


def post_init_hook(env):
    """Backfill: a database that already has posted invoices gets its whole
    purchase history in one pass, through the same service as live posting."""
    env["consumer.preference.history"]._rebuild()
