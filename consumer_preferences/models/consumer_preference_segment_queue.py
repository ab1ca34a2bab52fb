# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import fields, models


class ConsumerPreferenceSegmentQueue(models.Model):
    """Customers whose segment waits for a refresh.

    Inserted by posting (and resetting) customer invoices, in their
    transaction, one row per customer and company without reading or locking
    anything, and by a customer giving its consent back (a row per company
    where it has posted invoices); emptied by ``consumer.preference.segment``
    (the refresh's scheduled action, and the nightly recomputation). A
    customer may be queued more than once: rows are only ever inserted, never
    updated, so that two postings can never wait for each other here."""

    _name = "consumer.preference.segment.queue"
    _description = "Consumer Preference Segment Queue"
    _log_access = False
    _order = "id"

    company_id = fields.Many2one(
        comodel_name="res.company", required=True, ondelete="cascade"
    )
    partner_id = fields.Many2one(
        comodel_name="res.partner", required=True, ondelete="cascade"
    )
