# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""1.5.0: the history queue is indexed by key (customer, product, company),
which also serves the lookups by customer: the index of the customer alone,
which Odoo keeps when a field stops asking for it, goes."""


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        "DROP INDEX IF EXISTS consumer_preference_history_queue__partner_id_index"
    )
