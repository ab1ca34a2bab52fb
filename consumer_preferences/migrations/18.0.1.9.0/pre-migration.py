# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""1.9.0: the index of the posted product lines by customer, product and
company also orders them by invoice date (the reversal of a key's first or
last purchase looks up its nearest other purchase): dropped here, created
again by the module's update. The history's figures are unchanged."""


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        "DROP INDEX IF EXISTS account_move_line_consumer_preference_history_index"
    )
