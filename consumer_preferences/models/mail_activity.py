# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import models


class MailActivity(models.Model):
    _inherit = "mail.activity"

    def _action_done(self, feedback=False, attachment_ids=None):
        """Marking a reorder reminder's To-Do done posts its note (the due
        products) on the customer: the reminder keeps that message, which
        the customer's erasure deletes with the reminder."""
        # sudo: whoever may mark an activity done (its assignee) marks it,
        # whether or not they may read the reminder behind it.
        reminders = (
            self.env["consumer.preference.reminder"]
            .sudo()
            .search([("activity_id", "in", self.ids)])
        )
        if not reminders:
            return super()._action_done(feedback, attachment_ids)
        others = self - reminders.activity_id
        messages, next_activities = (
            super(MailActivity, others)._action_done(feedback, attachment_ids)
            if others
            else (self.env["mail.message"], self.browse())
        )
        # One at a time: Odoo returns the messages, not which activity
        # posted each.
        for reminder in reminders:
            message, next_activity = super(
                MailActivity, reminder.activity_id.with_env(self.env)
            )._action_done(feedback, attachment_ids)
            reminder.done_message_id = message
            messages |= message
            next_activities |= next_activity
        return messages, next_activities
