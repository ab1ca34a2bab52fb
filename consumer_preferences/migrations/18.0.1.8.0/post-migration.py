# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""1.8.0: a history line counts its purchases (days with an invoice that its
reversal credit notes did not credit in full), and its rhythm and average
quantity follow them, not the invoices: an invoice reversed and invoiced
again, or invoiced in two the same day, is one purchase. Every line starts
from its former figures (what a line that cannot be recomputed, a customer's
who withdrew consent, keeps), then the history is rebuilt from the posted
invoices; the customers' intervals, next expected purchases and churn risks,
which follow purchases too, are scored again."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """
        UPDATE consumer_preference
           SET purchase_count = invoice_count,
               first_purchase_date = first_invoice_date,
               last_purchase_date = last_invoice_date
         WHERE preference_type = 'history'
        """
    )
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["consumer.preference.history"]._rebuild()
    Segment = env["consumer.preference.segment"]
    for company in env["res.company"].search([]):
        Segment._recompute(company)
