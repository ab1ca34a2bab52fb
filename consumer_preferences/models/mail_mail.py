# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import models


class MailMail(models.Model):
    _inherit = "mail.mail"

    def _send(self, *args, **kwargs):
        # A reorder email waiting in the queue when its customer withdrew
        # consent is dropped by the withdrawal; one that a running reminder
        # batch committed just after it (the withdrawal could not see it) is
        # dropped here, when the queue sends it.
        withdrawn = self._consumer_preference_withdrawn()
        if withdrawn:
            # sudo: whoever sends the queue (a user's Send Now too) drops
            # them, as the withdrawal would have (with their messages)
            withdrawn.sudo().unlink()
        return super(MailMail, self - withdrawn)._send(*args, **kwargs)

    def _consumer_preference_withdrawn(self):
        """Those of these mails that remind a customer who withdrew its
        consent of its due products."""
        reminder_mails = self.filtered(
            lambda mail: mail.model == "consumer.preference.reminder"
        )
        if not reminder_mails:
            return self.browse()
        # sudo: the queue's user reads the reminders' customers' consent only.
        reminders = (
            self.env["consumer.preference.reminder"]
            .sudo()
            .browse(reminder_mails.mapped("res_id"))
            .exists()
        )
        withdrawn_ids = set(
            reminders.filtered(
                lambda reminder: not reminder.partner_id.consumer_preference_consent
            ).ids
        )
        return reminder_mails.filtered(lambda mail: mail.res_id in withdrawn_ids)
