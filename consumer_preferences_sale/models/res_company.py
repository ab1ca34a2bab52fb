# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    consumer_preference_document_type = fields.Selection(
        selection=[("invoice", "Invoice"), ("quotation", "Quotation")],
        string="Document from Preferences",
        required=True,
        default="invoice",
        help="What the Bill wizard of a customer's Preferences tab creates by "
        "default; the user may choose the other in the wizard. Users without "
        "Invoicing rights always create quotations.",
    )
