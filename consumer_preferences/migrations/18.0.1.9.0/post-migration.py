# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""1.9.0: a customer's segment keeps its purchases and last purchase date,
and its recency and frequency scores, and the New segment, follow purchases
(days with an invoice that its reversal credit notes did not credit in full),
not invoices: every company's segments are scored again."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    Segment = env["consumer.preference.segment"]
    # archived companies too: their rows would keep no purchases
    for company in env["res.company"].with_context(active_test=False).search([]):
        Segment._recompute(company)
