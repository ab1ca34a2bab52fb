# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""1.2.0: the reminders made before their Reminded On day was recorded got,
with its column, the day of that upgrade. A run counts a product as reminded
when a reminder listed it after it fell due: they hid the due dates that came
after them until that day, and their customers were not reminded again. They
get the day they were made, as the scheduled action dates a reminder: the day
it creates it, in its user's time zone."""

from odoo import SUPERUSER_ID, api

REORDER_CRON_XMLID = "consumer_preferences.ir_cron_consumer_preference_reorder"


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    cron = env.ref(REORDER_CRON_XMLID, raise_if_not_found=False)
    timezone = (cron and cron.user_id.tz) or "UTC"
    # A run never dates a reminder after the day it creates it: only those
    # the upgrade dated are changed.
    cr.execute(
        """
        UPDATE consumer_preference_reminder
           SET reminder_date = (create_date AT TIME ZONE 'UTC'
                                AT TIME ZONE %(timezone)s)::date
         WHERE reminder_date > (create_date AT TIME ZONE 'UTC'
                                AT TIME ZONE %(timezone)s)::date
        """,
        {"timezone": timezone},
    )
