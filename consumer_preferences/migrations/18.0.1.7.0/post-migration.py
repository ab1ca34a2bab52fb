# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""1.7.0: a reorder reminder's To-Do no longer lists the due products, their
expected dates and usual quantities: the activity is the customer's, read by
whoever may read the customer, in every company. The To-Dos still open get
the summary and note the scheduled action now writes (the reminder's date and
company, and the Bill link for those who may bill).

It also keys a reminder by its first due product with the customer and due
date: the reminders made before keep none (NULL, which the new unique
constraint lets be, as the former one, by due date, kept them unique); the
due products they list still count as reminded."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    # open ones only: a done To-Do its type keeps (Keep Done) is archived, and
    # was rewritten when marked done
    reminders = env["consumer.preference.reminder"].search(
        [("activity_id.active", "=", True)]
    )
    for reminder in reminders:
        activity = reminder.activity_id
        activity.write(reminder._activity_texts(activity.user_id))
