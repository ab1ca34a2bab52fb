# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
import unittest

from freezegun import freeze_time
from lxml import etree

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged
from odoo.tools.safe_eval import safe_eval

from .common import ConsumerPreferenceCommon


class ConsumerPreferenceBillCommon(ConsumerPreferenceCommon):
    """The customer specified a shirt (S, quality 8) and tea, and bought coffee
    and M shirts once: four lines to bill, specifications first."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "consumer_preference_billing": True,
                "consumer_preference_auto_post": False,
            }
        )
        Preference = cls.env["consumer.preference"].with_user(cls.salesperson)
        cls.shirt_specification = Preference.create(
            {
                "partner_id": cls.customer.id,
                "product_id": cls.shirt_s.id,
                "attribute_value_ids": [Command.set((cls.size_s | cls.quality_8).ids)],
            }
        )
        cls.tea_specification = Preference.create(
            {"partner_id": cls.customer.id, "product_id": cls.tea.id}
        )
        cls._post_customer_invoice(
            cls.customer,
            [(cls.coffee, 4, 8.0), (cls.shirt_m, 2, 20.0)],
            invoice_date="2026-01-15",
        )
        history = cls.env["consumer.preference"].search(
            [("partner_id", "=", cls.customer.id), ("preference_type", "=", "history")]
        )
        cls.coffee_history = history.filtered(
            lambda line: line.product_id == cls.coffee
        )
        cls.shirt_history = history.filtered(
            lambda line: line.product_id == cls.shirt_m
        )

    def _bill_form(self, partner=None, user=None):
        """The wizard as opened by the Bill button of the customer's form."""
        wizard = self.env["consumer.preference.bill"].with_user(user or self.accountant)
        return Form(
            wizard.with_context(
                active_model="res.partner", active_id=(partner or self.customer).id
            )
        )

    def _set_quantities(self, form, quantities):
        """``quantities``: {preference: quantity}, typed in the wizard's lines."""
        for index in range(len(form.line_ids)):
            with form.line_ids.edit(index) as line:
                if line.preference_id in quantities:
                    line.quantity = quantities[line.preference_id]

    def _line_index(self, form, preference):
        for index in range(len(form.line_ids)):
            with form.line_ids.edit(index) as line:
                if line.preference_id == preference:
                    return index
        raise AssertionError(f"{preference.display_name} is not in the wizard")

    def _assert_nothing_billed(self, wizard, message, error=UserError):
        """``action_bill`` refuses with ``message`` and leaves no journal entry.

        unittest's assertRaises, not Odoo's: Odoo's rolls the call back to a
        savepoint of its own, which would hide an invoice the wizard left
        behind."""
        move_count = self.env["account.move"].search_count([])
        with unittest.TestCase.assertRaises(self, error) as caught:
            wizard.action_bill()
        self.assertIn(message, str(caught.exception))
        self.assertEqual(self.env["account.move"].search_count([]), move_count)


@tagged("post_install", "-at_install")
class TestConsumerPreferenceBillSettings(ConsumerPreferenceBillCommon):
    def test_settings_enable_billing_then_auto_post(self):
        self.company.write(
            {
                "consumer_preference_billing": False,
                "consumer_preference_auto_post": False,
            }
        )
        # The common data has cash basis taxes with the cash basis setting off:
        # the settings form would warn about it on opening.
        self.company.tax_exigibility = True
        settings = Form(self.env["res.config.settings"])
        with self.assertRaises(
            AssertionError, msg="auto-post hidden while billing off"
        ):
            settings.consumer_preference_auto_post = True
        settings.consumer_preference_billing = True
        settings.consumer_preference_auto_post = True
        settings.save().execute()
        self.assertRecordValues(
            self.company,
            [
                {
                    "consumer_preference_billing": True,
                    "consumer_preference_auto_post": True,
                }
            ],
        )

    def test_billing_off_hides_button_and_refuses(self):
        wizard = self._bill_form().save()
        self.company.consumer_preference_billing = False
        customer = self.customer.with_user(self.accountant)
        self.assertFalse(customer.consumer_preference_billing_enabled)
        arch = customer.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('invisible="not consumer_preference_billing_enabled"', arch)
        with self.assertRaisesRegex(UserError, "Billing from preferences is disabled"):
            self._bill_form()
        self._assert_nothing_billed(wizard, "Billing from preferences is disabled")

        self.company.consumer_preference_billing = True
        customer.invalidate_recordset()
        self.assertTrue(customer.consumer_preference_billing_enabled)


