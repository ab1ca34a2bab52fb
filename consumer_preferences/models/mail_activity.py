# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
import logging

from odoo import models

_logger = logging.getLogger(__name__)


class MailActivity(models.Model):
    _inherit = "mail.activity"

    def _action_done(self, feedback=False, attachment_ids=None):
        """Marking a reorder reminder's To-Do done posts a message on the
        customer, without its due products (``_done_note``): the reminder
        keeps that message, which the customer's erasure deletes with the
        reminder."""
        # sudo: whoever may mark an activity done (its assignee) marks it,
        # whether or not they may read the reminder behind it.
        reminders = (
            self.env["consumer.preference.reminder"]
            .sudo()
            .search([("activity_id", "in", self.ids)])
        )
        if not reminders:
            return super()._action_done(feedback, attachment_ids)
        for reminder in reminders:
            # The message Odoo posts shows the activity's summary and note:
            # no due products on the customer's chatter, which every company
            # reads.
            reminder.activity_id.write(
                {
                    "summary": self.env._("Reorder reminder"),
                    "note": reminder._done_note(),
                }
            )
        # Odoo posts one message per activity, model by model in this order,
        # and returns them in it; the activities are gone afterwards.
        activity_by_reminder = {
            reminder: reminder.activity_id.id for reminder in reminders
        }
        posting_order = [
            activity.id
            for data in self._classify_by_model().values()
            for activity in data["activities"]
        ]
        messages, next_activities = super()._action_done(feedback, attachment_ids)
        if len(posting_order) != len(messages):
            _logger.warning(
                "Cannot tell which message each done activity posted: the "
                "customers' erasure will not delete those of reorder reminders "
                "%s.",
                reminders.ids,
            )
            return messages, next_activities
        message_by_activity = dict(zip(posting_order, messages, strict=True))
        for reminder, activity_id in activity_by_reminder.items():
            reminder.done_message_id = message_by_activity[activity_id]
        return messages, next_activities
