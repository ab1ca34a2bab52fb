# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
import logging
import threading
from datetime import date, timedelta

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.tools import SQL, format_date

from .consumer_preference_history import CONTENTION_ERRORS

_logger = logging.getLogger(__name__)

# Customers with a product expected before today looked at per transaction:
# as many reminders at most, created with their activities and emails.
REMINDER_BATCH_SIZE = 1000
REMINDER_CRON_XMLID = "consumer_preferences.ir_cron_consumer_preference_reorder"
REORDER_TEMPLATE_XMLID = (
    "consumer_preferences.mail_template_consumer_preference_reorder"
)
BILL_DUE_ACTION_XMLID = "consumer_preferences.action_consumer_preference_bill_due"


class ConsumerPreferenceReminder(models.Model):
    """A reorder reminder: a customer's products due for reorder on a due
    date, the To-Do activity it gave its salesperson and whether the customer
    was emailed.

    Written by the scheduled action ``ir_cron_consumer_preference_reorder``.
    The due date is the earliest expected date of the due products that no
    reminder listed since they fell due, and the first of those products
    expected on it (the lowest id) identifies the reminder with its customer
    and due date: the database refuses a second reminder of that product for
    that expected date, and two runs at once computing the same reminder
    meet on it, while a product expected on an older reminder's due date,
    which that reminder did not list (not on sale on that day), still gets
    its own."""

    _name = "consumer.preference.reminder"
    _description = "Consumer Preference Reorder Reminder"
    _order = "due_date desc, id desc"
    _rec_name = "partner_id"
    _check_company_auto = True

    _sql_constraints = [
        (
            "unique_due_date",
            "unique(company_id, partner_id, due_date, first_due_product_id)",
            "This customer was already reminded of this product for this due date.",
        ),
    ]

    company_id = fields.Many2one(
        comodel_name="res.company", required=True, readonly=True, ondelete="cascade"
    )
    partner_id = fields.Many2one(
        comodel_name="res.partner",
        string="Customer",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    due_date = fields.Date(
        required=True,
        readonly=True,
        help="The earliest expected date of the products due.",
    )
    # The day of the run that creates the reminder; those made before the
    # column was added get the day they were created (migration 18.0.1.2.0).
    reminder_date = fields.Date(
        string="Reminded On",
        required=True,
        readonly=True,
        default=fields.Date.context_today,
        help="The day the customer was reminded of the products due.",
    )
    # None on the reminders made before 1.7.0, keyed by due date alone.
    first_due_product_id = fields.Many2one(
        comodel_name="product.product",
        readonly=True,
        # the deletion of any product looks it up (ON DELETE SET NULL)
        index="btree_not_null",
        ondelete="set null",
        check_company=True,
        help="The first product (lowest id) expected on the due date that no "
        "earlier reminder listed since it fell due: the one that made the "
        "reminder.",
    )
    product_ids = fields.Many2many(
        comodel_name="product.product",
        relation="consumer_preference_reminder_product_rel",
        column1="reminder_id",
        column2="product_id",
        string="Due Products",
        readonly=True,
        check_company=True,
    )
    activity_id = fields.Many2one(
        comodel_name="mail.activity",
        readonly=True,
        # looked up by every activity marked done, and by the deletion of
        # any activity (ON DELETE SET NULL)
        index="btree_not_null",
        ondelete="set null",
        help="The To-Do activity of the customer's salesperson.",
    )
    done_message_id = fields.Many2one(
        comodel_name="mail.message",
        readonly=True,
        # the deletion of any message looks it up (ON DELETE SET NULL)
        index="btree_not_null",
        ondelete="set null",
        help="The message the To-Do activity left on the customer once done: "
        "it lists the due products, and goes with the customer's erasure.",
    )
    email_sent = fields.Boolean(
        readonly=True, help="The customer was emailed the due products."
    )

    @api.model
    def _cron_remind(self):
        """For each customer with a product due for reorder that no reminder
        listed since it fell due, a reminder: a To-Do activity for its
        salesperson and, when its company says so, an email to the customer.
        Returns the number of reminders created."""
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        self._withdraw_after_consent_withdrawn()
        created = 0
        # sudo: every company, not only those of the user running the
        # scheduled action: the nightly run reminds in all of them.
        contended = False
        for company in self.env["res.company"].sudo().search([]):
            # Each batch goes on after the last customer of the one before,
            # by id: none computes again the due products of customers
            # already done, which made a run quadratic in due customers.
            last_partner_id = 0
            while True:
                # A batch of reminders is created with its activities and
                # emails, and kept with them: a run that fails or is stopped
                # leaves no reminder without them, which the next run, finding
                # the reminder, would never complete.
                try:
                    with self.env.cr.savepoint():
                        reminders, last_partner_id = self.with_company(
                            company
                        )._create_reminders(
                            company, last_partner_id, REMINDER_BATCH_SIZE
                        )
                        reminders._schedule_activities()
                        if company.consumer_preference_reorder_email:
                            reminders._send_emails()
                except CONTENTION_ERRORS as error:
                    # A customer or reminder the batch writes was changed by
                    # a transaction committed during it (another run, a
                    # consent withdrawn): the company's next batches are left
                    # to a run triggered in a minute, in a new transaction,
                    # which skips the reminders already made.
                    _logger.info(
                        "Reorder reminders of %s left to the next run after %s",
                        company.name,
                        type(error).__name__,
                    )
                    contended = True
                    break
                if auto_commit:
                    # Each batch is kept: the next run skips its reminders.
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                created += len(reminders)
                if not last_partner_id:
                    break
        if contended:
            # sudo: any user running the action may ask for its next run
            self.env.ref(REMINDER_CRON_XMLID).sudo()._trigger(
                fields.Datetime.now() + timedelta(minutes=1)
            )
        return created

    @api.model
    def _create_reminders(self, company, after_partner_id, limit):
        """Insert the reminders due today (the company's day) in
        ``company`` that do not exist yet, for the customers with a due
        product that no reminder listed since it fell due, in one statement,
        among the next ``limit`` customers after ``after_partner_id`` (by id)
        with a product expected before today. Return them, and the last of
        these customers, after which the next batch goes on (none when no
        customer is left)."""
        self.env["consumer.preference"].flush_model()
        self.flush_model()
        self.env["res.partner"].flush_model(["active", "consumer_preference_consent"])
        self.env["product.product"].flush_model(["active"])
        self.env["product.template"].flush_model(["sale_ok", "company_id"])
        quantity_digits = self.env["consumer.preference"]._quantity_digits()
        self.env.cr.execute(
            SQL(
                """
        WITH customers AS (
            -- the batch's customers: the next ones by id with a product
            -- expected before today; the due products are computed for them
            -- only, not again for the whole company at each batch
            SELECT DISTINCT expected.partner_id
              FROM consumer_preference expected
             WHERE expected.company_id = %(company_id)s
               AND expected.preference_type = 'history'
               AND expected.active
               AND expected.next_expected_date < %(today)s
               AND expected.next_expected_date >= %(due_since)s
               AND expected.partner_id > %(after_partner_id)s
             ORDER BY expected.partner_id
             LIMIT %(limit)s
        ),
        span AS (
            SELECT MAX(partner_id) AS last_partner_id,
                   COUNT(*) AS customer_count
              FROM customers
        ),
        due AS (
            -- as the profile's Due for Reorder: expected before today, still
            -- bought (net quantity above zero) and still sold
            SELECT preference.partner_id,
                   -- the earliest expected date of the products not listed
                   -- since they fell due: a product still due from an older
                   -- reminder does not hold back the others
                   MIN(preference.next_expected_date)
                       FILTER (WHERE NOT listed.done) AS due_date,
                   -- the first of them expected on that date, which keys the
                   -- reminder: a product expected on an older reminder's due
                   -- date that it did not list gets a reminder of its own
                   (ARRAY_AGG(preference.product_id
                              ORDER BY preference.next_expected_date,
                                       preference.product_id)
                       FILTER (WHERE NOT listed.done))[1] AS first_product_id,
                   ARRAY_AGG(DISTINCT preference.product_id) AS product_ids
              FROM consumer_preference preference
              CROSS JOIN LATERAL (
                   SELECT EXISTS (
                    SELECT 1
                      FROM consumer_preference_reminder reminder
                      JOIN consumer_preference_reminder_product_rel listed
                        ON listed.reminder_id = reminder.id
                     WHERE reminder.company_id = %(company_id)s
                       AND reminder.partner_id = preference.partner_id
                       AND listed.product_id = preference.product_id
                       AND reminder.reminder_date > preference.next_expected_date
                   ) AS done) listed
              JOIN res_partner partner ON partner.id = preference.partner_id
              JOIN product_product product ON product.id = preference.product_id
              JOIN product_template template
                ON template.id = product.product_tmpl_id
             WHERE preference.company_id = %(company_id)s
               -- the batch's customers, as a range on each table: their rows
               -- are read by index and, whatever the plan, no line of
               -- another batch's customer is aggregated
               AND preference.partner_id > %(after_partner_id)s
               AND preference.partner_id <= (SELECT last_partner_id FROM span)
               AND partner.id > %(after_partner_id)s
               AND partner.id <= (SELECT last_partner_id FROM span)
               AND preference.preference_type = 'history'
               AND preference.active
               AND preference.next_expected_date < %(today)s
               AND preference.next_expected_date >= %(due_since)s
               AND preference.quantity >= %(threshold)s
               AND product.active
               AND template.sale_ok
               -- not restricted to another company (a parent company shares
               -- its products with its branches)
               AND (template.company_id IS NULL
                    OR template.company_id = ANY(%(company_ids)s))
               AND partner.active
               AND partner.consumer_preference_consent IS NOT FALSE
             GROUP BY preference.partner_id
                   -- a product is reminded once for each expected date: a
                   -- return, a reset invoice or an archived product may move
                   -- the due date without any purchase
            HAVING BOOL_OR(NOT listed.done)
        ),
        batch AS (
            SELECT due.*
              FROM due
             WHERE NOT EXISTS (
                   SELECT 1 FROM consumer_preference_reminder reminder
                    WHERE reminder.company_id = %(company_id)s
                      -- the range again: only the batch's reminders are read
                      AND reminder.partner_id > %(after_partner_id)s
                      AND reminder.partner_id <= (SELECT last_partner_id FROM span)
                      AND reminder.partner_id = due.partner_id
                      AND reminder.due_date = due.due_date
                      AND reminder.first_due_product_id = due.first_product_id)
        ),
        inserted AS (
            INSERT INTO consumer_preference_reminder AS reminder (
                   company_id, partner_id, due_date, first_due_product_id,
                   reminder_date, email_sent,
                   create_uid, create_date, write_uid, write_date)
            SELECT %(company_id)s, partner_id, due_date, first_product_id,
                   %(today)s, FALSE,
                   %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s,
                   NOW() AT TIME ZONE 'UTC'
              FROM batch
                ON CONFLICT ON CONSTRAINT consumer_preference_reminder_unique_due_date
                DO NOTHING
            RETURNING reminder.id, reminder.partner_id
        ),
        linked AS (
            INSERT INTO consumer_preference_reminder_product_rel
                   (reminder_id, product_id)
            SELECT inserted.id, UNNEST(batch.product_ids)
              FROM inserted
              JOIN batch ON batch.partner_id = inserted.partner_id
        )
        SELECT ARRAY(SELECT id FROM inserted ORDER BY id),
               -- a batch of fewer customers than asked was the last one
               CASE WHEN customer_count = %(limit)s THEN last_partner_id END
          FROM span
                """,
                company_id=company.id,
                company_ids=company.parent_ids.ids,
                today=company._consumer_preference_today(),
                # no limit: any expected date
                due_since=company._consumer_preference_due_since() or date.min,
                threshold=0.5 * 10**-quantity_digits,
                uid=self.env.uid,
                after_partner_id=after_partner_id,
                limit=limit,
            )
        )
        reminder_ids, last_partner_id = self.env.cr.fetchone()
        self.invalidate_model()
        return self.browse(reminder_ids), last_partner_id

    @api.model
    def _erase(self, partners, companies):
        """Delete the reminders of ``partners`` (commercial partners) in
        ``companies``, with their To-Do activities, the messages those left
        once done, and their emails: the due products they list come from
        the erased history."""
        # sudo: users only read reminders, and the activities are their
        # salespeople's; erasing them is part of the erasure the caller's
        # Preferences group allows (checked by the caller). Limited to
        # ``companies`` explicitly, since sudo ignores the company rule.
        reminders = self.sudo().search(
            [
                ("partner_id", "in", partners.ids),
                ("company_id", "in", companies.ids),
            ]
        )
        if not reminders:
            return
        reminders.activity_id.unlink()
        reminders.done_message_id.unlink()
        reminders._delete_emails()
        reminders.unlink()
        self.env["res.partner"].invalidate_model(
            ["consumer_reminder_ids", "commercial_reminder_ids"]
        )

    @api.model
    def _withdraw(self, partners):
        """``partners`` (commercial partners) withdrew their consent: the
        reminder emails not sent yet and the To-Do activities still open are
        dropped, in every company (the consent is the customer's): marked
        done, an activity would post its due products on the customer after
        the withdrawal. The reminders stay, as the history does until
        erased."""
        # sudo: users only read reminders, and the activities are their
        # salespeople's; the consent's write checked the right to withdraw it.
        reminders = self.sudo().search([("partner_id", "in", partners.ids)])
        reminders._delete_emails(unsent_only=True)
        # open ones only: a done To-Do its type keeps (Keep Done) is archived
        reminders.activity_id.filtered("active").unlink()

    @api.model
    def _withdraw_after_consent_withdrawn(self):
        """Drop the open To-Dos and unsent emails of reminders whose customer
        withdrew consent: a withdrawal cannot see a reminder that a batch
        running at that moment commits after it."""
        # sudo: every company's reminders, as the run creates them
        open_reminders = self.sudo().search(
            [
                ("partner_id.consumer_preference_consent", "=", False),
                ("activity_id.active", "=", True),
            ]
        )
        unsent_mails = (
            self.env["mail.mail"]
            .sudo()
            .search(
                [
                    ("model", "=", self._name),
                    ("state", "in", ("outgoing", "exception")),
                ]
            )
        )
        withdrawn = open_reminders.partner_id | (
            unsent_mails._consumer_preference_withdrawn().mapped(
                lambda mail: self.sudo().browse(mail.res_id).partner_id
            )
        )
        if withdrawn:
            self._withdraw(withdrawn)
        return True

    def _delete_emails(self, unsent_only=False):
        """Delete the emails of these reminders (``unsent_only``: those still
        waiting in the mail queue); Odoo deletes their messages with them."""
        domain = [("model", "=", self._name), ("res_id", "in", self.ids)]
        if unsent_only:
            domain.append(("state", "in", ("outgoing", "exception")))
        # sudo: mails are not the user's to read; only these reminders'.
        self.env["mail.mail"].sudo().search(domain).unlink()

    def _schedule_activities(self):
        """One To-Do activity per reminder, for the customer's salesperson
        (none when the customer has none, an archived one, or one who does
        not work in the reminder's company, who could open neither the
        reminder nor its Bill wizard), created in one batch."""
        todo_type = self.env.ref("mail.mail_activity_data_todo")
        partner_model = self.env["ir.model"]._get_id("res.partner")
        activity_values, reminders = [], self.browse()
        for reminder in self.filtered(
            lambda reminder: (
                reminder.partner_id.user_id.active
                and reminder.company_id in reminder.partner_id.user_id.company_ids
            )
        ):
            salesperson = reminder.partner_id.user_id
            activity_values.append(
                {
                    "res_model_id": partner_model,
                    "res_id": reminder.partner_id.id,
                    "activity_type_id": todo_type.id,
                    "user_id": salesperson.id,
                    "date_deadline": reminder.reminder_date,
                    **reminder._activity_texts(salesperson),
                }
            )
            reminders |= reminder
        # quick update: the salesperson sees the activity, without one email
        # per customer
        activities = (
            self.env["mail.activity"]
            .with_context(mail_activity_quick_update=True)
            .create(activity_values)
        )
        for reminder, activity in zip(reminders, activities, strict=True):
            reminder.activity_id = activity

    def _activity_texts(self, salesperson):
        """The summary and note of the reminder's To-Do for ``salesperson``,
        in their language."""
        self.ensure_one()
        reminder = self.with_context(lang=salesperson.lang)
        # The link opens the Bill wizard: for salespeople who may open it.
        return {
            "summary": reminder._activity_summary(),
            # the link, as the Bill Due Products button: shown while billing
            # is on, to those who may bill
            "note": reminder._activity_note(
                with_link=self.company_id.consumer_preference_billing
                and bool(salesperson)
                and self.env["consumer.preference.bill"]._user_may_bill(salesperson)
            ),
        }

    def _activity_summary(self):
        """Generic, as the note: the activity is the customer's, read by
        whoever may read the customer (the chatter loads it), in every
        company and role."""
        return self.env._("Reorder reminder")

    def _activity_note(self, with_link=True):
        """The reminder's date and company, and, `with_link`, a link opening
        the Bill wizard filled with its due products. Not the due products,
        their expected dates nor quantities: they are preference data, which
        the reminder (protected by its company's rule) and the Preferences tab
        keep, while the activity is read by every user who may read the
        customer, other companies' included."""
        note = self._done_note()
        if not with_link:
            return note
        # In the reminder's company, whichever the salesperson works in when
        # clicking: the due products, prices and taxes are that company's
        # (the route loads the page with that company selected).
        link = Markup('<a href="/consumer_preferences/bill_due/%s/%s">%s</a>') % (
            self.partner_id.id,
            self.company_id.id,
            escape(self.env._("Bill the due products")),
        )
        return note + Markup("<p>%s</p>") % link

    def _done_note(self):
        """What the reminder's To-Do says on the customer, open and once
        done: the customer's chatter is read by every company and role, its
        due products are preference data (its reminder and Preferences tab
        keep them)."""
        return Markup("<p>%s</p>") % self.env._(
            "Reorder reminder of %(date)s: the due products are on the "
            "Preferences tab, in %(company)s.",
            date=format_date(self.env, self.reminder_date),
            company=self.company_id.name,
        )

    def _send_emails(self):
        """Email each customer (with an email address) its due products, from
        the reorder template; the mails leave with Odoo's mail queue."""
        reminders = self.filtered("partner_id.email")
        if not reminders:
            return
        template = self.env.ref(REORDER_TEMPLATE_XMLID)
        template.send_mail_batch(reminders.ids)
        reminders.email_sent = True