@tagged("post_install", "-at_install")
class TestConsumerPreferenceBillWizard(ConsumerPreferenceBillCommon):
    def test_lines_specifications_first_quantities_empty(self):
        form = self._bill_form(partner=self.customer_contact)
        self.assertEqual(form.partner_id, self.customer_contact)
        wizard = form.save()
        self.assertRecordValues(
            wizard.line_ids,
            [
                {
                    "preference_id": self.shirt_specification.id,
                    "history_id": False,
                    "product_id": self.shirt_s.id,
                    "attribute_value_ids": (self.size_s | self.quality_8).ids,
                    "quantity": 0.0,
                    "suggested_quantity": 0.0,
                    "price_unit": 20.0,
                    "uom_id": self.shirt_s.uom_id.id,
                },
                {
                    "preference_id": self.tea_specification.id,
                    "history_id": False,
                    "product_id": self.tea.id,
                    "attribute_value_ids": [],
                    "quantity": 0.0,
                    "suggested_quantity": 0.0,
                    "price_unit": 5.0,
                    "uom_id": self.tea.uom_id.id,
                },
                *[
                    {
                        "preference_id": history.id,
                        "history_id": history.id,
                        "product_id": history.product_id.id,
                        "attribute_value_ids": history.attribute_value_ids.ids,
                        "quantity": 0.0,
                        # bought once: no suggestion
                        "suggested_quantity": 0.0,
                        "price_unit": history.product_id.lst_price,
                        "uom_id": history.product_id.uom_id.id,
                    }
                    for history in (self.coffee_history | self.shirt_history).sorted()
                ],
            ],
        )
        self.assertEqual(self.coffee_history.average_quantity, 4.0)

    def test_fill_suggested_quantities(self):
        """Only products bought on several days get a suggestion: coffee
        (4 then 2: 3 per purchase), not the shirts bought once."""
        self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0)], invoice_date="2026-02-15"
        )
        wizard = self._bill_form().save()
        action = wizard.action_fill_suggested_quantities()
        self.assertEqual(
            (action["res_model"], action["res_id"]), (wizard._name, wizard.id)
        )
        self.assertEqual(
            {line.preference_id: line.quantity for line in wizard.line_ids},
            {
                self.shirt_specification: 0.0,
                self.tea_specification: 0.0,
                self.coffee_history: 3.0,
                self.shirt_history: 0.0,
            },
        )

    def test_no_suggestion_after_one_purchase_in_two_invoices(self):
        """Sugar invoiced twice on one day is one purchase: no suggestion
        (the average of a single purchase says nothing of the next)."""
        sugar = self._create_product(name="Sugar", lst_price=3.0)
        for _invoice in range(2):
            self._post_customer_invoice(
                self.customer, [(sugar, 2, 3.0)], invoice_date="2026-02-15"
            )
        sugar_history = self._history(self.customer, sugar)
        self.assertEqual(
            (sugar_history.invoice_count, sugar_history.purchase_count), (2, 1)
        )
        wizard = self._bill_form().save()
        wizard.action_fill_suggested_quantities()
        sugar_line = wizard.line_ids.filtered(
            lambda line: line.preference_id == sugar_history
        )
        self.assertEqual(
            (sugar_line.suggested_quantity, sugar_line.quantity), (0.0, 0.0)
        )

    def test_no_suggestion_of_a_product_bill_refuses(self):
        """Coffee, bought on two invoices, archived or no longer sold: Fill
        Suggested Quantities leaves it at 0 (Bill would refuse it), and the
        wizard then bills what is filled."""
        self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0)], invoice_date="2026-02-15"
        )
        for change in ({"sale_ok": False}, {"active": False}):
            with self.subTest(change=change):
                self.coffee.write(change)
                wizard = self._bill_form().save()
                wizard.action_fill_suggested_quantities()
                coffee_line = wizard.line_ids.filtered(
                    lambda line: line.preference_id == self.coffee_history
                )
                self.assertEqual(len(coffee_line), 1)
                self.assertEqual(
                    (coffee_line.suggested_quantity, coffee_line.quantity), (0.0, 0.0)
                )
                self.coffee.write({"sale_ok": True, "active": True})

    def test_no_suggestion_once_consent_is_withdrawn(self):
        """A customer who withdrew consent is not profiled: its history lines
        can still be billed, with no suggested quantity."""
        self._post_customer_invoice(
            self.customer, [(self.coffee, 2, 8.0)], invoice_date="2026-02-15"
        )
        self.customer.consumer_preference_consent = False
        wizard = self._bill_form().save()
        wizard.action_fill_suggested_quantities()
        self.assertIn(self.coffee_history, wizard.line_ids.preference_id)
        self.assertEqual(
            set(wizard.line_ids.mapped("suggested_quantity"))
            | set(wizard.line_ids.mapped("quantity")),
            {0.0},
        )

    def test_suggested_quantity_is_rounded_to_the_unit(self):
        """A company selling whole units rounds Units at 1: 4 then 1 coffee,
        2.5 a purchase, suggest 3 Units (half up), while 2 then 3 kg of flour
        suggest 2.5 kg, as the kilogram rounds at 0.001."""
        self.env.ref("uom.product_uom_unit").rounding = 1.0
        kilogram = self.env.ref("uom.product_uom_kgm")
        flour = self._create_product(
            name="Flour", lst_price=2.0, uom_id=kilogram.id, uom_po_id=kilogram.id
        )
        self._post_customer_invoice(
            self.customer,
            [(self.coffee, 1, 8.0), (flour, 2, 2.0)],
            invoice_date="2026-02-15",
        )
        self._post_customer_invoice(
            self.customer, [(flour, 3, 2.0)], invoice_date="2026-03-15"
        )
        flour_history = self._history(self.customer, flour)
        self.assertEqual(
            (self.coffee_history.average_quantity, flour_history.average_quantity),
            (2.5, 2.5),
        )
        wizard = self._bill_form().save()
        wizard.action_fill_suggested_quantities()
        self.assertEqual(
            {
                line.preference_id: (line.suggested_quantity, line.quantity)
                for line in wizard.line_ids
                if line.preference_id in self.coffee_history | flour_history
            },
            {self.coffee_history: (3.0, 3.0), flour_history: (2.5, 2.5)},
        )

    def test_bill_three_lines_draft_invoice(self):
        move_count = self.env["account.move"].search_count([])
        form = self._bill_form()
        self._set_quantities(
            form,
            {
                self.shirt_specification: 3,
                self.tea_specification: 2,
                self.coffee_history: 5,
            },
        )
        action = form.save().action_bill()

        self.assertEqual(self.env["account.move"].search_count([]), move_count + 1)
        invoice = self.env["account.move"].browse(action["res_id"])
        self.assertEqual(
            (action["res_model"], action["view_mode"]), ("account.move", "form")
        )
        self.assertRecordValues(
            invoice,
            [
                {
                    "move_type": "out_invoice",
                    "state": "draft",
                    "partner_id": self.customer.id,
                    "company_id": self.company.id,
                    "amount_untaxed": 3 * 20.0 + 2 * 5.0 + 5 * 8.0,
                }
            ],
        )
        self.assertRecordValues(
            invoice.invoice_line_ids,
            [
                {
                    "product_id": self.shirt_s.id,
                    "quantity": 3.0,
                    "price_unit": 20.0,
                    "name": "Shirt (S)\nQuality: 8",
                    "tax_ids": self.tax_sale_a.ids,
                    "account_id": self.company_data["default_account_revenue"].id,
                },
                {
                    "product_id": self.tea.id,
                    "quantity": 2.0,
                    "price_unit": 5.0,
                    "name": "Tea",
                    "tax_ids": self.tax_sale_a.ids,
                    "account_id": self.company_data["default_account_revenue"].id,
                },
                {
                    "product_id": self.coffee.id,
                    "quantity": 5.0,
                    "price_unit": 8.0,
                    "name": "Coffee",
                    "tax_ids": self.tax_sale_a.ids,
                    "account_id": self.company_data["default_account_revenue"].id,
                },
            ],
        )
        # A draft does not count in the history.
        self.assertEqual(self.coffee_history.invoice_count, 1)

    def test_erased_history_leaves_a_specification_billable(self):
        """A specification's row also names the history line of its product
        and values, for its suggestion: that line erased while the wizard is
        open (or gone with its only invoice reset) leaves the row, without
        suggestion, and it bills. The history's own row goes with it."""
        coffee_specification = self.env["consumer.preference"].create(
            {"partner_id": self.customer.id, "product_id": self.coffee.id}
        )
        wizard = self._bill_form().save()
        row = wizard.line_ids.filtered(
            lambda line: line.preference_id == coffee_specification
        )
        self.assertEqual(row.history_id, self.coffee_history)
        self.customer.action_consumer_preference_erase_history()
        # the user's next click: a new request, reading the database afresh
        self.env.invalidate_all()
        self.assertFalse(self.coffee_history.exists())
        self.assertTrue(row.exists())
        self.assertFalse(
            wizard.line_ids.filtered(lambda line: line.preference_type == "history")
        )
        row.quantity = 2
        invoice = self.env["account.move"].browse(wizard.action_bill()["res_id"])
        self.assertRecordValues(
            invoice.invoice_line_ids,
            [{"product_id": self.coffee.id, "quantity": 2.0, "price_unit": 8.0}],
        )

    @freeze_time("2026-02-15")
    def test_auto_post_updates_history(self):
        self.company.consumer_preference_auto_post = True
        form = self._bill_form()
        self._set_quantities(form, {self.coffee_history: 2})
        invoice = self.env["account.move"].browse(form.save().action_bill()["res_id"])

        self.assertRecordValues(
            invoice,
            [{"state": "posted", "invoice_date": fields.Date.to_date("2026-02-15")}],
        )
        self.assertRecordValues(
            self.coffee_history,
            [
                {
                    "invoice_count": 2,
                    "quantity": 6.0,
                    "last_invoice_date": fields.Date.to_date("2026-02-15"),
                }
            ],
        )

    def test_bill_selected_lines_from_preferences_list(self):
        wizard = self.env["consumer.preference.bill"].with_user(self.accountant)
        form = Form(
            wizard.with_context(
                active_model="consumer.preference",
                active_ids=(self.coffee_history | self.tea_specification).ids,
            )
        )
        self.assertEqual(form.partner_id, self.customer)
        self._set_quantities(form, {self.coffee_history: 1, self.tea_specification: 1})
        wizard = form.save()
        self.assertEqual(
            wizard.line_ids.preference_id, self.tea_specification | self.coffee_history
        )
        invoice = self.env["account.move"].browse(wizard.action_bill()["res_id"])
        self.assertEqual(invoice.invoice_line_ids.product_id, self.tea | self.coffee)

    def test_selected_lines_of_two_customers_refused(self):
        other_specification = self.env["consumer.preference"].create(
            {"partner_id": self.other_customer.id, "product_id": self.tea.id}
        )
        wizard = self.env["consumer.preference.bill"].with_user(self.accountant)
        with self.assertRaisesRegex(
            UserError, "select the preferences of one customer"
        ):
            Form(
                wizard.with_context(
                    active_model="consumer.preference",
                    active_ids=(self.tea_specification | other_specification).ids,
                )
            )

    def test_only_archived_lines_selected_refused(self):
        """Lines selected under the Archived filter bill nothing: a clear
        error, not a wizard without customer that the database refuses."""
        self.tea_specification.active = False
        wizard = self.env["consumer.preference.bill"].with_user(self.accountant)
        with self.assertRaisesRegex(UserError, "active preferences of one customer"):
            Form(
                wizard.with_context(
                    active_model="consumer.preference",
                    active_ids=self.tea_specification.ids,
                )
            )

    def test_price_from_customer_pricelist(self):
        """The price follows the customer's pricelist, its quantity breaks
        included, and the invoice line keeps it."""
        pricelist = self.env["product.pricelist"].create(
            {
                "name": "Wholesale",
                "currency_id": self.company.currency_id.id,
                "company_id": self.company.id,
                "item_ids": [
                    Command.create(
                        {
                            "applied_on": "0_product_variant",
                            "product_id": self.coffee.id,
                            "min_quantity": 10,
                            "compute_price": "fixed",
                            "fixed_price": 6.5,
                        }
                    )
                ],
            }
        )
        self.customer.property_product_pricelist = pricelist
        self.accountant.groups_id |= self.env.ref("product.group_product_pricelist")
        form = self._bill_form()
        self.assertEqual(form.pricelist_id, pricelist)
        with form.line_ids.edit(self._line_index(form, self.coffee_history)) as line:
            self.assertEqual(line.price_unit, 8.0)
            line.quantity = 10
            self.assertEqual(line.price_unit, 6.5)
        invoice = self.env["account.move"].browse(form.save().action_bill()["res_id"])
        self.assertRecordValues(
            invoice.invoice_line_ids,
            [{"product_id": self.coffee.id, "quantity": 10.0, "price_unit": 6.5}],
        )

    def test_price_extra_of_a_value_that_makes_no_variant(self):
        """Quality 8 costs 3.00 more on the shirt: the specification of an S
        shirt of quality 8 is billed 23.00, as Odoo prices the shirt of that
        quality on a quotation (the value makes no variant of its own)."""
        self.shirt_template.attribute_line_ids.filtered(
            lambda line: line.attribute_id == self.quality
        ).product_template_value_ids.filtered(
            lambda value: value.product_attribute_value_id == self.quality_8
        ).price_extra = 3.0
        form = self._bill_form()
        shirt_index = self._line_index(form, self.shirt_specification)
        with form.line_ids.edit(shirt_index) as line:
            self.assertEqual(line.price_unit, 23.0)
            line.quantity = 2
        with form.line_ids.edit(self._line_index(form, self.shirt_history)) as line:
            # an M shirt bought without a quality: no extra
            self.assertEqual(line.price_unit, 20.0)
        invoice = self.env["account.move"].browse(form.save().action_bill()["res_id"])
        self.assertRecordValues(
            invoice.invoice_line_ids,
            [{"product_id": self.shirt_s.id, "quantity": 2.0, "price_unit": 23.0}],
        )

    def test_fiscal_position_of_the_delivery_address(self):
        """The fiscal position is the one Odoo gives a manual invoice of the
        customer: that of its delivery address (goods shipped abroad), not
        that of the invoiced partner alone."""
        self.customer.country_id = self.env.ref("base.fr")
        belgium = self.env.ref("base.be")
        self.env["res.partner"].create(
            {
                "name": "Azure Depot",
                "type": "delivery",
                "parent_id": self.customer.id,
                "country_id": belgium.id,
            }
        )
        tax_export = self.env["account.tax"].create(
            {"name": "Export 0%", "amount": 0.0, "type_tax_use": "sale"}
        )
        export = self.env["account.fiscal.position"].create(
            {
                "name": "Shipped to Belgium",
                "auto_apply": True,
                "country_id": belgium.id,
                "tax_ids": [
                    Command.create(
                        {
                            "tax_src_id": self.tax_sale_a.id,
                            "tax_dest_id": tax_export.id,
                        }
                    )
                ],
            }
        )
        manual_invoice = self._create_customer_invoice(
            self.customer, [(self.coffee, 1, 8.0)]
        )
        self.assertEqual(manual_invoice.fiscal_position_id, export)

        form = self._bill_form()
        self.assertEqual(form.fiscal_position_id, export)
        with form.line_ids.edit(self._line_index(form, self.coffee_history)) as line:
            line.quantity = 2
            self.assertEqual(line.tax_ids[:], tax_export)
        invoice = self.env["account.move"].browse(form.save().action_bill()["res_id"])
        self.assertEqual(invoice.fiscal_position_id, export)
        self.assertRecordValues(
            invoice.invoice_line_ids,
            [{"product_id": self.coffee.id, "tax_ids": tax_export.ids}],
        )

    def test_branch_price_adapted_from_the_parent_company_taxes(self):
        """A branch sells a product carrying its parent company's taxes: a
        price including a 10 % tax that the fiscal position replaces by an
        excluded one is billed 100, not 110, as sale.order.line prices it
        (the tax column already showed the mapped tax)."""
        tax_included, tax_excluded = self.env["account.tax"].create(
            [
                {
                    "name": name,
                    "amount": 10.0,
                    "price_include_override": include,
                    "company_id": self.company.id,
                }
                for name, include in (
                    ("10 % included", "tax_included"),
                    ("10 % excluded", "tax_excluded"),
                )
            ]
        )
        belgium = self.env.ref("base.be")
        fiscal_position = self.env["account.fiscal.position"].create(
            {
                "name": "Prices without tax",
                "company_id": self.company.id,
                "auto_apply": True,
                "country_id": belgium.id,
                "tax_ids": [
                    Command.create(
                        {"tax_src_id": tax_included.id, "tax_dest_id": tax_excluded.id}
                    )
                ],
            }
        )
        branch = self.env["res.company"].create(
            {
                "name": "Azure Branch",
                "parent_id": self.company.id,
                "account_fiscal_country_id": (
                    self.company.account_fiscal_country_id.id
                ),
                "consumer_preference_billing": True,
            }
        )
        product = self.env["product.product"].create(
            {"name": "Branch Coffee", "list_price": 110.0, "taxes_id": tax_included.ids}
        )
        customer = self.env["res.partner"].create(
            {"name": "Branch Customer", "is_company": True, "country_id": belgium.id}
        )
        self.env["consumer.preference"].create(
            {
                "partner_id": customer.id,
                "product_id": product.id,
                "company_id": branch.id,
            }
        )
        wizard = (
            self.env["consumer.preference.bill"]
            .with_company(branch)
            .with_context(active_model="res.partner", active_id=customer.id)
            .create({})
        )
        self.assertEqual(wizard.company_id, branch)
        self.assertEqual(wizard.fiscal_position_id, fiscal_position)
        self.assertEqual(wizard.line_ids.tax_ids, tax_excluded)
        self.assertAlmostEqual(wizard.line_ids.price_unit, 100.0)

    def test_wizard_bills_once(self):
        """Defect 3: a second click on Bill (or a second request) opens the
        invoice already issued instead of issuing another one."""
        form = self._bill_form()
        self._set_quantities(form, {self.coffee_history: 2})
        wizard = form.save()
        move_count = self.env["account.move"].search_count([])

        first_action = wizard.action_bill()
        second_action = wizard.action_bill()

        self.assertEqual(self.env["account.move"].search_count([]), move_count + 1)
        self.assertEqual(second_action["res_id"], first_action["res_id"])
        self.assertEqual(wizard.invoice_id.id, first_action["res_id"])

    def test_the_button_clicked_decides_whether_to_post(self):
        """Post Invoices from Preferences switched while the wizard is open:
        Bill, the button shown, leaves a draft; Bill and Post posts."""
        arch = etree.fromstring(
            self.env["consumer.preference.bill"].get_views([(False, "form")])["views"][
                "form"
            ]["arch"]
        )
        contexts = {
            button.get("string"): safe_eval(button.get("context") or "{}")
            for button in arch.xpath("//footer/button[@name='action_bill']")
        }
        for button, opening_setting, state in (
            ("Bill", False, "draft"),
            ("Bill and Post", True, "posted"),
        ):
            with self.subTest(button=button):
                self.company.consumer_preference_auto_post = opening_setting
                form = self._bill_form()
                self._set_quantities(form, {self.coffee_history: 2})
                wizard = form.save()
                self.company.consumer_preference_auto_post = not opening_setting
                action = wizard.with_context(**contexts[button]).action_bill()
                invoice = self.env["account.move"].browse(action["res_id"])
                self.assertEqual(invoice.state, state)

    def test_typed_price_survives_quantity_change(self):
        """Defect 13: a unit price the user typed is kept when the quantity
        changes, and billed."""
        form = self._bill_form()
        with form.line_ids.edit(self._line_index(form, self.coffee_history)) as line:
            self.assertEqual(line.price_unit, 8.0)
            line.price_unit = 7.25
            line.quantity = 3
            self.assertEqual(line.price_unit, 7.25)
        invoice = self.env["account.move"].browse(form.save().action_bill()["res_id"])
        self.assertRecordValues(
            invoice.invoice_line_ids,
            [{"product_id": self.coffee.id, "quantity": 3.0, "price_unit": 7.25}],
        )


