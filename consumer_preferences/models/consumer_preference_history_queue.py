# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import fields, models
from odoo.tools.sql import create_index


class ConsumerPreferenceHistoryQueue(models.Model):
    """Keys whose history line waits for an exact recomputation, and
    customers whose whole history in a company does (no product).

    Written by ``consumer.preference.history`` in the transaction that
    changed the key (so a queued key is committed with its invoice, or not
    at all), or the customer's consent, emptied by the scheduled action
    ``ir_cron_consumer_preference_history_queue``. A key may be queued more
    than once: rows are only ever inserted, so that two transactions can
    never collide here."""

    _name = "consumer.preference.history.queue"
    _description = "Consumer Preference History Queue"
    _log_access = False
    _order = "id"

    company_id = fields.Many2one(
        comodel_name="res.company", required=True, ondelete="cascade"
    )
    # Indexed with the key (init): a customer's rows, and a key's.
    partner_id = fields.Many2one(
        comodel_name="res.partner", required=True, ondelete="cascade"
    )
    # Empty: the customer's whole history in the company.
    product_id = fields.Many2one(comodel_name="product.product", ondelete="cascade")
    # A customer queued whole by an erasure: erased again, unless the
    # customer consents by then (else recomputed).
    erase = fields.Boolean()
    queued_at = fields.Datetime(required=True, default=fields.Datetime.now)

    def init(self):
        result = super().init()
        # The scheduled action looks for customers queued whole at every run:
        # rare rows, in a table whose rows come and go with the postings.
        create_index(
            self.env.cr,
            "consumer_preference_history_queue_customer_index",
            self._table,
            ["id"],
            where="product_id IS NULL",
        )
        # Each batch looks up every row of its keys: by key, not by customer
        # (a customer queued whole may have thousands of keys, each of them
        # reading all its rows made a batch quadratic in them).
        create_index(
            self.env.cr,
            "consumer_preference_history_queue_key_index",
            self._table,
            ["partner_id", "product_id", "company_id"],
        )
        return result


class ConsumerPreferenceHistoryUnitQueue(models.Model):
    """Units whose ratio changed, waiting for the scheduled action
    ``ir_cron_consumer_preference_history_queue`` to queue the keys whose
    lines they convert (``consumer.preference.history._expand_queued_units``).

    The change restates the lines it sees at once, from its own snapshot; a
    posting in that unit committed meanwhile is not among them. The action
    looks the keys up once the change is committed, and so after every
    posting that held the unit before it (``_increment_sql``), with
    the new ratio."""

    _name = "consumer.preference.history.unit.queue"
    _description = "Consumer Preference History Unit Queue"
    _log_access = False
    _order = "id"

    uom_id = fields.Many2one(
        comodel_name="uom.uom", string="Unit", required=True, ondelete="cascade"
    )
    queued_at = fields.Datetime(required=True, default=fields.Datetime.now)
