# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

# A century: a longer period reaches dates before the year 1, which Python
# refuses, and the products-bought-together action would fail every night.
MAX_AFFINITY_MONTHS = 1200
# A century, for the same reason.
MAX_DUE_DAYS = 36500


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
    consumer_preference_reorder_email = fields.Boolean(
        string="Email Reorder Reminders",
        help="Besides the To-Do activity of the salesperson, email customers "
        "the products they usually buy again by now.",
    )
    consumer_preference_affinity_months = fields.Integer(
        string="Bought Together Period (Months)",
        default=12,
        help="Products bought together are counted over the customers' "
        "posted invoices of this many last months.",
    )

    consumer_preference_due_days = fields.Integer(
        string="Due for Reorder Within (Days)",
        default=180,
        help="A product stays due for reorder this many days after the date "
        "the customer was expected to buy it again; expected longer ago, it is "
        "no longer listed as due nor reminded: the customer stopped buying it. "
        "0: no limit.",
    )

    @api.constrains("consumer_preference_due_days")
    def _check_consumer_preference_due_days(self):
        if any(
            not 0 <= company.consumer_preference_due_days <= MAX_DUE_DAYS
            for company in self
        ):
            raise ValidationError(
                _(
                    "Keep products due for reorder 0 (no limit) to %(days)s days.",
                    days=MAX_DUE_DAYS,
                )
            )

    @api.constrains("consumer_preference_affinity_months")
    def _check_consumer_preference_affinity_months(self):
        if any(
            not 1 <= company.consumer_preference_affinity_months <= MAX_AFFINITY_MONTHS
            for company in self
        ):
            raise ValidationError(
                _(
                    "Count products bought together over 1 to %(months)s months.",
                    months=MAX_AFFINITY_MONTHS,
                )
            )

    def _consumer_preference_today(self):
        """Today in the company's time zone (its address's), else in the
        user's: the day the scheduled actions count from (reorder reminders,
        segments, products bought together), whatever the server's or the
        action's user's time zone. A nightly run at 05:00 UTC is still the
        evening before in America."""
        self.ensure_one()
        return fields.Date.context_today(
            self.with_context(tz=self.partner_id.tz or self.env.user.tz)
        )

    def _consumer_preference_due_since(self):
        """The earliest expected date of a product still due for reorder
        (``consumer_preference_due_days`` before the company's today), or
        None without a limit."""
        self.ensure_one()
        if not self.consumer_preference_due_days:
            return None
        return self._consumer_preference_today() - timedelta(
            days=self.consumer_preference_due_days
        )
