# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from freezegun import freeze_time
from lxml import etree

from odoo.exceptions import AccessError
from odoo.tests import Form, tagged

from .common import ConsumerPreferenceSaleCommon


@tagged("post_install", "-at_install")
class TestQuotationFromPreferences(ConsumerPreferenceSaleCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seller_accountant = cls._new_company_user(
            "cp_seller_accountant",
            "base.group_user,sales_team.group_sale_salesman,"
            "account.group_account_invoice",
        )

    def test_quotation_lines_prices_units_and_values(self):
        """A salesperson quotes: one quotation, one line per product entered,
        priced by the customer's pricelist through the order line's own
        computes, in the product's unit, with the no-variant value of the
        specification on the line."""
        form = self._wizard_form()
        self.assertEqual(form.document_type, "quotation")
        wizard = form.save()
        wizard.action_fill_suggested_quantities()
        form = Form(wizard)
        self._set_quantities(
            form, {self.shirt_specification: 2, self.tea_specification: 1.5}
        )
        wizard = form.save()
        action = wizard.action_bill()

        order = self.env["sale.order"].browse(action["res_id"])
        self.assertEqual(action["res_model"], "sale.order")
        self.assertEqual(wizard.quotation_id, order)
        self.assertRecordValues(
            order,
            [
                {
                    "partner_id": self.customer.id,
                    "state": "draft",
                    "pricelist_id": self.pricelist.id,
                    "origin": "Preferences of Azure Shop",
                    "company_id": self.company.id,
                }
            ],
        )
        self.assertRecordValues(
            order.order_line,
            [
                {
                    "product_id": self.shirt_s.id,
                    "product_uom_qty": 2.0,
                    "product_uom": self.shirt_s.uom_id.id,
                    "price_unit": 20.0,
                    "product_no_variant_attribute_value_ids": self.shirt_quality_8.ids,
                },
                {
                    "product_id": self.tea.id,
                    "product_uom_qty": 1.5,
                    "product_uom": self.kilogram.id,
                    # 10 % off the list price of 5.0
                    "price_unit": 4.5,
                    "product_no_variant_attribute_value_ids": [],
                },
                {
                    "product_id": self.coffee.id,
                    # suggested: 4 then 2, 3 per invoice
                    "product_uom_qty": 3.0,
                    "product_uom": self.coffee.uom_id.id,
                    "price_unit": 8.0,
                    "product_no_variant_attribute_value_ids": [],
                },
            ],
        )
        self.assertIn("Quality: 8", order.order_line[0].name)
        self.assertIn("consumer preferences", order.message_ids[0].body)

    def test_price_typed_in_wizard_is_kept(self):
        form = self._wizard_form()
        self._set_quantities(form, {self.tea_specification: 1})
        for index in range(len(form.line_ids)):
            with form.line_ids.edit(index) as line:
                if line.preference_id == self.tea_specification:
                    line.price_unit = 3.25
        order = self.env["sale.order"].browse(form.save().action_quote()["res_id"])
        self.assertRecordValues(
            order.order_line, [{"product_id": self.tea.id, "price_unit": 3.25}]
        )
        # the typed price survives a change of quantity, as a typed one does
        order.order_line.product_uom_qty = 4
        self.assertEqual(order.order_line.price_unit, 3.25)

    def test_typed_price_is_net_when_discounts_are_shown(self):
        """With Sales' Discounts setting, the customer's 10 % off tea shows on
        an order line as a discount from the list price: a price typed in
        the wizard (which shows net prices, 4.50 for tea) reaches the order
        as it was typed, without the discount taken off again."""
        self.env.ref("base.group_user").implied_ids |= self.env.ref(
            "sale.group_discount_per_so_line"
        )
        form = self._wizard_form()
        self._set_quantities(form, {self.tea_specification: 1, self.coffee_history: 1})
        for index in range(len(form.line_ids)):
            with form.line_ids.edit(index) as line:
                if line.preference_id == self.tea_specification:
                    self.assertEqual(line.price_unit, 4.5)
                    line.price_unit = 4.0
        wizard = form.save()
        self.assertEqual(wizard.amount_untaxed, 12.0)
        order = self.env["sale.order"].browse(wizard.action_quote()["res_id"])
        self.assertEqual(
            {
                line.product_id: (line.price_unit, line.discount)
                for line in order.order_line
            },
            {self.coffee: (8.0, 0.0), self.tea: (4.0, 0.0)},
        )
        self.assertEqual(order.amount_untaxed, wizard.amount_untaxed)

    def test_double_click_quotes_once(self):
        form = self._wizard_form()
        self._set_quantities(form, {self.tea_specification: 1})
        wizard = form.save()
        first = wizard.action_quote()
        second = wizard.action_quote()
        self.assertEqual(first["res_id"], second["res_id"])
        self.assertEqual(
            self.env["sale.order"].search_count(
                [("partner_id", "=", self.customer.id)]
            ),
            1,
        )

    def test_a_wizard_issues_one_document_whatever_is_asked_next(self):
        """A wizard that invoiced opens its invoice when asked to quote (a
        stale form, a script), and one that quoted opens its quotation when
        asked to invoice: neither issues a second document."""
        documents = [("account.move", "partner_id"), ("sale.order", "partner_id")]

        def count_documents():
            return [
                self.env[model].search_count([(field, "=", self.customer.id)])
                for model, field in documents
            ]

        counts_before = count_documents()
        invoicing = self._wizard_form(user=self.seller_accountant)
        self._set_quantities(invoicing, {self.tea_specification: 2})
        invoicing = invoicing.save()
        invoice_action = invoicing.action_bill()
        invoicing.document_type = "quotation"
        self.assertEqual(invoicing.action_bill(), invoice_action)
        self.assertEqual(invoicing.action_quote(), invoice_action)

        quoting = self._wizard_form(user=self.seller_accountant)
        quoting.document_type = "quotation"
        self._set_quantities(quoting, {self.tea_specification: 1})
        quoting = quoting.save()
        quotation_action = quoting.action_bill()
        quoting.document_type = "invoice"
        self.assertEqual(quoting.action_bill(), quotation_action)
        self.assertEqual(
            count_documents(), [counts_before[0] + 1, counts_before[1] + 1]
        )

    def test_default_from_company_setting_invoice_path_unchanged(self):
        """A user who may invoice gets the company's choice; Invoice still
        issues an invoice through the main addon's path, and no quotation."""
        self.assertEqual(self.company.consumer_preference_document_type, "invoice")
        form = self._wizard_form(user=self.seller_accountant)
        self.assertEqual(form.document_type, "invoice")
        self._set_quantities(form, {self.tea_specification: 2})
        action = form.save().action_bill()
        invoice = self.env["account.move"].browse(action["res_id"])
        self.assertRecordValues(
            invoice,
            [{"move_type": "out_invoice", "partner_id": self.customer.id}],
        )
        self.assertFalse(
            self.env["sale.order"].search([("partner_id", "=", self.customer.id)])
        )

        settings_arch = self.env["res.config.settings"].get_views([(False, "form")])[
            "views"
        ]["form"]["arch"]
        self.assertIn('name="consumer_preference_document_type"', settings_arch)
        self.company.consumer_preference_document_type = "quotation"
        form = self._wizard_form(user=self.seller_accountant)
        self.assertTrue(form.can_invoice)
        self.assertEqual(form.document_type, "quotation")
        form.document_type = "invoice"
        self.assertEqual(form.document_type, "invoice")

    def test_accountant_without_sales_rights_invoices(self):
        """The company quotes by default, but an accountant who may not
        create quotations gets Invoice, and bills."""
        self.company.consumer_preference_document_type = "quotation"
        self.assertFalse(
            self.env["sale.order"].with_user(self.accountant).has_access("create")
        )
        form = self._wizard_form(user=self.accountant)
        self.assertEqual(form.document_type, "invoice")
        self._set_quantities(form, {self.tea_specification: 2})
        invoice = self.env["account.move"].browse(form.save().action_bill()["res_id"])
        self.assertEqual(invoice.invoice_line_ids.product_id, self.tea)

    def test_taxes_of_the_income_account_on_invoices_only(self):
        """A product without customer taxes: an invoice line gets the sales
        taxes of its income account, a quotation line none; the wizard shows
        the taxes of the document it creates."""
        self.coffee.taxes_id = False
        self.company_data["default_account_revenue"].tax_ids = self.tax_sale_a
        form = self._wizard_form(user=self.seller_accountant)
        self._set_quantities(form, {self.coffee_history: 2})
        self.assertEqual(form.document_type, "invoice")
        self.assertEqual(form.amount_tax, 2.4)
        form.document_type = "quotation"
        self.assertEqual(form.amount_tax, 0.0)
        wizard = form.save()
        order = self.env["sale.order"].browse(wizard.action_bill()["res_id"])
        self.assertRecordValues(
            order, [{"amount_tax": 0.0, "amount_total": wizard.amount_total}]
        )

    def test_salesperson_cannot_choose_invoice(self):
        """Without Invoicing rights the choice is fixed to Quotation, and the
        invoice path refuses as before."""
        form = self._wizard_form()
        self.assertFalse(form.can_invoice)
        with self.assertRaises(AssertionError):
            form.document_type = "invoice"
        wizard = form.save()
        wizard.document_type = "invoice"
        with self.assertRaisesRegex(AccessError, "not allowed to create invoices"):
            wizard.action_bill()

    def test_salesperson_quotes_due_products(self):
        """The link of a reorder reminder's To-Do activity, which goes to the
        customer's salesperson, and the Bill Due Products button open the
        wizard on the due products for salespeople too, who quote them as
        from the Bill button."""
        form_arch = etree.fromstring(
            self.env["res.partner"]
            .with_user(self.salesperson)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        self.assertTrue(
            form_arch.xpath("//button[@name='action_consumer_preference_bill_due']")
        )
        server_action = self.env.ref(
            "consumer_preferences.action_consumer_preference_bill_due"
        )
        with freeze_time("2026-04-01"):
            action = (
                server_action.with_user(self.salesperson)
                .with_context(active_id=self.customer.id)
                .run()
            )
            wizard = (
                self.env["consumer.preference.bill"]
                .with_user(self.salesperson)
                .browse(action["res_id"])
            )
            self.assertEqual(wizard.document_type, "quotation")
            self.assertRecordValues(
                wizard.line_ids, [{"product_id": self.coffee.id, "quantity": 3.0}]
            )
            order = self.env["sale.order"].browse(wizard.action_quote()["res_id"])
        self.assertRecordValues(
            order.order_line, [{"product_id": self.coffee.id, "product_uom_qty": 3.0}]
        )
