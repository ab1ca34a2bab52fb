# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from contextlib import suppress
from datetime import date
from types import SimpleNamespace
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from ..models import consumer_preference_reminder
from .common import ConsumerPreferenceCommon, searched_by_joins


@tagged("post_install", "-at_install")
class TestConsumerPreferenceReorderReminder(ConsumerPreferenceCommon):
    """Reorder reminders on a known data set, on 2026-04-01.

    - Azure Shop (salesperson cp_salesperson): Coffee ×3 on 2026-01-10 and ×2
      on 2026-02-10, expected again on 2026-03-13: due. Tea on 2026-01-20 and
      2026-03-20, expected on 2026-05-18: not yet.
    - Deco Store (no salesperson, an email): Coffee on 2026-01-05 and
      2026-01-25, expected on 2026-02-14: due.
    - Quiet Corner (no consent): Coffee twice in January: never reminded.
    - One Time: a single invoice, never due.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer.user_id = cls.salesperson
        cls.other_customer.email = "deco@example.com"
        cls.quiet = cls.env["res.partner"].create(
            {"name": "Quiet Corner", "is_company": True}
        )
        cls.one_time = cls.env["res.partner"].create(
            {"name": "One Time", "is_company": True}
        )
        for partner, product, quantity, invoice_date in (
            (cls.customer, cls.coffee, 3, "2026-01-10"),
            (cls.customer, cls.coffee, 2, "2026-02-10"),
            (cls.customer, cls.tea, 1, "2026-01-20"),
            (cls.customer, cls.tea, 1, "2026-03-20"),
            (cls.other_customer, cls.coffee, 4, "2026-01-05"),
            (cls.other_customer, cls.coffee, 4, "2026-01-25"),
            (cls.quiet, cls.coffee, 1, "2026-01-02"),
            (cls.quiet, cls.coffee, 1, "2026-01-12"),
            (cls.one_time, cls.coffee, 1, "2026-01-03"),
        ):
            cls._post_customer_invoice(
                partner, [(product, quantity, 8.0)], invoice_date=invoice_date
            )
        cls.quiet.consumer_preference_consent = False
        cls.Reminder = cls.env["consumer.preference.reminder"]
        cls.cron = cls.env.ref(
            "consumer_preferences.ir_cron_consumer_preference_reorder"
        )

    def _run_cron(self, day):
        with freeze_time(day):
            self.cron.method_direct_trigger()

    def _reminders(self):
        return self.Reminder.search([("company_id", "=", self.company.id)])

    def _todo_activities(self, partner):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "=", partner.id),
                (
                    "activity_type_id",
                    "=",
                    self.env.ref("mail.mail_activity_data_todo").id,
                ),
            ]
        )

    def test_due_for_reorder_searched_by_joins(self):
        """Both values of "Due for Reorder" are searched by joins: the lines
        not due were "id not in" the due ones, which PostgreSQL checks by
        reading the list again for each line once too long to hash."""
        for value in (True, False):
            searched_by_joins(
                self,
                self.env["consumer.preference"],
                [("is_due_for_reorder", "=", value)],
            )

    def test_one_reminder_per_customer_and_due_date(self):
        self._run_cron("2026-04-01")
        self._run_cron("2026-04-01")
        self._run_cron("2026-04-02")
        reminders = self._reminders()
        self.assertRecordValues(
            reminders.sorted("partner_id"),
            [
                {
                    "partner_id": self.customer.id,
                    "due_date": date(2026, 3, 13),
                    "product_ids": self.coffee.ids,
                    "email_sent": False,
                },
                {
                    "partner_id": self.other_customer.id,
                    "due_date": date(2026, 2, 14),
                    "product_ids": self.coffee.ids,
                    "email_sent": False,
                },
            ],
        )
        activity = self._todo_activities(self.customer)
        self.assertRecordValues(
            activity,
            [
                {
                    "user_id": self.salesperson.id,
                    "date_deadline": date(2026, 4, 1),
                    "summary": "Reorder reminder",
                }
            ],
        )
        self.assertEqual(
            reminders.filtered(lambda r: r.partner_id == self.customer).activity_id,
            activity,
        )
        self.assertIn("Reorder reminder of 04/01/2026", activity.note)
        self.assertNotIn("Coffee", activity.note)
        # Deco Store has no salesperson: recorded, nobody to give a To-Do.
        self.assertFalse(self._todo_activities(self.other_customer))
        # Coffee again on 2026-04-20 (expected next on 2026-06-09); tea falls
        # due on 2026-05-18: a new due date, a new reminder.
        self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0)], invoice_date="2026-04-20"
        )
        self._run_cron("2026-05-20")
        self._run_cron("2026-05-21")
        new_reminder = self._reminders().filtered(
            lambda r: r.partner_id == self.customer and r.due_date == date(2026, 5, 18)
        )
        self.assertEqual(new_reminder.product_ids, self.tea)
        self.assertEqual(len(self._todo_activities(self.customer)), 2)
        self.assertEqual(len(self._reminders()), 3)
        # Shown on the tab, to those who see the profile.
        self.assertEqual(
            self.customer_contact.with_user(self.salesperson).commercial_reminder_ids,
            self._reminders().filtered(lambda r: r.partner_id == self.customer),
        )

    def test_today_is_the_companys_day(self):
        """The nightly run at 05:00 UTC is still the evening of 2026-03-13 in
        Los Angeles: Azure Shop's coffee, expected on 2026-03-13, is not due
        before the company's day is over, and the reminder and its To-Do are
        of the company's day, whatever the action's user's time zone."""
        self.env.ref("base.user_root").tz = "Asia/Tokyo"
        self.company.partner_id.tz = "America/Los_Angeles"
        self._run_cron("2026-03-14 05:00:00")
        self.assertRecordValues(
            self._reminders(),
            [
                {
                    "partner_id": self.other_customer.id,
                    "due_date": date(2026, 2, 14),
                    "reminder_date": date(2026, 3, 13),
                }
            ],
        )
        self.assertFalse(self._todo_activities(self.customer))
        # The next night, 2026-03-14 in Los Angeles: due.
        self._run_cron("2026-03-15 05:00:00")
        reminder = self._reminders().filtered(lambda r: r.partner_id == self.customer)
        self.assertRecordValues(
            reminder,
            [{"due_date": date(2026, 3, 13), "reminder_date": date(2026, 3, 14)}],
        )
        self.assertEqual(reminder.activity_id.date_deadline, date(2026, 3, 14))

    def test_due_for_reorder_counts_the_companys_day(self):
        """Due for Reorder (the profile, its filter, Bill Due Products)
        counts in the company's day, as its reminders: at 05:00 UTC on
        2026-03-14, already that day in Tokyo where the salesperson works,
        Azure Shop's coffee expected on 2026-03-13 is not due yet in Los
        Angeles."""
        self.salesperson.tz = "Asia/Tokyo"
        self.company.partner_id.tz = "America/Los_Angeles"
        Preference = self.env["consumer.preference"].with_user(self.salesperson)
        coffee = Preference.search(
            [
                ("partner_id", "=", self.customer.id),
                ("preference_type", "=", "history"),
                ("product_id", "=", self.coffee.id),
            ]
        )
        with freeze_time("2026-03-14 05:00:00"):
            coffee.invalidate_recordset()
            self.assertFalse(coffee.is_due_for_reorder)
            self.assertNotIn(
                coffee, Preference.search([("is_due_for_reorder", "=", True)])
            )
        with freeze_time("2026-03-15 05:00:00"):
            coffee.invalidate_recordset()
            self.assertTrue(coffee.is_due_for_reorder)

    def test_product_expected_long_ago_is_no_longer_due(self):
        """A product expected longer ago than the company's window (180 days
        by default) is one the customer stopped buying: not due on its line,
        its profile or its filter, and not reminded (nor emailed "about
        now"). Without a limit (0), it is."""
        lapsed = self.env["res.partner"].create(
            {"name": "Lapsed Buyer", "is_company": True}
        )
        for invoice_date in ("2019-03-01", "2019-04-01"):
            self._post_customer_invoice(
                lapsed, [(self.coffee, 1, 8.0)], invoice_date=invoice_date
            )
        coffee = self._history(lapsed, self.coffee)
        self.assertEqual(coffee.next_expected_date, date(2019, 5, 2))
        self.assertEqual(self.company.consumer_preference_due_days, 180)
        Preference = self.env["consumer.preference"]
        with freeze_time("2026-04-01"):
            coffee.invalidate_recordset()
            lapsed.invalidate_recordset()
            self.assertFalse(coffee.is_due_for_reorder)
            self.assertNotIn(
                coffee, Preference.search([("is_due_for_reorder", "=", True)])
            )
            self.assertNotIn("Coffee", lapsed.consumer_profile_due_products or "")
        self._run_cron("2026-04-01")
        self.assertNotIn(lapsed, self._reminders().partner_id)
        # Azure Shop's coffee, expected on 2026-03-13, is within the window
        self.assertIn(self.customer, self._reminders().partner_id)

        self.company.consumer_preference_due_days = 0
        with freeze_time("2026-04-02"):
            coffee.invalidate_recordset()
            self.assertTrue(coffee.is_due_for_reorder)
        self._run_cron("2026-04-02")
        self.assertIn(lapsed, self._reminders().partner_id)

    def test_today_is_the_users_day_without_company_time_zone(self):
        """A company that gives no time zone: the action's user's day, here
        already 2026-03-14 in Tokyo at 16:00 UTC."""
        self.env.ref("base.user_root").tz = "Asia/Tokyo"
        self.company.partner_id.tz = False
        self._run_cron("2026-03-13 16:00:00")
        reminder = self._reminders().filtered(lambda r: r.partner_id == self.customer)
        self.assertRecordValues(
            reminder,
            [{"due_date": date(2026, 3, 13), "reminder_date": date(2026, 3, 14)}],
        )

    def test_activity_link_for_salespeople_who_may_bill(self):
        """The To-Do activity links to the Bill wizard filled with the due
        products only for a salesperson who may open it: an invoicing user
        and, with the Sales addon (consumer_preferences_sale), salespeople,
        who quote. Without it, a salesperson without invoicing rights gets the
        due products without a link that would answer with an access error."""
        self.company.consumer_preference_billing = True
        self.other_customer.user_id = self.accountant
        self._run_cron("2026-04-01")
        link = f"/consumer_preferences/bill_due/{{}}/{self.company.id}"
        accountant_note = self._todo_activities(self.other_customer).note
        self.assertIn("Reorder reminder of 04/01/2026", accountant_note)
        self.assertIn(link.format(self.other_customer.id), accountant_note)
        salesperson_note = self._todo_activities(self.customer).note
        self.assertIn("Reorder reminder of 04/01/2026", salesperson_note)
        if "consumer_preferences_sale" in self.env.registry._init_modules:
            self.assertIn(link.format(self.customer.id), salesperson_note)
        else:
            self.assertNotIn(link.format(self.customer.id), salesperson_note)
            self.assertNotIn("Bill the due products", salesperson_note)

    def test_no_activity_link_while_billing_is_off(self):
        """As the Bill Due Products button, the To-Do's link shows while the
        company bills from preferences only: it would open an error."""
        self.other_customer.user_id = self.accountant
        self._run_cron("2026-04-01")
        note = self._todo_activities(self.other_customer).note
        self.assertIn("Reorder reminder of 04/01/2026", note)
        self.assertNotIn("/consumer_preferences/bill_due/", note)

    def test_product_restricted_to_another_company_is_not_due(self):
        """A product restricted to another company since the customer bought
        it is neither due in the profile (whichever companies the user has
        selected) nor reminded: the Bill wizard would not offer it."""
        other_company = self.setup_other_company()["company"]
        self.coffee.product_tmpl_id.company_id = other_company
        self.accountant.company_ids |= other_company
        both_companies = {"allowed_company_ids": [self.company.id, other_company.id]}
        with freeze_time("2026-04-01"):
            self.assertFalse(
                self.other_customer.with_user(self.accountant)
                .with_context(**both_companies)
                .consumer_profile_due_count
            )
            # nor in the preferences list's Due for Reorder filter, where
            # each line is due by its own company's products
            Preference = (
                self.env["consumer.preference"]
                .with_user(self.accountant)
                .with_context(**both_companies)
            )
            due = Preference.search(
                [("partner_id", "=", self.other_customer.id)]
                + self._filter_domain("due_for_reorder")
            )
            self.assertFalse(due)
            self.assertFalse(
                Preference.search(
                    [
                        ("partner_id", "=", self.other_customer.id),
                        ("product_id", "=", self.coffee.id),
                    ]
                ).is_due_for_reorder
            )
            # the same line is due again once the product is shared
            self.coffee.product_tmpl_id.company_id = False
            due = Preference.search(
                [("partner_id", "=", self.other_customer.id)]
                + self._filter_domain("due_for_reorder")
            )
            self.assertEqual(due.product_id, self.coffee)
            self.assertTrue(due.is_due_for_reorder)
            self.assertEqual(
                Preference.search(
                    [
                        ("partner_id", "=", self.other_customer.id),
                        ("is_due_for_reorder", "=", False),
                    ]
                ),
                Preference.search([("partner_id", "=", self.other_customer.id)]) - due,
            )
            self.coffee.product_tmpl_id.company_id = other_company
        self._run_cron("2026-04-01")
        self.assertNotIn(self.coffee, self._reminders().product_ids)

    def test_due_field_and_its_search_agree(self):
        """Every line is due or not, by its field and by its search alike: a
        line with no expected date (One Time's, bought once) too, which the
        negated search left out; and a line whose product only another
        company sells, not selected by the user, reads as not due (an access
        error before: the product is not readable)."""
        Preference = self.env["consumer.preference"].with_user(self.accountant)
        customers = self.customer | self.other_customer | self.quiet | self.one_time
        in_customers = [("partner_id", "in", customers.ids)]
        with freeze_time("2026-04-01"):
            lines = Preference.search(in_customers)
            due = Preference.search(in_customers + [("is_due_for_reorder", "=", True)])
            not_due = Preference.search(
                in_customers + [("is_due_for_reorder", "=", False)]
            )
            self.assertEqual(
                Preference.search(in_customers + [("is_due_for_reorder", "!=", True)]),
                not_due,
            )
            self.assertEqual(due | not_due, lines)
            self.assertFalse(due & not_due)
            self.assertEqual(due.filtered("is_due_for_reorder"), due)
            self.assertFalse(not_due.filtered("is_due_for_reorder"))
            self.assertEqual(
                {(line.partner_id, line.product_id) for line in due},
                {(self.customer, self.coffee), (self.other_customer, self.coffee)},
            )
            self.assertIn(self._history(self.one_time, self.coffee), not_due)
            other_company = self.setup_other_company()["company"]
            self.coffee.product_tmpl_id.company_id = other_company
            self.accountant.company_ids |= other_company
            line = (
                Preference.with_context(allowed_company_ids=self.company.ids)
                .search(in_customers)
                .filtered(lambda line: line.partner_id == self.other_customer)
            )
            self.assertEqual(line.product_id, self.coffee)
            self.assertFalse(line.is_due_for_reorder)

    def test_email_customers(self):
        self.company.consumer_preference_reorder_email = True
        self._run_cron("2026-04-01")
        reminder = self._reminders().filtered(
            lambda r: r.partner_id == self.other_customer
        )
        self.assertTrue(reminder.email_sent)
        mail = self.env["mail.mail"].search(
            [
                ("model", "=", "consumer.preference.reminder"),
                ("res_id", "=", reminder.id),
            ]
        )
        self.assertEqual(mail.recipient_ids, self.other_customer)
        self.assertIn("Coffee", mail.body_html)
        self.assertIn("time to reorder?", mail.subject)
        # No address, no email; the next run sends nothing again.
        customer_reminder = self._reminders() - reminder
        self.assertFalse(customer_reminder.email_sent)
        self._run_cron("2026-04-02")
        self.assertEqual(
            self.env["mail.mail"].search_count(
                [("model", "=", "consumer.preference.reminder")]
            ),
            1,
        )

    def test_bill_due_products(self):
        self.company.consumer_preference_billing = True
        with freeze_time("2026-04-01"):
            action = self.customer_contact.with_user(
                self.accountant
            ).action_consumer_preference_bill_due()
            wizard = self.env["consumer.preference.bill"].browse(action["res_id"])
            self.assertRecordValues(
                wizard.line_ids,
                [{"product_id": self.coffee.id, "quantity": 2.5}],
            )
            self.assertEqual(wizard.partner_id, self.customer)
            invoice_action = wizard.with_user(self.accountant).action_bill()
        invoice = self.env["account.move"].browse(invoice_action["res_id"])
        self.assertEqual(invoice.invoice_line_ids.product_id, self.coffee)
        self.assertEqual(invoice.invoice_line_ids.quantity, 2.5)
        # The activity's link: the server action, from the customer's id.
        with freeze_time("2026-04-01"):
            server_action = self.env.ref(
                "consumer_preferences.action_consumer_preference_bill_due"
            )
            link_action = (
                server_action.with_user(self.accountant)
                .with_context(active_id=self.customer.id)
                .run()
            )
        self.assertEqual(link_action["res_model"], "consumer.preference.bill")
        # Nothing due, nothing to bill: say so.
        with (
            freeze_time("2026-03-01"),
            self.assertRaisesRegex(
                UserError, "Azure Shop has no product due for reorder"
            ),
        ):
            self.customer.with_user(
                self.accountant
            ).action_consumer_preference_bill_due()

    def test_bill_due_products_keeps_the_specified_values(self):
        """Azure Shop specified its M shirts of quality 8, which costs 3.00
        more, and bought them twice: Bill Due Products bills them as the
        Bill button does, with the specified quality and its price."""
        self.company.consumer_preference_billing = True
        self.shirt_template.attribute_line_ids.filtered(
            lambda line: line.attribute_id == self.quality
        ).product_template_value_ids.filtered(
            lambda value: value.product_attribute_value_id == self.quality_8
        ).price_extra = 3.0
        specification = self.env["consumer.preference"].create(
            {
                "partner_id": self.customer.id,
                "product_id": self.shirt_m.id,
                "attribute_value_ids": [
                    Command.set((self.size_m | self.quality_8).ids)
                ],
            }
        )
        for invoice_date in ("2026-01-15", "2026-02-15"):
            self._post_customer_invoice(
                self.customer, [(self.shirt_m, 2, 23.0)], invoice_date=invoice_date
            )
        with freeze_time("2026-04-01"):
            action = self.customer.with_user(
                self.accountant
            ).action_consumer_preference_bill_due()
            wizard = self.env["consumer.preference.bill"].browse(action["res_id"])
            shirt_line = wizard.line_ids.filtered(
                lambda line: line.product_id == self.shirt_m
            )
            self.assertRecordValues(
                shirt_line,
                [
                    {
                        "preference_id": specification.id,
                        "quantity": 2.0,
                        "price_unit": 23.0,
                    }
                ],
            )
            invoice = self.env["account.move"].browse(
                wizard.with_user(self.accountant).action_bill()["res_id"]
            )
        shirts = invoice.invoice_line_ids.filtered(
            lambda line: line.product_id == self.shirt_m
        )
        self.assertRecordValues(shirts, [{"quantity": 2.0, "price_unit": 23.0}])
        self.assertIn("Quality: 8", shirts.name)

    def _reminder_mails(self, reminders):
        return self.env["mail.mail"].search(
            [
                ("model", "=", "consumer.preference.reminder"),
                ("res_id", "in", reminders.ids),
            ]
        )

    def test_erasure_forgets_reminders(self):
        """Erasing the history, or forgetting the profile, erases the
        reminders made from it: the due products they list, their To-Do
        activity and the email not sent yet."""
        self.company.consumer_preference_reorder_email = True
        self.customer.email = "azure@example.com"
        self._run_cron("2026-04-01")
        for action, partner in (
            ("action_consumer_preference_erase_history", self.customer),
            ("action_consumer_preference_forget", self.other_customer),
        ):
            with self.subTest(action=action):
                reminders = self.Reminder.search([("partner_id", "=", partner.id)])
                self.assertTrue(reminders)
                activities = reminders.activity_id
                mails = self._reminder_mails(reminders)
                self.assertTrue(mails)
                getattr(partner.with_user(self.salesperson), action)()
                self.assertFalse(reminders.exists())
                self.assertFalse(activities.exists())
                self.assertFalse(mails.exists())
                self.assertFalse(
                    partner.with_user(self.salesperson).commercial_reminder_ids
                )
        self.assertFalse(self._todo_activities(self.customer))

    def test_erasure_deletes_the_message_of_a_done_reminder(self):
        """A salesperson marks reminders' To-Dos done: Azure Shop's with
        another To-Do of it, as the activity view does, and Deco Store's
        alone. Each leaves a message on its customer, a reminder's without
        its due products (the customer's chatter is read by every company
        and role: they were listed there). Erasing the customers deletes
        those messages, not the other To-Do's."""
        self.other_customer.user_id = self.salesperson
        self._run_cron("2026-04-01")
        reminders = self.Reminder.search(
            [("partner_id", "in", (self.customer | self.other_customer).ids)]
        )
        azure, deco = (
            reminders.filtered(
                lambda reminder, partner=partner: reminder.partner_id == partner
            )
            for partner in (self.customer, self.other_customer)
        )
        call = self.customer.activity_schedule(
            "mail.mail_activity_data_todo",
            summary="Call about the fair",
            user_id=self.salesperson.id,
        )
        messages_before = (self.customer | self.other_customer).message_ids
        first_message_id = (
            (azure.activity_id | call)
            .with_user(self.salesperson)
            .action_feedback(feedback="Called, ordered.")
        )
        deco.activity_id.with_user(self.salesperson).action_done()
        done_messages = (
            self.customer | self.other_customer
        ).message_ids - messages_before
        self.assertEqual(len(done_messages), 3)
        call_message = done_messages - reminders.done_message_id
        self.assertIn("Call about the fair", call_message.body)
        # Odoo's order kept: the message of the first activity done comes first
        self.assertEqual(first_message_id, azure.done_message_id.id)
        for reminder in azure | deco:
            message = reminder.done_message_id
            self.assertEqual(message.res_id, reminder.partner_id.id)
            self.assertIn("Reorder reminder of 04/01/2026", message.body)
            self.assertNotIn("Coffee", message.body)
        self.assertIn("Called, ordered.", azure.done_message_id.body)
        done_message_ids = reminders.done_message_id.ids

        self.customer.with_user(self.salesperson).action_consumer_preference_forget()
        self.other_customer.with_user(
            self.salesperson
        ).action_consumer_preference_erase_history()
        self.assertFalse(self.env["mail.message"].browse(done_message_ids).exists())
        self.assertTrue(call_message.exists())

    def test_bill_due_products_needs_consent(self):
        """A customer who withdrew consent has no product due for reorder:
        its profile shows none, and neither the Bill Due Products action
        (RPC) nor the link of a reminder made before the withdrawal bills
        from its kept history lines."""
        self.company.consumer_preference_billing = True
        self._run_cron("2026-04-01")
        self.customer.consumer_preference_consent = False
        server_action = self.env.ref(
            "consumer_preferences.action_consumer_preference_bill_due"
        )
        with freeze_time("2026-04-01"):
            self.assertFalse(
                self.customer.with_user(self.accountant).consumer_profile_due_count
            )
            for partner in (self.quiet, self.customer):
                with (
                    self.subTest(customer=partner.name),
                    self.assertRaisesRegex(UserError, "has no product due for reorder"),
                ):
                    partner.with_user(
                        self.accountant
                    ).action_consumer_preference_bill_due()
            with self.assertRaisesRegex(UserError, "has no product due for reorder"):
                server_action.with_user(self.accountant).with_context(
                    active_id=self.customer.id
                ).run()

    def test_bill_due_products_refuses_who_may_not_bill(self):
        """The link's action is open to internal users: one who may not bill
        (a Preferences user, who reads the preferences) is refused because
        it may not bill, whether the customer has products due or not, rather
        than told that the customer has none due."""
        self.company.consumer_preference_billing = True
        reader = self._new_company_user(
            "cp_preferences_only",
            "base.group_user,consumer_preferences.group_consumer_preference_user",
        )
        server_action = self.env.ref(
            "consumer_preferences.action_consumer_preference_bill_due"
        )
        with freeze_time("2026-04-01"):
            # Azure Shop has Coffee due; Quiet Corner, without consent, none.
            for partner in (self.customer, self.quiet):
                with (
                    self.subTest(customer=partner.name),
                    self.assertRaisesRegex(AccessError, "Bill from Consumer Pref"),
                ):
                    server_action.with_user(reader).with_context(
                        active_id=partner.id
                    ).run()

    def _other_company_user(self, login, groups):
        """A user of ``groups`` working only in another company."""
        other_company = self.setup_other_company()["company"]
        return new_test_user(
            self.env,
            login=login,
            groups=groups,
            company_id=other_company.id,
            company_ids=[Command.set(other_company.ids)],
        )

    def test_no_activity_for_salesperson_of_other_company(self):
        """The To-Do activity sends to one company's reminder and Bill
        wizard: a salesperson who does not work in that company, who could
        open neither, gets none (as a customer without salesperson)."""
        outsider = self._other_company_user(
            "cp_outsider", "base.group_user,sales_team.group_sale_salesman"
        )
        self.customer.user_id = outsider
        self._run_cron("2026-04-01")
        reminder = self._reminders().filtered(lambda r: r.partner_id == self.customer)
        self.assertEqual(reminder.product_ids, self.coffee)
        self.assertFalse(reminder.activity_id)
        self.assertFalse(self._todo_activities(self.customer))

    def test_activity_shows_no_preference_data_to_other_companies(self):
        """The To-Do is the customer's activity: whoever may read the
        customer reads it, as the chatter loads it. A user working only in
        another company, without the Preferences group but with Odoo's
        default Contact Creation, may not read Azure Shop's preference lines,
        and reads in its To-Do neither the due products
        nor their expected dates and usual quantities (it listed them): only
        that a reminder of that day waits in the reminder's company."""
        self.company.consumer_preference_billing = True
        self.customer.user_id = self.accountant
        outsider = self._other_company_user(
            "cp_other_company_contacts", "base.group_user,base.group_partner_manager"
        )
        self._run_cron("2026-04-01")
        reminder = self._reminders().filtered(lambda r: r.partner_id == self.customer)
        self.assertEqual(reminder.product_ids, self.coffee)
        customer = self.customer.with_user(outsider)
        with self.assertRaises(AccessError):
            self.env["consumer.preference"].with_user(outsider).search(
                [("partner_id", "=", self.customer.id)]
            )
        [activity] = customer.activity_ids.read(["summary", "note"])
        self.assertEqual(activity["summary"], "Reorder reminder")
        for shown in (activity["summary"], activity["note"]):
            self.assertNotIn("Coffee", shown)
            self.assertNotIn("03/13/2026", shown)
            self.assertNotIn("2.50", shown)
        self.assertIn(
            f"Reorder reminder of 04/01/2026: the due products are on the "
            f"Preferences tab, in {self.company.name}.",
            activity["note"],
        )
        # the salesperson, who may bill, keeps the link to the Bill wizard
        self.assertIn(
            f"/consumer_preferences/bill_due/{self.customer.id}/{self.company.id}",
            activity["note"],
        )

    def test_withdrawn_consent_stops_the_emails_not_sent(self):
        """A customer who withdraws consent (the box only, without erasing)
        receives no reminder email: one still waiting in the mail queue is
        dropped. Its salesperson's To-Do goes too: marked done, it would
        post the due products on the customer after the withdrawal. The
        reminder stays, as the history does until erased."""
        self.company.consumer_preference_reorder_email = True
        self.customer.email = "azure@example.com"
        self._run_cron("2026-04-01")
        reminders = self.Reminder.search([("partner_id", "=", self.customer.id)])
        mails = self._reminder_mails(reminders)
        self.assertTrue(mails)
        self.assertTrue(self._todo_activities(self.customer))
        other_mails = self._reminder_mails(
            self.Reminder.search([("partner_id", "=", self.other_customer.id)])
        )
        self.customer.with_user(self.salesperson).consumer_preference_consent = False
        self.assertFalse(mails.exists())
        self.assertFalse(self._todo_activities(self.customer))
        self.assertTrue(reminders.exists())
        self.assertEqual(other_mails, other_mails.exists())

    def test_consent_withdrawn_while_a_run_commits_its_batch(self):
        """A withdrawal committed while a run was creating the customer's
        reminder cannot see it (its snapshot is older): the email is dropped
        when the mail queue would send it, and the open To-Do at the next
        run (the email left, the To-Do stayed open)."""
        self.company.consumer_preference_reorder_email = True
        self.customer.email = "azure@example.com"
        self._run_cron("2026-04-01")
        reminder = self._reminders().filtered(
            lambda reminder: reminder.partner_id == self.customer
        )
        mail = self._reminder_mails(reminder)
        self.assertEqual(mail.state, "outgoing")
        self.assertTrue(reminder.activity_id)
        # the withdrawal, as it commits beside the run: below the ORM
        self.env.cr.execute(
            "UPDATE res_partner SET consumer_preference_consent = FALSE WHERE id = %s",
            [self.customer.id],
        )
        self.env.invalidate_all()
        mail._send()
        self.assertFalse(mail.exists())
        self._run_cron("2026-04-02")
        reminder.invalidate_recordset()
        self.assertFalse(reminder.activity_id)
        self.assertFalse(self._todo_activities(self.customer))

    def test_withdrawn_consent_keeps_the_todos_done(self):
        """A To-Do marked done that its type keeps (Keep Done) is archived,
        not deleted: the withdrawal removes the open ones only."""
        self.env.ref("mail.mail_activity_data_todo").keep_done = True
        self._run_cron("2026-04-01")
        [reminder] = self.Reminder.search([("partner_id", "=", self.customer.id)])
        done = reminder.activity_id
        done.with_user(self.salesperson).action_done()
        self.assertFalse(done.active)
        self.customer.with_user(self.salesperson).consumer_preference_consent = False
        self.assertTrue(done.exists())

    def test_archived_or_unsaleable_products_are_not_due(self):
        """A product the company archived, or no longer sells, is not due for
        reorder: the profile does not count it, no reminder lists it (its
        email would list nothing, the reminder's products hiding archived
        ones), and Bill Due Products does not offer what the Bill wizard then
        refuses."""
        self.company.consumer_preference_billing = True
        self.company.consumer_preference_reorder_email = True
        self.customer.email = "azure@example.com"
        for values in ({"active": False}, {"sale_ok": False}):
            with self.subTest(values=values):
                self.coffee.write(values)
                with freeze_time("2026-04-01"):
                    self.assertFalse(
                        self.customer.with_user(
                            self.accountant
                        ).consumer_profile_due_count
                    )
                    with self.assertRaisesRegex(
                        UserError, "has no product due for reorder"
                    ):
                        self.customer.with_user(
                            self.accountant
                        ).action_consumer_preference_bill_due()
                self._run_cron("2026-04-01")
                self.assertFalse(self._reminders())
                self.assertFalse(self._todo_activities(self.customer))
                self.coffee.write({"active": True, "sale_ok": True})
        # Sold again: due again.
        self._run_cron("2026-04-01")
        self.assertEqual(self._reminders().product_ids, self.coffee)

    def test_product_not_reordered_holds_back_no_other(self):
        """Coffee, reminded on 2026-04-01, is not bought again; tea falls due
        on 2026-05-18: tea is reminded, with coffee still due (before, the
        earliest due date of the customer stayed coffee's, already reminded,
        and nothing was ever reminded to it again)."""
        self._run_cron("2026-04-01")
        self._run_cron("2026-05-20")
        self._run_cron("2026-05-21")
        reminders = self._reminders().filtered(
            lambda reminder: reminder.partner_id == self.customer
        )
        self.assertRecordValues(
            reminders,
            [
                {
                    "due_date": date(2026, 5, 18),
                    "product_ids": (self.coffee | self.tea).ids,
                },
                {"due_date": date(2026, 3, 13), "product_ids": self.coffee.ids},
            ],
        )
        self.assertEqual(len(self._todo_activities(self.customer)), 2)

    def test_product_off_sale_on_its_due_date_is_reminded_back_on_sale(self):
        """Deco Store buys coffee and tea together: both are expected on
        2026-02-14. Tea is off sale on the day of a run, whose reminder lists
        coffee alone; back on sale, tea is reminded by the next run, the same
        day (Run Manually) as on any other, with a To-Do and an email of its
        own (before, a reminder of that due date existed: tea stayed due,
        never reminded). Then neither is reminded again for that date."""
        self.company.consumer_preference_reorder_email = True
        self.other_customer.user_id = self.salesperson
        for invoice_date in ("2026-01-05", "2026-01-25"):
            self._post_customer_invoice(
                self.other_customer, [(self.tea, 1, 5.0)], invoice_date=invoice_date
            )
        self.tea.sale_ok = False
        self._run_cron("2026-04-01")
        first = self.Reminder.search([("partner_id", "=", self.other_customer.id)])
        self.assertRecordValues(
            first, [{"due_date": date(2026, 2, 14), "product_ids": self.coffee.ids}]
        )
        self.tea.sale_ok = True
        self._run_cron("2026-04-01")
        reminders = self.Reminder.search([("partner_id", "=", self.other_customer.id)])
        second = reminders - first
        self.assertRecordValues(
            second,
            [
                {
                    "due_date": date(2026, 2, 14),
                    "reminder_date": date(2026, 4, 1),
                    # with coffee, still due, as any new reminder
                    "product_ids": (self.coffee | self.tea).ids,
                    "email_sent": True,
                }
            ],
        )
        self.assertTrue(second.activity_id)
        self.assertEqual(
            self._todo_activities(self.other_customer), reminders.activity_id
        )
        self.assertIn("Tea", self._reminder_mails(second).body_html)
        # Nothing new is due: the next runs remind of nothing again.
        self._run_cron("2026-04-01")
        self._run_cron("2026-04-02")
        self.assertEqual(
            self.Reminder.search([("partner_id", "=", self.other_customer.id)]),
            reminders,
        )
        self.assertEqual(len(self._reminder_mails(reminders)), 2)

    def test_return_does_not_remind_again(self):
        """A credit note is not a purchase: when Deco Store returns all its
        coffee, tea, already listed by the reminder of 2026-04-01 and bought
        by nobody since, is not reminded (nor emailed) a second time, although
        the earliest expected date of its due products moved."""
        self.company.consumer_preference_reorder_email = True
        for invoice_date in ("2026-01-10", "2026-02-10"):
            self._post_customer_invoice(
                self.other_customer, [(self.tea, 1, 5.0)], invoice_date=invoice_date
            )
        self._run_cron("2026-04-01")
        reminder = self.Reminder.search([("partner_id", "=", self.other_customer.id)])
        self.assertRecordValues(
            reminder,
            [
                {
                    "due_date": date(2026, 2, 14),
                    "product_ids": (self.coffee | self.tea).ids,
                }
            ],
        )
        self._post_customer_invoice(
            self.other_customer,
            [(self.coffee, 8, 8.0)],
            move_type="out_refund",
            invoice_date="2026-04-02",
        )
        self._run_cron("2026-04-03")
        self.assertEqual(
            self.Reminder.search([("partner_id", "=", self.other_customer.id)]),
            reminder,
        )
        self.assertEqual(len(self._reminder_mails(self._reminders())), 1)
        # Bought again, due again: reminded again.
        self._post_customer_invoice(
            self.other_customer, [(self.tea, 1, 5.0)], invoice_date="2026-04-10"
        )
        self._run_cron("2026-06-01")
        self.assertRecordValues(
            self.Reminder.search([("partner_id", "=", self.other_customer.id)]),
            [
                {"due_date": date(2026, 5, 25), "product_ids": self.tea.ids},
                {
                    "due_date": date(2026, 2, 14),
                    "product_ids": (self.coffee | self.tea).ids,
                },
            ],
        )

    def test_failed_batch_is_reminded_by_the_next_run(self):
        """The scheduled action commits each batch: a run that fails (or is
        killed) in a later batch leaves the reminders of the batches kept,
        and the next run reminds the customers of the failed one, To-Do
        activity included, instead of finding their reminders already there
        without one."""
        self.other_customer.user_id = self.salesperson
        cr = self.env.cr

        def commit():
            # What the cron's commit keeps: what a failure rolls back to.
            self.env.flush_all()
            cr.execute("SAVEPOINT reminder_cron_commit")

        schedule_activities = type(self.Reminder)._schedule_activities
        calls = []

        def fail_second_batch(reminders):
            calls.append(reminders)
            if len(calls) == 2:
                raise RuntimeError("worker killed")
            return schedule_activities(reminders)

        cron_thread = SimpleNamespace(current_thread=SimpleNamespace)
        with (
            freeze_time("2026-04-01"),
            patch.object(consumer_preference_reminder, "REMINDER_BATCH_SIZE", 1),
            patch.object(consumer_preference_reminder, "threading", cron_thread),
            patch.object(cr, "commit", commit),
        ):
            commit()
            # Not assertRaises, whose savepoint would take the commits back.
            with patch.object(
                type(self.Reminder), "_schedule_activities", fail_second_batch
            ):
                with suppress(RuntimeError):
                    self.Reminder.sudo()._cron_remind()
            self.assertEqual(len(calls), 2)
            # The cron's rollback, to the last commit.
            cr.execute("ROLLBACK TO SAVEPOINT reminder_cron_commit")
            self.env.invalidate_all()
            self.Reminder.sudo()._cron_remind()
        for customer in (self.customer, self.other_customer):
            reminder = self.Reminder.search([("partner_id", "=", customer.id)])
            self.assertEqual(len(reminder), 1)
            self.assertEqual(reminder.activity_id, self._todo_activities(customer))
            self.assertTrue(reminder.activity_id)

    def _aggregated_history_lines(self, plan):
        """The history lines a reminders' statement aggregated into due
        products, from its plan (EXPLAIN ANALYZE, FORMAT JSON): the rows that
        entered its aggregate by customer. Counted there, not where the lines
        are read: a plan may read the same lines again in a loop (a nested
        loop rescanning them once per partner), which says nothing of how
        many lines the batch covers."""
        if plan.get("Node Type") == "Aggregate" and "preference.partner_id" in (
            plan.get("Group Key") or ()
        ):
            (lines,) = (
                child
                for child in plan["Plans"]
                if child["Parent Relationship"] == "Outer"
            )
            return lines["Actual Rows"] * lines["Actual Loops"]
        return sum(
            self._aggregated_history_lines(subplan) for subplan in plan.get("Plans", ())
        )

    def test_batches_aggregate_each_due_line_once(self):
        """Each batch goes on after the last customer of the batch before:
        in a run, every history line expected before today is aggregated
        into due products once, not again at each batch (which made the
        nightly run quadratic in the number of due customers)."""
        newcomers = self.env["res.partner"].create(
            [{"name": f"Newcomer {number}", "is_company": True} for number in range(3)]
        )
        for newcomer in newcomers:
            for invoice_date in ("2026-01-15", "2026-02-15"):
                self._post_customer_invoice(
                    newcomer, [(self.coffee, 1, 8.0)], invoice_date=invoice_date
                )
        # Every company's due lines of customers who consent, as the run
        # reminds in every company.
        expected_lines = (
            self.env["consumer.preference"]
            .sudo()
            .search_count(
                [
                    ("preference_type", "=", "history"),
                    ("next_expected_date", "<", "2026-04-01"),
                    ("is_fully_returned", "=", False),
                    ("partner_id.consumer_preference_consent", "=", True),
                ]
            )
        )
        cr = self.env.cr
        execute = cr.execute
        aggregated = []

        def explained_execute(query, *args, **kwargs):
            # The statement as it runs, in a savepoint taken back, to read
            # how many lines its plan aggregated.
            if "INSERT INTO consumer_preference_reminder AS" in str(query):
                execute("SAVEPOINT reminder_explained")
                execute(SQL("EXPLAIN (ANALYZE, FORMAT JSON) %s", query))
                plan = cr.fetchone()[0][0]["Plan"]
                execute("ROLLBACK TO SAVEPOINT reminder_explained")
                aggregated.append(self._aggregated_history_lines(plan))
            return execute(query, *args, **kwargs)

        with (
            freeze_time("2026-04-01"),
            patch.object(consumer_preference_reminder, "REMINDER_BATCH_SIZE", 2),
            patch.object(cr, "execute", explained_execute),
        ):
            self.Reminder.sudo()._cron_remind()
        self.assertEqual(
            self._reminders().partner_id,
            self.customer | self.other_customer | newcomers,
        )
        # Six customers of the company with a line expected before today
        # (Quiet Corner included, who withdrew its consent): three batches,
        # each aggregating only its own customers' lines, so that every line
        # is aggregated once in the run (each batch aggregated the whole
        # company's before).
        self.assertEqual(len([lines for lines in aggregated if lines]), 3)
        self.assertEqual(sum(aggregated), expected_lines)
