# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
import unittest
from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import ConsumerPreferenceSaleCommon


@tagged("post_install", "-at_install")
class TestAddFromPreferences(ConsumerPreferenceSaleCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.promo_pricelist = cls.env["product.pricelist"].create(
            {
                "name": "Coffee promotion",
                "company_id": cls.company.id,
                "currency_id": cls.company.currency_id.id,
                "item_ids": [
                    Command.create(
                        {
                            "applied_on": "0_product_variant",
                            "product_id": cls.coffee.id,
                            "compute_price": "percentage",
                            "percent_price": 20.0,
                        }
                    )
                ],
            }
        )

    def _create_quotation(self, **values):
        """A quotation of the customer with a section, a product and a note."""
        return (
            self.env["sale.order"]
            .with_user(self.salesperson)
            .create(
                {
                    "partner_id": self.customer.id,
                    "order_line": [
                        Command.create(
                            {
                                "display_type": "line_section",
                                "name": "Usual order",
                                "sequence": 1,
                            }
                        ),
                        Command.create(
                            {
                                "product_id": self.coffee.id,
                                "product_uom_qty": 1,
                                "sequence": 2,
                            }
                        ),
                        Command.create(
                            {
                                "display_type": "line_note",
                                "name": "Deliver before noon",
                                "sequence": 3,
                            }
                        ),
                    ],
                    **values,
                }
            )
        )

    def test_add_lines_to_existing_quotation(self):
        """The wizard of a quotation offers the customer's preferences at the
        quotation's prices (its pricelist), and appends the lines after the
        quotation's own, sections and notes untouched; the Billing from
        Preferences setting does not matter here."""
        self.company.consumer_preference_billing = False
        order = self._create_quotation(pricelist_id=self.promo_pricelist.id)
        original_lines = order.order_line
        form = self._wizard_form(order=order)
        self.assertEqual(form.sale_order_id, order)
        self.assertEqual(form.document_type, "quotation")
        wizard = form.save()
        self.assertEqual(wizard.pricelist_id, self.promo_pricelist)
        self.assertEqual(
            {line.product_id: line.price_unit for line in wizard.line_ids},
            {self.shirt_s: 20.0, self.tea: 5.0, self.coffee: 6.4},
        )
        wizard.action_fill_suggested_quantities()
        wizard.line_ids.filtered(
            lambda line: line.preference_id == self.tea_specification
        ).quantity = 2
        action = wizard.action_quote()
        self.assertEqual(action["res_id"], order.id)
        self.assertEqual(order.order_line[:3], original_lines)
        self.assertRecordValues(
            order.order_line[:3],
            [
                {"display_type": "line_section", "sequence": 1, "product_id": False},
                {"display_type": False, "sequence": 2, "product_id": self.coffee.id},
                {"display_type": "line_note", "sequence": 3, "product_id": False},
            ],
        )
        self.assertRecordValues(
            order.order_line[3:],
            [
                {
                    "display_type": False,
                    "sequence": 4,
                    "product_id": self.tea.id,
                    "product_uom_qty": 2.0,
                    "product_uom": self.kilogram.id,
                    # the order's pricelist: no discount on tea
                    "price_unit": 5.0,
                },
                {
                    "display_type": False,
                    "sequence": 5,
                    "product_id": self.coffee.id,
                    "product_uom_qty": 3.0,
                    "product_uom": self.coffee.uom_id.id,
                    "price_unit": 6.4,
                },
            ],
        )
        # a second click adds nothing
        wizard.action_quote()
        self.assertEqual(len(order.order_line), 5)

    def test_lines_priced_when_read_typed_price_reaches_the_quotation(self):
        """The button creates the wizard without pricing its lines; the
        form's first page is priced when read. A price typed there survives a
        change of quantity and reaches the quotation as a typed price; the
        other lines get the order's own price."""
        order = self._create_quotation()
        with self._record_priced_lines() as priced_ids:
            action = order.with_user(self.salesperson).action_add_from_preferences()
            self.env.flush_all()
            self.assertFalse(priced_ids, "opening prices no line")
            wizard = (
                self.env[action["res_model"]]
                .with_user(self.salesperson)
                .browse(action["res_id"])
            )
            wizard.invalidate_recordset()
            wizard.web_read({"line_ids": {"fields": {"price_unit": {}}, "limit": 1}})
        self.assertEqual(priced_ids, set(wizard.line_ids[:1].ids))

        form = Form(wizard)
        for index in range(len(form.line_ids)):
            with form.line_ids.edit(index) as line:
                if line.preference_id == self.tea_specification:
                    self.assertEqual(line.price_unit, 4.5)
                    line.price_unit = 3.25
                    line.quantity = 2
                    self.assertEqual(line.price_unit, 3.25)
                elif line.preference_id == self.coffee_history:
                    line.quantity = 1
        form.save().action_quote()
        new_lines = order.order_line[3:]
        self.assertRecordValues(
            new_lines,
            [
                {"product_id": self.tea.id, "product_uom_qty": 2, "price_unit": 3.25},
                {"product_id": self.coffee.id, "product_uom_qty": 1, "price_unit": 8},
            ],
        )
        new_lines.product_uom_qty = 4
        self.assertEqual(new_lines.mapped("price_unit"), [3.25, 8.0])

    def test_totals_follow_the_quotations_early_payment_discount(self):
        """The quotation has terms with a 10 % early payment discount that
        taxes the discounted amount (mixed), the customer none: the wizard's
        totals are those the quotation gets, 0.81 of tax on 9.00 of tea, not
        0.90 (the customer's terms)."""
        self.tea.taxes_id = self.env["account.tax"].create(
            {"name": "VAT 10 %", "amount": 10.0, "company_id": self.company.id}
        )
        term = self.env["account.payment.term"].create(
            {
                "name": "10 % early payment discount",
                "company_id": self.company.id,
                "early_discount": True,
                "discount_percentage": 10.0,
                "discount_days": 10,
                "early_pay_discount_computation": "mixed",
                "line_ids": [
                    Command.create(
                        {"value": "percent", "value_amount": 100.0, "nb_days": 30}
                    )
                ],
            }
        )
        self.assertFalse(self.customer.property_payment_term_id)
        order = (
            self.env["sale.order"]
            .with_user(self.salesperson)
            .create({"partner_id": self.customer.id, "payment_term_id": term.id})
        )
        form = self._wizard_form(order=order)
        self._set_quantities(form, {self.tea_specification: 2})
        self.assertEqual(
            (form.amount_untaxed, form.amount_tax, form.amount_total),
            (9.0, 0.81, 9.81),
        )
        form.save().action_quote()
        self.assertEqual(
            (order.amount_untaxed, order.amount_tax, order.amount_total),
            (9.0, 0.81, 9.81),
        )

    def test_prices_at_the_quotations_date(self):
        """A quotation of ten days ago, whose pricelist takes 20 % off coffee
        since yesterday: Odoo prices its lines at the order's date (8.00),
        and the wizard shows that price, not today's 6.40."""
        self.pricelist.item_ids = [
            Command.create(
                {
                    "applied_on": "0_product_variant",
                    "product_id": self.coffee.id,
                    "compute_price": "percentage",
                    "percent_price": 20.0,
                    "date_start": fields.Datetime.now() - timedelta(days=1),
                }
            )
        ]
        order = (
            self.env["sale.order"]
            .with_user(self.salesperson)
            .create(
                {
                    "partner_id": self.customer.id,
                    "date_order": fields.Datetime.now() - timedelta(days=10),
                }
            )
        )
        form = self._wizard_form(order=order)
        self._set_quantities(form, {self.coffee_history: 2})
        self.assertEqual(form.amount_untaxed, 16.0)
        wizard = form.save()
        coffee_line = wizard.line_ids.filtered(
            lambda line: line.preference_id == self.coffee_history
        )
        self.assertEqual(coffee_line.price_unit, 8.0)
        wizard.action_quote()
        self.assertRecordValues(
            order.order_line, [{"product_id": self.coffee.id, "price_unit": 8.0}]
        )
        self.assertEqual(order.amount_untaxed, 16.0)

    def test_quotation_deleted_while_the_wizard_is_open(self):
        """A colleague deletes the quotation while Add from Preferences is
        open on it: Add to Quotation says so and quotes nothing, instead of
        creating a new quotation the user never asked for."""
        order = self._create_quotation()
        name = order.name
        form = self._wizard_form(order=order)
        self._set_quantities(form, {self.tea_specification: 2})
        wizard = form.save()
        # by a sales administrator
        self.env["sale.order"].browse(order.id).unlink()
        # a new request: nothing of the quotation read before
        self.env.invalidate_all()
        with self.assertRaisesRegex(
            UserError, f"The quotation {name} was deleted after this window opened"
        ):
            wizard.action_quote()
        self.assertFalse(
            self.env["sale.order"].search(
                [("partner_id.commercial_partner_id", "=", self.customer.id)]
            )
        )

    def test_archived_and_unsellable_products_left_out_with_a_note(self):
        self.tea.product_tmpl_id.active = False
        self.coffee.sale_ok = False
        order = self._create_quotation()
        wizard = self._wizard_form(order=order).save()
        self.assertEqual(wizard.line_ids.product_id, self.shirt_s)
        self.assertIn(
            "Archived products are left out: Tea", wizard.unavailable_product_note
        )
        self.assertIn(
            "Products that cannot be sold are left out: Coffee",
            wizard.unavailable_product_note,
        )
        # From the customer's form a salesperson quotes: the same filter, and
        # the note saved with the wizard (the web client saves it before Fill
        # Suggested Quantities, and reopens it).
        wizard = self._wizard_form().save()
        self.assertEqual(wizard.document_type, "quotation")
        self.assertEqual(wizard.line_ids.product_id, self.shirt_s)
        self.assertIn(
            "Products that cannot be sold are left out: Coffee",
            wizard.unavailable_product_note,
        )
        # An accountant billing still sees every line (the invoice path is
        # the main addon's: it refuses these products if given a quantity).
        wizard = self._wizard_form(user=self.accountant).save()
        self.assertEqual(wizard.document_type, "invoice")
        self.assertEqual(len(wizard.line_ids), 3)
        self.assertFalse(wizard.unavailable_product_note)

    def _selected_lines_wizard(self, preferences):
        """The wizard of Actions › Bill from Preferences on the selected
        lines, opened by the salesperson (who quotes)."""
        return Form(
            self.env["consumer.preference.bill"]
            .with_user(self.salesperson)
            .with_context(
                active_model="consumer.preference", active_ids=preferences.ids
            )
        ).save()

    def test_note_names_only_the_products_offered(self):
        """Actions › Bill from Preferences on the tea line alone, while the
        customer's shirt is archived and its coffee no longer sold: the
        wizard offers tea, and its note names nothing it left out (it named
        the shirt and the coffee, never selected)."""
        self.shirt_s.product_tmpl_id.active = False
        self.coffee.sale_ok = False
        wizard = self._selected_lines_wizard(self.tea_specification)
        self.assertEqual(wizard.line_ids.product_id, self.tea)
        self.assertFalse(wizard.unavailable_product_note)
        # the coffee selected too: the note names it, and it only
        wizard = self._selected_lines_wizard(
            self.tea_specification | self.coffee_history
        )
        self.assertEqual(
            wizard.unavailable_product_note,
            "Products that cannot be sold are left out: Coffee. Tick Sales on "
            "a product to offer it again.",
        )

    def test_product_sold_by_another_company_only_left_out_with_a_note(self):
        """A product restricted to another company after the customer's
        preferences recorded it is not quoted here: the note names it."""
        order = self._create_quotation()
        other_company = self.setup_other_company()["company"]
        self.tea.product_tmpl_id.company_id = other_company
        # a new request: nothing of the product read before
        self.env.invalidate_all()
        wizard = self._wizard_form(order=order).save()
        self.assertNotIn(self.tea, wizard.line_ids.product_id)
        self.assertIn(
            "Products sold by another company only are left out: Tea",
            wizard.unavailable_product_note,
        )
        # its line selected in the preferences list: nothing offered either
        self.env.invalidate_all()
        wizard = self._selected_lines_wizard(self.tea_specification)
        self.assertFalse(wizard.line_ids)

    def _combo_menu(self):
        """A combo product, Breakfast Menu (12.00, coffee or tea), that the
        customer specified."""
        drinks = self.env["product.combo"].create(
            {
                "name": "Drinks",
                "combo_item_ids": [
                    Command.create({"product_id": self.coffee.id}),
                    Command.create({"product_id": self.tea.id}),
                ],
            }
        )
        menu = self.env["product.product"].create(
            {
                "name": "Breakfast Menu",
                "type": "combo",
                "list_price": 12.0,
                "combo_ids": [Command.link(drinks.id)],
            }
        )
        self.env["consumer.preference"].create(
            {"partner_id": self.customer.id, "product_id": menu.id}
        )
        return menu

    def test_combo_product_left_out_with_a_note(self):
        """A combo is not quoted from preferences: Odoo prices its line at
        zero and its items at their price, and the items are chosen on the
        quotation (added alone, the menu was quoted at 0.00)."""
        menu = self._combo_menu()
        order = self._create_quotation()
        wizard = self._wizard_form(order=order).save()
        self.assertNotIn(menu, wizard.line_ids.product_id)
        self.assertIn(
            "Combo products are left out: Breakfast Menu. Add them on the "
            "quotation, where their items are chosen.",
            wizard.unavailable_product_note,
        )
        # from the customer's form, quoting: the same
        wizard = self._wizard_form().save()
        self.assertEqual(wizard.document_type, "quotation")
        self.assertNotIn(menu, wizard.line_ids.product_id)

    def test_combo_refused_when_switched_to_a_quotation(self):
        """The wizard opened to invoice offers a combo (an invoice bills it at
        its price); switched to Quotation, a quantity on it is refused with
        a message, and nothing is quoted (its line alone was at 0.00)."""
        menu = self._combo_menu()
        self.company.consumer_preference_billing = True
        self.company.consumer_preference_document_type = "invoice"
        form = self._wizard_form(user=self.env.user)
        self.assertEqual(form.document_type, "invoice")
        combo_line = form.save().line_ids.filtered(lambda line: line.product_id == menu)
        self.assertTrue(combo_line)
        wizard = combo_line.wizard_id
        wizard.document_type = "quotation"
        combo_line.quantity = 2
        orders_before = self.env["sale.order"].search_count([])
        with self.assertRaisesRegex(UserError, "Combo products are not quoted"):
            wizard.action_bill()
        self.assertEqual(self.env["sale.order"].search_count([]), orders_before)

    def test_quotation_of_another_company_than_the_first_selected(self):
        """A salesperson working in two companies, the first one selected
        first, adds to a quotation of the second a product only the second
        sells: it is the quotation's company that sells it, not the one
        selected first (refused before, as sold by another company only)."""
        other_company = self.setup_other_company()["company"]
        salesperson = self._new_company_user(
            "cp_two_companies_salesperson",
            "base.group_user,sales_team.group_sale_salesman_all_leads",
        )
        salesperson.company_ids = [Command.set((self.company | other_company).ids)]
        beans = self._create_product(name="Other Beans", lst_price=7.0)
        beans.product_tmpl_id.company_id = other_company
        specification = self.env["consumer.preference"].create(
            {
                "partner_id": self.customer.id,
                "product_id": beans.id,
                "company_id": other_company.id,
            }
        )
        order = (
            self.env["sale.order"]
            .with_user(salesperson)
            .with_context(allowed_company_ids=[self.company.id, other_company.id])
            .create({"partner_id": self.customer.id, "company_id": other_company.id})
        )
        form = self._wizard_form(user=salesperson, order=order)
        self.assertEqual(form.company_id, other_company)
        self._set_quantities(form, {specification: 3})
        form.save().action_quote()
        self.assertEqual(order.order_line.product_id, beans)
        self.assertEqual(order.order_line.product_uom_qty, 3)

    def test_quotation_wizard_never_invoices(self):
        """A client choosing Invoice on a quotation's wizard (the form hides
        the choice), or sending a quotation's context to a wizard of its own,
        issues no invoice while the company does not bill from preferences:
        the first adds to the quotation, the second is refused."""
        self.company.consumer_preference_billing = False
        order = self._create_quotation()
        wizard = self._wizard_form(user=self.salesperson_all, order=order).save()
        wizard.document_type = "invoice"
        wizard.line_ids.filtered(
            lambda line: line.preference_id == self.tea_specification
        ).quantity = 2
        context = {"active_model": "sale.order", "active_id": order.id}
        invoices_before = self.env["account.move"].search_count([])
        wizard.with_context(**context).action_bill()
        self.assertIn(self.tea, order.order_line.product_id)
        self.assertEqual(self.env["account.move"].search_count([]), invoices_before)
        # an administrator's client, without the quotation
        crafted = (
            self.env["consumer.preference.bill"]
            .with_context(**context)
            .create({"sale_order_id": False, "document_type": "invoice"})
        )
        crafted.line_ids[:1].quantity = 1
        with self.assertRaisesRegex(UserError, "disabled"):
            crafted.action_bill()
        self.assertEqual(self.env["account.move"].search_count([]), invoices_before)

    def test_unsellable_line_selected_is_not_said_returned(self):
        """A quotation offers no product that cannot be sold: its line selected
        alone opens a wizard with nothing to quote and the note, not the
        message about products returned whole."""
        self.coffee.sale_ok = False
        wizard = self._selected_lines_wizard(self.coffee_history)
        self.assertEqual(wizard.document_type, "quotation")
        self.assertFalse(wizard.line_ids)
        self.assertIn(
            "Products that cannot be sold are left out: Coffee",
            wizard.unavailable_product_note,
        )

    def test_quotation_of_a_customer_without_preferences(self):
        order = self._create_quotation()
        order.partner_id = self.other_customer
        wizard = self._wizard_form(order=order).save()
        self.assertFalse(wizard.line_ids)
        with self.assertRaisesRegex(UserError, "Enter a quantity"):
            wizard.action_quote()

    def test_confirmed_order_refused_nothing_added(self):
        order = self._create_quotation()
        wizard = self._wizard_form(order=order).save()
        wizard.line_ids[0].quantity = 1
        order.action_confirm()
        line_count = len(order.order_line)
        with unittest.TestCase.assertRaises(self, UserError) as caught:
            wizard.action_quote()
        self.assertIn("no longer a quotation", str(caught.exception))
        self.assertEqual(len(order.order_line), line_count)
        with self.assertRaisesRegex(UserError, "no longer a quotation"):
            order.action_add_from_preferences()

    def test_order_of_another_customer_by_then_refused_nothing_added(self):
        """The quotation's customer changed while its wizard was open (in
        another tab, by a colleague): Azure Shop's preferences are not added
        to Deco Store's quotation."""
        order = self._create_quotation()
        wizard = self._wizard_form(order=order).save()
        wizard.line_ids.quantity = 1
        order.partner_id = self.other_customer
        line_count = len(order.order_line)
        with self.assertRaisesRegex(UserError, "is now a quotation of Deco Store"):
            wizard.action_quote()
        self.assertEqual(len(order.order_line), line_count)
        # Another contact of the same customer is the same customer.
        order.partner_id = self.customer_contact
        wizard.action_quote()
        self.assertEqual(len(order.order_line), line_count + 3)

    def test_order_button_shown_on_quotations(self):
        arch = self.env["sale.order"].get_views([(False, "form")])["views"]["form"][
            "arch"
        ]
        self.assertIn('name="action_add_from_preferences"', arch)
