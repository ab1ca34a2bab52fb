# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""1.1.0 keeps the history by increments, which compare against the last
invoiced line of each history line: rebuild once to record it."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["consumer.preference.history"]._rebuild()
