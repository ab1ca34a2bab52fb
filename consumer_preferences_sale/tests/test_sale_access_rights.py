# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import ConsumerPreferenceSaleCommon


@tagged("post_install", "-at_install")
class TestSaleAccessRights(ConsumerPreferenceSaleCommon):
    """A salesperson limited to own documents works with its own customers
    (and customers without salesperson); one allowed all documents with
    every customer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Azure Shop is the other salesperson's customer; Deco Store is ours.
        cls.customer.user_id = cls.salesperson_all
        cls.other_customer.user_id = cls.salesperson
        cls.deco_specification = cls.env["consumer.preference"].create(
            {"partner_id": cls.other_customer.id, "product_id": cls.coffee.id}
        )
        cls.nobody_customer = cls.env["res.partner"].create(
            {"name": "Nobody's Customer", "is_company": True}
        )
        cls.nobody_specification = cls.env["consumer.preference"].create(
            {"partner_id": cls.nobody_customer.id, "product_id": cls.tea.id}
        )

    def _menu_preferences(self, user):
        action = (
            self.env["consumer.preference"]
            .with_user(user)
            .action_open_sale_preferences()
        )
        self.assertEqual(action["res_model"], "consumer.preference")
        return self.env["consumer.preference"].with_user(user).search(action["domain"])

    def test_sales_menu_for_salespeople(self):
        menu = self.env.ref("consumer_preferences_sale.consumer_preference_sale_menu")
        self.assertEqual(menu.parent_id, self.env.ref("sale.sale_order_menu"))
        self.assertEqual(menu.groups_id, self.env.ref("sales_team.group_sale_salesman"))
        visible_menus = (
            self.env["ir.ui.menu"].with_user(self.salesperson)._visible_menu_ids()
        )
        self.assertIn(menu.id, visible_menus)
        self.assertNotIn(
            menu.id,
            self.env["ir.ui.menu"].with_user(self.accountant)._visible_menu_ids(),
        )

    def test_own_documents_salesperson_lists_own_customers(self):
        self.assertEqual(
            self._menu_preferences(self.salesperson),
            self.deco_specification | self.nobody_specification,
        )
        all_lines = self._menu_preferences(self.salesperson_all)
        self.assertIn(self.tea_specification, all_lines)
        self.assertIn(self.coffee_history, all_lines)
        self.assertIn(self.deco_specification, all_lines)

    def test_profile_amounts_follow_own_documents(self):
        """The net invoiced amount of another salesperson's customer is hidden
        from a salesperson limited to own documents, shown to one allowed all
        documents; the buying rhythm is shown to both."""
        own = self.customer.with_user(self.salesperson)
        self.assertEqual(own.consumer_profile_invoice_count, 2)
        self.assertEqual(own.consumer_profile_net_invoiced, 0.0)
        self.assertEqual(own.consumer_profile_top_categories, "Food")
        # The profile's fields are cached per company, not per user: a web
        # request starts afresh, this test must say so.
        self.env.invalidate_all()
        every = self.customer.with_user(self.salesperson_all)
        self.assertEqual(every.consumer_profile_invoice_count, 2)
        self.assertEqual(every.consumer_profile_net_invoiced, 48.0)

        self.customer.user_id = self.salesperson
        self.env.invalidate_all()
        self.assertEqual(own.consumer_profile_net_invoiced, 48.0)

    def test_add_from_preferences_on_another_salespersons_quotation(self):
        order = (
            self.env["sale.order"]
            .with_user(self.salesperson_all)
            .create(
                {
                    "partner_id": self.customer.id,
                    "user_id": self.salesperson_all.id,
                    "order_line": [Command.create({"product_id": self.tea.id})],
                }
            )
        )
        with self.assertRaises(AccessError):
            order.with_user(self.salesperson).action_add_from_preferences()
        form = self._wizard_form(user=self.salesperson_all, order=order)
        self.assertEqual(len(form.line_ids), 3)

    def test_own_documents_salesperson_quotes_own_customers_only(self):
        """As in Sales: a quotation of another salesperson's customer is that
        salesperson's, which a salesperson limited to own documents cannot
        create: the wizard says whose customer it is and whom to ask (not
        Odoo's access error); nothing is left behind."""
        wizard = self._wizard_form().save()
        self.assertEqual(wizard.document_type, "quotation")
        self.assertFalse(wizard.can_invoice)
        wizard.line_ids[0].quantity = 1
        with self.assertRaises(UserError) as caught:
            wizard.action_quote()
        self.assertIn(
            f"Azure Shop is {self.salesperson_all.name}'s customer",
            str(caught.exception),
        )
        self.assertFalse(
            self.env["sale.order"].search([("partner_id", "=", self.customer.id)])
        )

        wizard = self._wizard_form(partner=self.other_customer).save()
        self.assertEqual(wizard.line_ids.preference_id, self.deco_specification)
        wizard.line_ids.quantity = 2
        order = self.env["sale.order"].browse(wizard.action_quote()["res_id"])
        self.assertRecordValues(
            order,
            [{"partner_id": self.other_customer.id, "user_id": self.salesperson.id}],
        )
