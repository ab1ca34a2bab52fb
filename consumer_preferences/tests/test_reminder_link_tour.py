# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from datetime import timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestReminderLinkTour(HttpCase):
    """In Chromium: the link of a reorder reminder, clicked in the web client,
    opens the Bill wizard in the reminder's company, not in the company the
    salesperson works in (the web client follows /odoo/... links in place,
    keeping its companies)."""

    def test_link_opens_the_wizard_in_the_reminders_company(self):
        admin = self.env.ref("base.user_admin")
        main_company = admin.company_id
        company = self.env["res.company"].create({"name": "Reminder Company"})
        self.env["account.chart.template"].try_loading(
            "generic_coa", company=company, install_demo=False
        )
        company.consumer_preference_billing = True
        admin.write({"company_ids": [Command.link(company.id)]})
        self.assertEqual(admin.company_id, main_company)
        env = self.env(context={"allowed_company_ids": company.ids})
        customer = env["res.partner"].create(
            {"name": "Link Customer", "is_company": True, "user_id": admin.id}
        )
        tea = env["product.product"].create(
            {"name": "Link Tea", "list_price": 10.0, "taxes_id": [Command.clear()]}
        )
        # expected again 20 days ago: due, within the company's window
        today = fields.Date.today()
        for invoice_date in (today - timedelta(days=60), today - timedelta(days=40)):
            env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "partner_id": customer.id,
                    "invoice_date": invoice_date,
                    "invoice_line_ids": [
                        Command.create(
                            {"product_id": tea.id, "quantity": 3, "price_unit": 10.0}
                        )
                    ],
                }
            ).action_post()
        self.env.ref(
            "consumer_preferences.ir_cron_consumer_preference_reorder"
        ).method_direct_trigger()
        reminder = env["consumer.preference.reminder"].search(
            [("partner_id", "=", customer.id)]
        )
        self.assertEqual(reminder.company_id, company)
        self.start_tour(
            f"/odoo/action-base.action_partner_form/{customer.id}",
            "consumer_preferences_reminder_link",
            login="admin",
        )
