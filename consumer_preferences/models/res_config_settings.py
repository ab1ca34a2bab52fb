# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    consumer_preference_billing = fields.Boolean(
        related="company_id.consumer_preference_billing",
        readonly=False,
    )
    consumer_preference_auto_post = fields.Boolean(
        related="company_id.consumer_preference_auto_post",
        readonly=False,
    )
    consumer_preference_reorder_email = fields.Boolean(
        related="company_id.consumer_preference_reorder_email",
        readonly=False,
    )
    consumer_preference_affinity_months = fields.Integer(
        related="company_id.consumer_preference_affinity_months",
        readonly=False,
    )
    consumer_preference_due_days = fields.Integer(
        related="company_id.consumer_preference_due_days",
        readonly=False,
    )