@tagged("post_install", "-at_install")
class TestConsumerPreferenceBillErrors(ConsumerPreferenceBillCommon):
    def _wizard_with_quantities(self, quantities):
        form = self._bill_form()
        self._set_quantities(form, quantities)
        return form.save()

    def test_no_quantity(self):
        wizard = self._wizard_with_quantities({})
        self._assert_nothing_billed(wizard, "Enter a quantity on the lines to bill")

    def test_negative_quantity(self):
        wizard = self._wizard_with_quantities(
            {self.tea_specification: 2, self.coffee_history: -1}
        )
        self._assert_nothing_billed(wizard, "Quantities cannot be negative (Coffee)")

    def test_quantity_too_large(self):
        """A quantity far beyond any invoice line's (a slip of the keyboard)
        is typed without a server error (1e306 overflowed the line's amounts
        as it was typed) and refused at Bill with what to do, as the portal
        refuses it (1e300 left an entry Odoo found unbalanced, 2e9 was
        billed)."""
        for quantity in (1e306, 1e300, 2e9):
            with self.subTest(quantity=quantity):
                wizard = self._wizard_with_quantities(
                    {self.tea_specification: 2, self.coffee_history: quantity}
                )
                self._assert_nothing_billed(
                    wizard, "Quantities cannot exceed 1,000,000,000 (Coffee)"
                )

    def test_archived_product(self):
        wizard = self._wizard_with_quantities({self.tea_specification: 2})
        self.tea.action_archive()
        self._assert_nothing_billed(wizard, "These products are archived: Tea")

    def test_product_not_for_sale(self):
        wizard = self._wizard_with_quantities({self.coffee_history: 2})
        self.coffee.sale_ok = False
        self._assert_nothing_billed(wizard, "These products cannot be sold: Coffee")

    def test_archived_customer(self):
        wizard = self._wizard_with_quantities({self.coffee_history: 2})
        self.customer.action_archive()
        self._assert_nothing_billed(wizard, "Azure Shop is archived")

    def test_customer_restricted_to_another_company(self):
        """The customer was restricted to another company after its
        preferences here were recorded: the wizard says so and what to do,
        not Odoo's list of incompatible records."""
        wizard = self._wizard_with_quantities({self.coffee_history: 2})
        other_company = self.setup_other_company()["company"]
        self.accountant.company_ids |= other_company
        self.customer.company_id = other_company
        self._assert_nothing_billed(
            wizard.with_context(
                allowed_company_ids=[self.company.id, other_company.id]
            ),
            f"Azure Shop belongs to {other_company.name} only: bill it from "
            f"{other_company.name}, or share the customer with every company",
        )

    def test_customer_of_the_parent_company_billed_from_a_branch(self):
        """A customer restricted to the parent company is the branches'
        customer too: a branch bills it."""
        branch = self.env["res.company"].create(
            {
                "name": "Azure Branch",
                "parent_id": self.company.id,
                "consumer_preference_billing": True,
            }
        )
        self.customer.company_id = self.company
        preference = self.env["consumer.preference"].create(
            {
                "partner_id": self.customer.id,
                "product_id": self.coffee.id,
                "company_id": branch.id,
            }
        )
        wizard = (
            self.env["consumer.preference.bill"]
            .with_company(branch)
            .with_context(active_model="consumer.preference", active_ids=preference.ids)
            .create({})
        )
        wizard.line_ids.quantity = 2
        invoice = self.env["account.move"].browse(wizard.action_bill()["res_id"])
        self.assertRecordValues(
            invoice, [{"company_id": branch.id, "partner_id": self.customer.id}]
        )
        self.assertEqual(invoice.invoice_line_ids.quantity, 2.0)

    def test_preference_of_another_customer(self):
        other_specification = self.env["consumer.preference"].create(
            {"partner_id": self.other_customer.id, "product_id": self.coffee.id}
        )
        wizard = self._wizard_with_quantities({self.tea_specification: 1})
        wizard.write(
            {
                "line_ids": [
                    Command.create(
                        {"preference_id": other_specification.id, "quantity": 3}
                    )
                ]
            }
        )
        self._assert_nothing_billed(
            wizard, "These lines are not preferences of Azure Shop"
        )

    def test_preference_of_another_company(self):
        """A user of two companies selects, in the preferences list, a line of
        the company he is not working in: the wizard, which bills in the
        current company at its prices, says to switch company."""
        other_company = self.env["res.company"].create({"name": "Azure Branch Co"})
        self.accountant.company_ids |= other_company
        other_company_preference = self.env["consumer.preference"].create(
            {
                "partner_id": self.customer.id,
                "product_id": self.coffee.id,
                "company_id": other_company.id,
            }
        )
        wizard = self.env["consumer.preference.bill"].with_user(self.accountant)
        with self.assertRaisesRegex(
            UserError,
            "You are working in .*, and the selected preferences are of Azure "
            "Branch Co: select preferences of one company, and switch to it",
        ):
            Form(
                wizard.with_context(
                    allowed_company_ids=[self.company.id, other_company.id],
                    active_model="consumer.preference",
                    active_ids=other_company_preference.ids,
                )
            )

    def test_only_fully_returned_lines_selected_refused(self):
        """Lines of products the customer returned whole give the wizard no
        line to bill: it says so, instead of asking for a quantity."""
        mug = self._create_product(name="Mug", lst_price=4.0)
        self._post_customer_invoice(self.customer, [(mug, 2, 4.0)])
        self._post_customer_invoice(
            self.customer, [(mug, 2, 4.0)], move_type="out_refund"
        )
        mug_history = self._history(self.customer, mug)
        self.assertTrue(mug_history.is_fully_returned)
        wizard = self.env["consumer.preference.bill"].with_user(self.accountant)
        with self.assertRaisesRegex(UserError, "returned all it bought .*Mug"):
            Form(
                wizard.with_context(
                    active_model="consumer.preference", active_ids=mug_history.ids
                )
            )

    def test_product_sold_by_another_company_only(self):
        """A product restricted to another company after the customer's
        preferences recorded it: the wizard names it, instead of an access
        error on a product the user may not read."""
        wizard = self._wizard_with_quantities({self.tea_specification: 2})
        other_company = self.setup_other_company()["company"]
        self.tea.product_tmpl_id.company_id = other_company
        self._assert_nothing_billed(
            wizard, "These products are sold by another company only: Tea"
        )
        # Opened since (a new request: nothing read before), the wizard does
        # not offer it, and the rest bills.
        self.env.invalidate_all()
        form = self._bill_form()
        self.assertNotIn(self.tea_specification, form.save().line_ids.preference_id)
        self._set_quantities(form, {self.coffee_history: 1})
        invoice = self.env["account.move"].browse(form.save().action_bill()["res_id"])
        self.assertEqual(invoice.invoice_line_ids.product_id, self.coffee)

    def test_posting_fails_rolls_back(self):
        """The draft is created, then posting refuses it: the draft goes too."""
        self.company.consumer_preference_auto_post = True
        form = self._bill_form()
        with form.line_ids.edit(self._line_index(form, self.coffee_history)) as line:
            line.quantity = 2
            line.price_unit = -8.0
        self._assert_nothing_billed(form.save(), "negative total amount")
        self.assertEqual(self.coffee_history.invoice_count, 1)

    def test_receivable_account_deprecated(self):
        self.company.consumer_preference_auto_post = True
        self.company_data["default_account_receivable"].deprecated = True
        wizard = self._wizard_with_quantities({self.coffee_history: 2})
        self._assert_nothing_billed(wizard, "Account Receivable (121000) is deprecated")

    def test_missing_sale_journal(self):
        wizard = self._wizard_with_quantities({self.coffee_history: 2})
        self.env["account.journal"].search(
            [("company_id", "=", self.company.id), ("type", "=", "sale")]
        ).action_archive()
        self._assert_nothing_billed(wizard, "Nothing was billed to Azure Shop")


