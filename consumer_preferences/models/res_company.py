# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    consumer_preference_billing = fields.Boolean(
        string="Billing from Preferences",
        help="Bill customers from their Preferences tab: enter quantities on the "
        "preferred products and click Bill.",
    )
    consumer_preference_auto_post = fields.Boolean(
        string="Post Invoices from Preferences",
        help="Post the invoices billed from preferences at once instead of "
        "leaving them in draft.",
    )
