# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
import re

from odoo import Command
from odoo.tests import HttpCase, tagged

from .common import ConsumerPreferenceSaleCommon

TOKEN_PATTERNS = {
    name: re.compile(rf'name="{name}" value="([^"]+)"')
    for name in ("csrf_token", "reorder_token")
}


@tagged("post_install", "-at_install")
class TestPortalPreferences(ConsumerPreferenceSaleCommon, HttpCase):
    """/my/preferences for a portal contact of Azure Shop, over HTTP."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal_user = cls._new_portal_user("cp_portal", cls.customer)
        cls.other_portal_user = cls._new_portal_user(
            "cp_portal_deco", cls.other_customer
        )
        cls.secret_blend = cls._create_product(name="Secret Blend", lst_price=99.0)
        cls.other_specification = cls.env["consumer.preference"].create(
            {"partner_id": cls.other_customer.id, "product_id": cls.secret_blend.id}
        )
        cls._post_customer_invoice(
            cls.other_customer, [(cls.secret_blend, 1, 99.0)], invoice_date="2026-01-10"
        )
        cls.other_history = cls._history(cls, cls.other_customer, cls.secret_blend)

    def _page(self, url="/my/preferences"):
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200)
        return response

    def _tokens(self, html):
        return {
            name: pattern.search(html).group(1)
            for name, pattern in TOKEN_PATTERNS.items()
        }

    def _reorder(self, quantities, tokens=None):
        """Post the Reorder form of the page; ``quantities``: {line: text}."""
        tokens = tokens or self._tokens(self._page().text)
        data = dict(tokens)
        data.update({f"quantity_{line.id}": text for line, text in quantities.items()})
        return self.url_open("/my/preferences/reorder", data=data)

    def _customer_orders(self):
        return self.env["sale.order"].search(
            [("partner_id.commercial_partner_id", "=", self.customer.id)]
        )

    def test_page_lists_own_lines_with_rhythm_and_pricelist_prices(self):
        self.authenticate("cp_portal", "cp_portal")
        html = self._page().text
        for text in ("Favourites", "Purchase History", "Shirt", "Tea", "Coffee"):
            self.assertIn(text, html)
        self.assertIn("Quality: 8", html)
        # coffee: bought 4 then 2, a month apart: usual 3, expected in March,
        # longer ago than the company's window (180 days): not due, as on
        # its line, the profile and the reminders
        self.assertRegex(html, r"3\.00\s*</span>\s*<span[^>]*>Units")
        self.assertNotIn("o_consumer_preference_due", html)
        self.env.company.consumer_preference_due_days = 0
        self.assertIn("o_consumer_preference_due", self._page().text)
        # tea at the customer's pricelist price (10 % off 5.00)
        self.assertIn("4.50", html)
        self.assertNotIn("Secret Blend", html)
        self.assertNotIn("99.00", html)

    def test_price_of_a_favourite_with_a_value_priced_extra(self):
        """Quality 8 costs 3.00 more: the favourite S shirt of quality 8 shows
        23.00, the price its reorder gets on the quotation."""
        self.shirt_quality_8.price_extra = 3.0
        self.authenticate("cp_portal", "cp_portal")
        html = self._page().text
        # on the shirt's row
        self.assertRegex(html, r"(?s)Shirt \(S\)(?:(?!</tr>).)*23\.00")
        self._reorder({self.shirt_specification: "1"})
        self.assertEqual(self._customer_orders().order_line.price_unit, 23.0)

    def test_price_of_a_customer_whose_fiscal_position_maps_taxes(self):
        """Tea's price includes a 10 % tax that the customer's export fiscal
        position replaces with no tax: its quotation line gets 4.09 (the
        pricelist's 4.50 without the tax), and the page shows that price."""
        tax_included = self.env["account.tax"].create(
            {
                "name": "VAT 10 % included",
                "amount": 10.0,
                "price_include_override": "tax_included",
                "company_id": self.company.id,
            }
        )
        no_tax = self.env["account.tax"].create(
            {"name": "Export 0 %", "amount": 0.0, "company_id": self.company.id}
        )
        self.tea.taxes_id = tax_included
        self.customer.property_account_position_id = self.env[
            "account.fiscal.position"
        ].create(
            {
                "name": "Export",
                "company_id": self.company.id,
                "tax_ids": [
                    Command.create(
                        {"tax_src_id": tax_included.id, "tax_dest_id": no_tax.id}
                    )
                ],
            }
        )
        self.authenticate("cp_portal", "cp_portal")
        html = self._page().text
        # on the tea's row
        self.assertRegex(html, r"(?s)>Tea</span>(?:(?!</tr>).)*4\.09")
        self.assertNotRegex(html, r"(?s)>Tea</span>(?:(?!</tr>).)*4\.50")
        self._reorder({self.tea_specification: "1"})
        self.assertEqual(self._customer_orders().order_line.price_unit, 4.09)

    def test_price_including_a_tax_is_not_called_untaxed(self):
        """Tea's price includes a 10 % tax: the page shows 4.50, the unit
        price its quotation line gets (tax included), under the heading of
        Odoo's own quotations, not as an untaxed price."""
        self.tea.taxes_id = self.env["account.tax"].create(
            {
                "name": "VAT 10 % included",
                "amount": 10.0,
                "price_include_override": "tax_included",
                "company_id": self.company.id,
            }
        )
        self.authenticate("cp_portal", "cp_portal")
        html = self._page().text
        self.assertRegex(html, r"(?s)>Tea</span>(?:(?!</tr>).)*4\.50")
        self.assertRegex(html, r'<th class="text-end">Unit Price</th>')
        self.assertNotIn("untaxed", html)
        self._reorder({self.tea_specification: "1"})
        order_line = self._customer_orders().order_line
        self.assertEqual(order_line.price_unit, 4.5)
        self.assertEqual(order_line.price_total, 4.5)

    def test_price_without_pricelist_in_the_company_currency(self):
        """A company in euros, whose customer has no pricelist, shares a
        product priced in the main company's dollars: the page shows the
        price in euros, converted as its quotation line converts it (10
        dollars at 2 euros a dollar: 20.00), not the dollar figure."""
        euro = self.env.ref("base.EUR")
        euro.active = True
        company = self.setup_other_company(name="Euro Company", currency_id=euro.id)[
            "company"
        ]
        dollar = self.env.ref("base.main_company").currency_id
        self.assertNotEqual(dollar, euro)
        self.env["res.currency.rate"].create(
            {
                "name": "2026-01-01",
                "currency_id": euro.id,
                "company_id": company.id,
                "rate": 2.0 / (dollar.with_company(company).rate or 1.0),
            }
        )
        product = self.env["product.product"].create(
            {"name": "Dollar Blend", "lst_price": 10.0}
        )
        self.assertEqual(product.currency_id, dollar)
        # the euro company sells without pricelists
        self.env["product.pricelist"].search(
            [("company_id", "in", [False, company.id])]
        ).action_archive()
        customer = self.env["res.partner"].create({"name": "Euro Shop"})
        self.assertFalse(
            customer.with_company(company).property_product_pricelist,
            "the customer has no pricelist in the euro company",
        )
        favourite = (
            self.env["consumer.preference"]
            .with_company(company)
            .create(
                {
                    "partner_id": customer.id,
                    "product_id": product.id,
                    "company_id": company.id,
                }
            )
        )
        user = self._new_portal_user("cp_portal_euro", customer, company)
        self.authenticate("cp_portal_euro", "cp_portal_euro")
        html = self._page().text
        self.assertRegex(html, r"(?s)Dollar Blend(?:(?!</tr>).)*20\.00")
        self.assertNotRegex(html, r"(?s)Dollar Blend(?:(?!</tr>).)*10\.00")
        self._reorder({favourite: "1"}, tokens=self._tokens(html))
        order = self.env["sale.order"].search([("partner_id", "=", user.partner_id.id)])
        self.assertEqual(order.currency_id, euro)
        self.assertEqual(order.order_line.price_unit, 20.0)

    def test_anonymous_visitor_is_sent_to_login(self):
        response = self.url_open("/my/preferences", allow_redirects=False)
        self.assertEqual(response.status_code, 303)
        self.assertIn("/web/login", response.headers["Location"])

    def test_reorder_creates_exactly_one_draft_quotation(self):
        self.authenticate("cp_portal", "cp_portal")
        tokens = self._tokens(self._page().text)
        response = self._reorder(
            {
                self.tea_specification: "2",
                self.coffee_history: "3",
                self.shirt_specification: "",
            },
            tokens,
        )
        self.assertEqual(response.status_code, 200)
        order = self._customer_orders()
        self.assertEqual(len(order), 1)
        self.assertIn(f"?reorder={order.id}", response.url)
        self.assertIn(order.name, response.text)
        self.assertRecordValues(
            order,
            [
                {
                    "partner_id": self.portal_user.partner_id.id,
                    "state": "draft",
                    "pricelist_id": self.pricelist.id,
                    "company_id": self.company.id,
                }
            ],
        )
        self.assertRecordValues(
            order.order_line,
            [
                {
                    "product_id": self.tea.id,
                    "product_uom_qty": 2.0,
                    "product_uom": self.kilogram.id,
                    "price_unit": 4.5,
                },
                {
                    "product_id": self.coffee.id,
                    "product_uom_qty": 3.0,
                    "product_uom": self.coffee.uom_id.id,
                    "price_unit": 8.0,
                },
            ],
        )
        self.assertIn("customer portal", order.message_ids[0].body)

        # The same form again (double click, refresh): the same quotation.
        response = self._reorder(
            {
                self.tea_specification: "2",
                self.coffee_history: "3",
                self.shirt_specification: "",
            },
            tokens,
        )
        self.assertEqual(self._customer_orders(), order)
        self.assertIn(f"?reorder={order.id}", response.url)
        # A fresh form is a new request.
        self._reorder({self.shirt_specification: "1"})
        new_order = self._customer_orders() - order
        self.assertRecordValues(
            new_order.order_line,
            [
                {
                    "product_id": self.shirt_s.id,
                    "product_no_variant_attribute_value_ids": self.shirt_quality_8.ids,
                }
            ],
        )

    def test_same_form_sent_again_with_other_quantities(self):
        """The customer reorders tea, goes back with the browser's Back
        button, adds a shirt and reorders again: the same form (token) with
        other quantities. The shirt is not ordered silently under the first
        request's "received": the page says the form was already sent and
        nothing of the change was ordered, and the reloaded page's fresh
        form orders the shirt."""
        self.authenticate("cp_portal", "cp_portal")
        tokens = self._tokens(self._page().text)
        self._reorder({self.tea_specification: "2"}, tokens)
        order = self._customer_orders()
        response = self._reorder(
            {self.tea_specification: "2", self.shirt_specification: "5"}, tokens
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self._customer_orders(), order)
        self.assertNotIn("o_consumer_preference_reordered", response.text)
        self.assertIn("This form was already sent", response.text)
        self.assertIn(order.name, response.text)
        self.assertRecordValues(
            order.order_line, [{"product_id": self.tea.id, "product_uom_qty": 2.0}]
        )
        # the page shown is a new form: the shirt is ordered
        self._reorder({self.shirt_specification: "5"}, self._tokens(response.text))
        new_order = self._customer_orders() - order
        self.assertRecordValues(
            new_order.order_line,
            [{"product_id": self.shirt_s.id, "product_uom_qty": 5.0}],
        )

    def test_reorder_note_and_source_in_the_salespersons_language(self):
        """A French-speaking customer reorders: its Spanish-speaking
        salesperson reads the quotation's Source and note in Spanish, not in
        the customer's French; without salesperson, in the company's
        language."""
        for lang in ("fr_FR", "es_ES"):
            self.env["res.lang"]._activate_lang(lang)
        self.portal_user.lang = "fr_FR"
        self.salesperson.lang = "es_ES"
        self.customer.user_id = self.salesperson
        self.company.partner_id.lang = "en_US"
        self.authenticate("cp_portal", "cp_portal")
        self._reorder({self.tea_specification: "2"})
        order = self._customer_orders()
        self.assertEqual(order.user_id, self.salesperson)
        self.assertEqual(order.origin, "Portal del cliente: preferencias")
        self.assertIn("Solicitado por", order.message_ids[0].body)
        self.customer.user_id = False
        self._reorder({self.coffee_history: "1"})
        order = self._customer_orders() - order
        self.assertFalse(order.user_id)
        self.assertEqual(order.origin, "Customer portal: preferences")
        self.assertIn("Requested by", order.message_ids[0].body)

    def test_reorder_refuses_bad_quantities_and_creates_nothing(self):
        self.authenticate("cp_portal", "cp_portal")
        for quantities, message in (
            ({self.tea_specification: ""}, "Enter a quantity"),
            ({self.tea_specification: "-1"}, "Quantities must be positive"),
            ({self.tea_specification: "lots"}, "Quantities must be positive"),
        ):
            response = self._reorder(quantities)
            self.assertIn(message, response.text)
        self.tea.sale_ok = False
        response = self._reorder({self.tea_specification: "1"})
        self.assertIn("no longer available", response.text)
        # restricted to another company since it was recorded
        self.tea.sale_ok = True
        self.tea.product_tmpl_id.company_id = self.setup_other_company()["company"]
        response = self._reorder({self.tea_specification: "1"})
        self.assertIn("no longer available", response.text)
        self.assertFalse(self._customer_orders())

    def test_reorder_refuses_numbers_that_are_no_quantity(self):
        """Not a number, infinity, a number too big to round (1e308, which
        the browser's number field accepts), or one whose amount would
        overflow (1e304 of tea at 5,000): the page says the quantity is
        wrong, no server error."""
        self.tea.lst_price = 5000.0
        self.authenticate("cp_portal", "cp_portal")
        for text in ("nan", "inf", "1e308", "1e304"):
            response = self._reorder({self.tea_specification: text})
            self.assertEqual(response.status_code, 200, text)
            self.assertIn("Quantities must be positive", response.text)
        self.assertFalse(self._customer_orders())

    def test_archived_customer_cannot_reorder(self):
        """Azure Shop was archived (its contact's portal user stays active, as
        Odoo allows): its portal creates no quotation for it, as the Bill
        wizard quotes no archived customer."""
        self.customer.active = False
        self.authenticate("cp_portal", "cp_portal")
        response = self._reorder({self.tea_specification: "2"})
        self.assertEqual(response.status_code, 200)
        self.assertIn("no longer active", response.text)
        self.assertFalse(
            self.env["sale.order"].search(
                [("partner_id", "=", self.portal_user.partner_id.id)]
            )
        )

    def test_another_customers_lines_are_not_found(self):
        self.authenticate("cp_portal", "cp_portal")
        # A quantity on another customer's line is answered as on a line
        # that no longer exists: the same for any id, no quotation.
        response = self._reorder({self.other_specification: "1"})
        self.assertEqual(response.status_code, 200)
        self.assertIn("no longer available", response.text)
        tokens = self._tokens(self._page().text)
        response = self.url_open(
            "/my/preferences/reorder",
            data=dict(tokens, quantity_999999999="1"),
        )
        self.assertIn("no longer available", response.text)
        self.assertFalse(self._customer_orders())
        csrf_token = self._tokens(self._page().text)["csrf_token"]
        response = self.url_open(
            "/my/preferences/favourite/add",
            data={"csrf_token": csrf_token, "preference_id": self.other_history.id},
        )
        self.assertEqual(response.status_code, 404)
        # Removing is answered as for an id that is no favourite of the
        # customer's, removed already or never one: no answer tells which
        # ids exist.
        for preference_id in (self.other_specification.id, 999_999_999):
            response = self.url_open(
                "/my/preferences/favourite/remove",
                data={"csrf_token": csrf_token, "preference_id": preference_id},
            )
            self.assertEqual(response.status_code, 200)
            self.assertIn("removed from your favourites", response.text)
        self.assertTrue(self.other_specification.exists())
        self.assertFalse(
            self.env["sale.order"].search(
                [("partner_id.commercial_partner_id", "=", self.other_customer.id)]
            )
        )

    def test_ids_that_are_no_numbers(self):
        """An id Python's isdigit() accepts but int() does not read (a
        superscript two) is a bad request, not a server error."""
        self.authenticate("cp_portal", "cp_portal")
        # ... nor one of more digits than Python reads (4,300)
        for text in ("\u00b2", "1" * 5000):
            response = self._page(f"/my/preferences?reorder={text}")
            self.assertNotIn("o_consumer_preference_reordered", response.text)
            csrf_token = self._tokens(self._page().text)["csrf_token"]
            for url in (
                "/my/preferences/favourite/add",
                "/my/preferences/favourite/remove",
            ):
                response = self.url_open(
                    url, data={"csrf_token": csrf_token, "preference_id": text}
                )
                self.assertEqual(response.status_code, 400, url)

    def test_reorder_token_not_made_by_the_page(self):
        """A crafted token of 8,000 characters (a server error before: too
        long for the index of the tokens) or of a single one: a bad request,
        no quotation."""
        self.authenticate("cp_portal", "cp_portal")
        tokens = self._tokens(self._page().text)
        self.assertRegex(tokens["reorder_token"], r"^[A-Za-z0-9_-]{32}$")
        for token in ("x" * 8000, "x", "a b c d e f g h i j"):
            response = self._reorder(
                {self.tea_specification: "1"}, dict(tokens, reorder_token=token)
            )
            self.assertEqual(response.status_code, 400)
        self.assertFalse(self._customer_orders())

    def test_forms_posting_a_file_instead_of_text(self):
        """A crafted form posting a file where the page's forms post text (a
        token, a line id, a quantity): a bad request or a quantity refused,
        not a server error."""
        self.authenticate("cp_portal", "cp_portal")
        tokens = self._tokens(self._page().text)
        upload = ("field.txt", b"1", "text/plain")
        quantity_name = f"quantity_{self.tea_specification.id}"
        response = self.url_open(
            "/my/preferences/reorder",
            data={"csrf_token": tokens["csrf_token"], quantity_name: "1"},
            files={"reorder_token": upload},
        )
        self.assertEqual(response.status_code, 400)
        response = self.url_open(
            "/my/preferences/reorder", data=tokens, files={quantity_name: upload}
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("Quantities must be positive", response.text)
        for url in (
            "/my/preferences/favourite/add",
            "/my/preferences/favourite/remove",
        ):
            response = self.url_open(
                url,
                data={"csrf_token": tokens["csrf_token"]},
                files={"preference_id": upload},
            )
            self.assertEqual(response.status_code, 400, url)
        self.assertFalse(self._customer_orders())

    def test_forms_need_the_csrf_token(self):
        self.authenticate("cp_portal", "cp_portal")
        tokens = self._tokens(self._page().text)
        response = self.url_open(
            "/my/preferences/reorder",
            data={
                "reorder_token": tokens["reorder_token"],
                f"quantity_{self.tea_specification.id}": "1",
            },
        )
        self.assertEqual(response.status_code, 400)
        response = self.url_open(
            "/my/preferences/favourite/remove",
            data={"preference_id": self.tea_specification.id},
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self._customer_orders())
        self.assertTrue(self.tea_specification.exists())

    def test_favourites_added_from_history_and_removed(self):
        self.authenticate("cp_portal", "cp_portal")
        csrf_token = self._tokens(self._page().text)["csrf_token"]
        response = self.url_open(
            "/my/preferences/favourite/add",
            data={"csrf_token": csrf_token, "preference_id": self.coffee_history.id},
        )
        self.assertIn("added to your favourites", response.text)
        favourite = self.env["consumer.preference"].search(
            [
                ("partner_id", "=", self.customer.id),
                ("preference_type", "=", "specification"),
                ("product_id", "=", self.coffee.id),
            ]
        )
        self.assertEqual(len(favourite), 1)
        # twice: still one
        self.url_open(
            "/my/preferences/favourite/add",
            data={"csrf_token": csrf_token, "preference_id": self.coffee_history.id},
        )
        self.assertEqual(favourite.search_count([("id", "in", favourite.ids)]), 1)

        response = self.url_open(
            "/my/preferences/favourite/remove",
            data={"csrf_token": csrf_token, "preference_id": favourite.id},
        )
        self.assertIn("removed from your favourites", response.text)
        self.assertFalse(favourite.exists())
        # the same form again (a double click, the browser's Back button)
        response = self.url_open(
            "/my/preferences/favourite/remove",
            data={"csrf_token": csrf_token, "preference_id": favourite.id},
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("removed from your favourites", response.text)
        # a history line is not a favourite to remove
        response = self.url_open(
            "/my/preferences/favourite/remove",
            data={"csrf_token": csrf_token, "preference_id": self.coffee_history.id},
        )
        self.assertIn("removed from your favourites", response.text)
        self.assertTrue(self.coffee_history.exists())

    def test_favourite_archived_by_a_salesperson_is_restored(self):
        """The customer's favourite coffee was archived in the back office:
        the heart on its coffee purchases restores it, instead of an error
        page about a duplicate."""
        favourite = self.env["consumer.preference"].create(
            {"partner_id": self.customer.id, "product_id": self.coffee.id}
        )
        favourite.active = False
        self.authenticate("cp_portal", "cp_portal")
        csrf_token = self._tokens(self._page().text)["csrf_token"]
        response = self.url_open(
            "/my/preferences/favourite/add",
            data={"csrf_token": csrf_token, "preference_id": self.coffee_history.id},
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("added to your favourites", response.text)
        self.assertTrue(favourite.active)
        self.assertEqual(
            self.env["consumer.preference"]
            .with_context(active_test=False)
            .search_count(
                [
                    ("partner_id", "=", self.customer.id),
                    ("preference_type", "=", "specification"),
                    ("product_id", "=", self.coffee.id),
                ]
            ),
            1,
        )

    def test_consent_withdrawn_shows_favourites_only(self):
        self.customer.consumer_preference_consent = False
        self.authenticate("cp_portal", "cp_portal")
        html = self._page().text
        self.assertIn("Your purchases are not recorded", html)
        self.assertIn("Tea", html)
        self.assertNotIn("Purchase History", html)
        response = self._reorder({self.coffee_history: "1"})
        self.assertIn("no longer available", response.text)
        self.assertFalse(self._customer_orders())

    def test_portal_home_entry_and_counter(self):
        self.authenticate("cp_portal", "cp_portal")
        self.assertIn('href="/my/preferences"', self._page("/my").text)
        counters = self.make_jsonrpc_request(
            "/my/counters", {"counters": ["consumer_preference_count"]}
        )
        # two favourites and the coffee bought
        self.assertEqual(counters["consumer_preference_count"], 3)

    def test_page_shown_before_a_favourite_was_removed_still_reorders(self):
        """The page open in two tabs: the tea favourite removed in one, the
        other's form still posts its empty field with the coffee's quantity
        (404 before). An empty field is skipped, whatever its line."""
        self.authenticate("cp_portal", "cp_portal")
        html = self._page().text
        tokens = self._tokens(html)
        line_ids = re.findall(r'name="quantity_(\d+)"', html)
        self.assertIn(str(self.tea_specification.id), line_ids)
        response = self.url_open(
            "/my/preferences/favourite/remove",
            data={
                "csrf_token": tokens["csrf_token"],
                "preference_id": self.tea_specification.id,
            },
        )
        self.assertFalse(self.tea_specification.exists())
        data = dict(tokens, **{f"quantity_{line_id}": "" for line_id in line_ids})
        data[f"quantity_{self.coffee_history.id}"] = "3"
        response = self.url_open("/my/preferences/reorder", data=data)
        self.assertEqual(response.status_code, 200)
        order = self._customer_orders()
        self.assertEqual(order.order_line.product_id, self.coffee)
        self.assertEqual(order.order_line.product_uom_qty, 3)

    def test_product_sold_by_another_company_only_offered_no_heart(self):
        """A product of the purchase history since restricted to another
        company: no quantity field and no heart on the page, and a form shown
        before gets a message (not the error page of Odoo's company check)."""
        other_company = self.setup_other_company()["company"]
        self.coffee.product_tmpl_id.company_id = other_company
        self.authenticate("cp_portal", "cp_portal")
        html = self._page().text
        self.assertNotIn(f'name="quantity_{self.coffee_history.id}"', html)
        self.assertNotIn(f'value="{self.coffee_history.id}"', html)
        response = self.url_open(
            "/my/preferences/favourite/add",
            data={
                "csrf_token": self._tokens(html)["csrf_token"],
                "preference_id": self.coffee_history.id,
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("cannot be added to your favourites", response.text)
        self.assertFalse(
            self.env["consumer.preference"].search(
                [
                    ("partner_id", "=", self.customer.id),
                    ("preference_type", "=", "specification"),
                    ("product_id", "=", self.coffee.id),
                ]
            )
        )

    def test_combo_product_not_reordered(self):
        """A favourite combo is shown, but not reordered from the portal (its
        line alone was quoted at 0.00): its items are chosen on a quotation."""
        drinks = self.env["product.combo"].create(
            {
                "name": "Drinks",
                "combo_item_ids": [Command.create({"product_id": self.tea.id})],
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
        favourite = self.env["consumer.preference"].create(
            {"partner_id": self.customer.id, "product_id": menu.id}
        )
        self.authenticate("cp_portal", "cp_portal")
        html = self._page().text
        self.assertIn("Breakfast Menu", html)
        self.assertNotIn(f'name="quantity_{favourite.id}"', html)
        response = self._reorder({favourite: "2"})
        self.assertIn("no longer available", response.text)
        self.assertFalse(self._customer_orders())