@tagged("post_install", "-at_install")
class TestConsumerPreferenceBillRights(ConsumerPreferenceBillCommon):
    def test_salesperson_cannot_bill(self):
        """No invoice from a salesperson. Without the Sales bridge
        (consumer_preferences_sale) it has no Bill button and cannot open the
        wizard; with it, it opens the wizard to create quotations."""
        customer = self.customer.with_user(self.salesperson)
        arch = customer.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn("consumer_preference_consent", arch, "the tab is shown")
        sales_bridge = self.env["ir.module.module"].search(
            [("name", "=", "consumer_preferences_sale"), ("state", "=", "installed")]
        )
        if sales_bridge:
            self.assertIn(self._bill_button_name(), arch)
        else:
            self.assertNotIn(self._bill_button_name(), arch)
            with self.assertRaises(AccessError):
                self._bill_form(user=self.salesperson)

        wizard = self._bill_form().save()
        wizard.line_ids[0].quantity = 1
        self._assert_nothing_billed(
            wizard.with_user(self.salesperson),
            "You are not allowed to create invoices",
            error=AccessError,
        )

    def test_accountant_sees_bill_button(self):
        customer = self.customer.with_user(self.accountant)
        arch = customer.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn(self._bill_button_name(), arch)

    def test_who_may_bill_is_decided_once(self):
        """Those who may open the Bill wizard (its access rights,
        ``_user_may_bill``), and only they, are offered it: the can-bill
        field (Specify and Bill), the Bill and Bill Due Products buttons
        (whose ``groups=`` restate the access rights), Actions › Bill from
        Preferences on a preferences list, and the action of a reorder
        reminder's link. Salespeople may with the Sales addon
        (consumer_preferences_sale), to quote."""
        Bill = self.env["consumer.preference.bill"]
        bill_action = self.env.ref(
            "consumer_preferences.consumer_preference_bill_action"
        )
        bill_due_action = self.env.ref(
            "consumer_preferences.action_consumer_preference_bill_due"
        )
        reader = self._new_company_user(
            "preferences_only",
            "base.group_user,base.group_partner_manager,"
            "consumer_preferences.group_consumer_preference_user",
        )
        sales_bridge = "consumer_preferences_sale" in self.env.registry._init_modules
        for user, may_bill in (
            (self.accountant, True),
            (self.salesperson, sales_bridge),
            (reader, False),
        ):
            with self.subTest(user=user.login):
                self.assertEqual(Bill._user_may_bill(user), may_bill)
                customer = self.customer.with_user(user)
                self.assertEqual(customer.consumer_preference_can_bill, may_bill)
                arch = etree.fromstring(
                    customer.get_views([(False, "form")])["views"]["form"]["arch"]
                )
                for button in (
                    "//div[@name='consumer_preference_bill']",
                    "//button[@name='action_consumer_preference_bill_due']",
                ):
                    self.assertEqual(bool(arch.xpath(button)), may_bill, button)
                bindings = (
                    self.env["ir.actions.actions"]
                    .with_user(user)
                    .get_bindings("consumer.preference")
                )
                self.assertEqual(
                    bill_action.id
                    in [action["id"] for action in bindings.get("action", [])],
                    may_bill,
                )
                if may_bill:
                    # The reminder's link runs it: its groups refuse none of them.
                    self.assertTrue(bill_due_action.groups_id & user.groups_id)

    def _bill_button_name(self):
        action = self.env.ref("consumer_preferences.consumer_preference_bill_action")
        return f'name="{action.id}"'
