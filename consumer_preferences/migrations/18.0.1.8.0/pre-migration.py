# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""1.8.0: the index of the customers' posted invoices also orders them by
invoice date (a posting dated back looks up the customer's invoices of that
day): dropped here, created again by the module's update."""


def migrate(cr, version):
    if not version:
        return
    cr.execute("DROP INDEX IF EXISTS account_move_consumer_preference_history_index")
