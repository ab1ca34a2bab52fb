# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    consumer_preference_document_type = fields.Selection(
        related="company_id.consumer_preference_document_type",
        readonly=False,
    )
