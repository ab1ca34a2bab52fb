# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
import hashlib
import json
import re
import secrets

from werkzeug.exceptions import BadRequest, NotFound

from odoo import Command, fields, http
from odoo.http import request
from odoo.tools import float_compare

from odoo.addons.consumer_preferences.wizard.consumer_preference_bill_line import (
    MAX_QUANTITY,
)
from odoo.addons.portal.controllers.portal import CustomerPortal

PORTAL_URL = "/my/preferences"
# The Reorder form's token, as the page makes it (secrets.token_urlsafe): a
# crafted one of 8,000 characters overflowed the index of the tokens.
REORDER_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


class ConsumerPreferencePortal(CustomerPortal):
    """The customer's own preferences in its portal: its specifications (its
    favourites) and purchase history, a Reorder form that creates one draft
    quotation for its salesperson, and favourites added and removed.

    Portal users have no access to preferences nor to sales orders: every
    read and write below goes through ``sudo()`` on records first limited to
    the user's commercial partner in the current company
    (``_consumer_preferences_domain``); a line id of anyone else is answered
    as one that does not exist: 404, or the Reorder form's "no longer
    available"."""

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "consumer_preference_count" in counters:
            # sudo: counted on the user's own lines only (see the domain).
            values["consumer_preference_count"] = (
                request.env["consumer.preference"]
                .sudo()
                .search_count(self._consumer_preferences_domain())
            )
        return values

    # Data ----------------------------------------------------------------

    def _consumer_preference_customer(self):
        return request.env.user.partner_id.commercial_partner_id

    def _consumer_preferences_domain(self):
        """The lines the logged-in customer sees: its specifications, and its
        purchase history unless it withdrew its consent to its recording
        (fully returned products left out, as from reorder suggestions)."""
        customer = self._consumer_preference_customer()
        domain = [
            ("partner_id", "=", customer.id),
            ("company_id", "=", request.env.company.id),
        ]
        if not customer.consumer_preference_consent:
            return domain + [("preference_type", "=", "specification")]
        return domain + [
            "|",
            ("preference_type", "=", "specification"),
            ("is_fully_returned", "=", False),
        ]

    def _get_consumer_preferences(self):
        # sudo: portal users cannot read preferences; the domain keeps the
        # lines of their own commercial partner in the current company.
        return (
            request.env["consumer.preference"]
            .sudo()
            .search(self._consumer_preferences_domain())
        )

    @staticmethod
    def _parse_id(value):
        """A record id given as text, or None: a string of digits only (a
        crafted form may post a file instead), and of an id's length (Python
        refuses to read more than 4,300 digits)."""
        # isdecimal, not isdigit: int() cannot read every digit ("²")
        if not isinstance(value, str) or not value.isdecimal() or len(value) > 18:
            return None
        return int(value)

    def _get_posted_id(self, value):
        """A line id posted by a form, or 400."""
        record_id = self._parse_id(value)
        if record_id is None:
            raise BadRequest()
        return record_id

    def _get_consumer_preference(self, preference_id, preference_type=None):
        """One of the customer's own lines, or 404."""
        preferences = self._get_consumer_preferences()
        preference = preferences.filtered(
            lambda line: (
                line.id == preference_id
                and (not preference_type or line.preference_type == preference_type)
            )
        )
        if not preference:
            raise NotFound()
        return preference

    def _get_consumer_preference_prices(self, preferences):
        """``({preference id: price}, currency)``: the prices of the
        customer's pricelist, in its currency, for one unit: the unit price
        its reorder's quotation line gets (tax included when its taxes are),
        by the price rule of the Bill wizard (``consumer.preference.
        _get_sale_unit_prices``): with the price extras of the line's values
        that make no variant, adapted to the taxes of the fiscal position."""
        customer = self._consumer_preference_customer()
        company = request.env.company
        # sudo: portal users cannot read pricelists; only the customer's own
        # pricelist is read, for products of its own preferences.
        pricelist = customer.sudo().property_product_pricelist
        currency = pricelist.currency_id or company.currency_id
        # sudo: portal users cannot read products, their taxes nor their
        # attribute values, whose price extras are read; the lines are the
        # customer's own (_get_consumer_preferences).
        prices = preferences.sudo()._get_sale_unit_prices(
            pricelist,
            currency,
            self._get_consumer_preference_fiscal_position(),
            company,
        )
        return {line.id: price for line, price in prices.items()}, currency

    def _get_consumer_preference_fiscal_position(self):
        """The fiscal position of the portal user's reorder, as sale.order
        decides it: from the user's partner and its delivery address."""
        # sudo: portal users cannot read fiscal positions.
        return (
            request.env["consumer.preference"]
            .sudo()
            ._get_sale_fiscal_position(
                request.env.user.partner_id.sudo(), request.env.company
            )
        )

    def _prepare_consumer_preferences_values(self, **kwargs):
        preferences = self._get_consumer_preferences()
        specifications = preferences.filtered(
            lambda line: line.preference_type == "specification"
        )
        histories = preferences - specifications
        prices, currency = self._get_consumer_preference_prices(preferences)
        today = fields.Date.context_today(preferences)
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "consumer_preferences",
                "customer": self._consumer_preference_customer(),
                "specifications": specifications,
                "histories": histories,
                "history_by_specification": self._match_histories(
                    specifications, histories
                ),
                "specified_keys": {
                    (line.product_id, line.attribute_value_key)
                    for line in specifications
                },
                # what the Reorder form takes a quantity of, and the heart
                # adds to favourites
                "quotable_product_ids": set(
                    preferences.product_id._consumer_preference_quotable(
                        request.env.company
                    ).ids
                ),
                "prices": prices,
                "currency": currency,
                "today": today,
                "reorder_token": secrets.token_urlsafe(24),
                "reorder": self._get_reorder_confirmation(kwargs.get("reorder")),
                # the quotation of a form submitted again with other quantities
                "sent_order": self._get_reorder_confirmation(kwargs.get("sent")),
                "message": kwargs.get("message"),
            }
        )
        return values

    def _match_histories(self, specifications, histories):
        """``{specification: history line}``: the purchases of the product
        and values a favourite names (the variant's values, at most the values
        specified), as the Bill wizard matches them."""
        histories_by_product = histories.grouped("product_id")
        matches = {}
        for specification in specifications:
            candidates = histories_by_product.get(
                specification.product_id, histories.browse()
            )
            matches[specification] = candidates.filtered(
                lambda line, specification=specification: (
                    line.attribute_value_ids <= specification.attribute_value_ids
                )
            )[:1]
        return matches

    def _get_reorder_confirmation(self, order_id):
        """The quotation a reorder just created, if it is the customer's."""
        order_id = self._parse_id(order_id)
        if not order_id:
            return request.env["sale.order"]
        # sudo: the customer may not read its draft quotation; only its name
        # is shown, and only when the order is the customer's.
        order = request.env["sale.order"].sudo().browse(order_id).exists()
        if order.partner_id.commercial_partner_id != (
            self._consumer_preference_customer()
        ):
            return request.env["sale.order"]
        return order

    # Pages -----------------------------------------------------------------

    @http.route([PORTAL_URL], type="http", auth="user", website=True)
    def portal_my_consumer_preferences(self, **kwargs):
        values = self._prepare_consumer_preferences_values(**kwargs)
        return request.render(
            "consumer_preferences_sale.portal_my_consumer_preferences", values
        )

    @http.route(
        [f"{PORTAL_URL}/reorder"],
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def portal_consumer_preferences_reorder(self, reorder_token=None, **post):
        """One draft quotation of the quantities entered, for the customer's
        salesperson to confirm. The form's token makes a second submission of
        the same form open the first one's result: the same quantities (a
        double click, a refresh) open its quotation; other quantities (the
        browser's Back button, then a product added) are not ordered, and the
        page says so. Ordering them as a second quotation would order again
        what the form still holds of the first, and opening the first as
        "received" would drop them silently: the customer, told, enters what
        it still wants on the reloaded page, a new form."""
        if not isinstance(reorder_token, str) or not REORDER_TOKEN.fullmatch(
            reorder_token
        ):
            # a crafted form may post a file instead, or any text
            raise BadRequest()
        # sudo: portal users cannot read sales orders; the token is secret
        # and the order found must be the customer's own.
        SaleOrder = request.env["sale.order"].sudo()
        customer = self._consumer_preference_customer()
        existing_id, existing_digest = SaleOrder._consumer_preference_reorder_lookup(
            reorder_token
        )
        existing = SaleOrder.browse(existing_id)
        if existing:
            # one committed by a submission running at the same moment is
            # not in this transaction's snapshot: the page it is shown on
            # checks it is the customer's
            if existing.exists() and (
                existing.partner_id.commercial_partner_id != customer
            ):
                raise NotFound()
            # a quotation of before the digests has none: the same form
            if existing_digest and existing_digest != self._get_reorder_digest(post):
                return request.redirect(
                    f"{PORTAL_URL}?message=reorder_form_sent&sent={existing.id}"
                )
            return request.redirect(f"{PORTAL_URL}?reorder={existing.id}")
        if not customer.active:
            # An archived customer whose contact still has its portal user
            # (Odoo archives no contact of an active user): no quotation,
            # as the Bill wizard quotes no archived customer.
            return request.redirect(f"{PORTAL_URL}?message=archived_customer")
        quantities, message = self._get_reorder_quantities(post)
        if message:
            return request.redirect(f"{PORTAL_URL}?message={message}")
        order = SaleOrder.create(
            dict(
                self._prepare_reorder_vals(quantities, reorder_token),
                consumer_preference_reorder_digest=self._get_reorder_digest(post),
            )
        )
        # Its Source and note are read by the salesperson, not the customer:
        # in the salesperson's language (sale.order chose who), not the
        # portal user's.
        staff_env = order.with_context(lang=self._get_reorder_staff_lang(order)).env
        order.origin = staff_env._("Customer portal: preferences")
        order._message_log(
            body=staff_env._(
                "Requested by %(customer)s from its preferences in the customer "
                "portal: confirm it with the customer.",
                customer=request.env.user.partner_id.display_name,
            )
        )
        return request.redirect(f"{PORTAL_URL}?reorder={order.id}")

    @staticmethod
    def _get_reorder_staff_lang(order):
        """The language of whoever confirms the reorder: its salesperson's,
        or else the company's (no salesperson: anyone of the company)."""
        return order.user_id.lang or order.company_id.partner_id.lang

    def _get_reorder_quantities(self, post):
        """``({preference: quantity}, message code)`` from the form's
        ``quantity_<line id>`` fields."""
        preferences = self._get_consumer_preferences()
        digits = request.env["decimal.precision"].precision_get(
            "Product Unit of Measure"
        )
        preferences_by_id = {str(line.id): line for line in preferences}
        quotable = preferences.product_id._consumer_preference_quotable(
            request.env.company
        )
        quantities = {}
        for name, text in post.items():
            if not name.startswith("quantity_"):
                continue
            if not isinstance(text, str):
                # a crafted form may post a file instead
                return {}, "invalid_quantity"
            if not text.strip():
                # left empty, even on a line gone since the page was shown
                # (removed in another tab, returned in full, erased)
                continue
            preference = preferences_by_id.get(name.removeprefix("quantity_"))
            if not preference:
                # gone since the page was shown, or never the customer's: the
                # same answer for any id, which tells no other customer's
                return {}, "unavailable_product"
            try:
                quantity = float(text.replace(",", "."))
                # float() also reads "nan" and "inf", and the browser's number
                # field sends 1e308: Odoo's rounding raises on them.
                comparison = float_compare(quantity, 0, precision_digits=digits)
            except (ValueError, OverflowError):
                return {}, "invalid_quantity"
            # far larger quantities (1e304 of a product at 5,000) overflow
            # the order's amounts into a server error
            if comparison < 0 or quantity > MAX_QUANTITY:
                return {}, "invalid_quantity"
            if comparison > 0:
                if preference.product_id not in quotable:
                    return {}, "unavailable_product"
                quantities[preference] = quantity
        if not quantities:
            return {}, "no_quantity"
        return quantities, None

    @staticmethod
    def _get_reorder_digest(post):
        """A digest of the quantities a Reorder form posted, as typed: the
        same form submitted again gives the same digest, other quantities
        another one. Empty fields are left out (an id's field left empty
        orders nothing), a file posted instead of a quantity is counted."""
        quantities = sorted(
            (name, text.strip() if isinstance(text, str) else repr(type(text)))
            for name, text in post.items()
            if name.startswith("quantity_")
            and not (isinstance(text, str) and not text.strip())
        )
        return hashlib.sha256(json.dumps(quantities).encode()).hexdigest()

    def _prepare_reorder_vals(self, quantities, reorder_token):
        """A draft quotation addressed to the portal user; prices, taxes and
        salesperson come from sale.order's own computes (its Source is
        written once the salesperson is known, in its language)."""
        return {
            "partner_id": request.env.user.partner_id.id,
            "company_id": request.env.company.id,
            "consumer_preference_reorder_token": reorder_token,
            "order_line": [
                Command.create(preference._prepare_sale_order_line_vals(quantity))
                for preference, quantity in quantities.items()
            ],
        }

    @http.route(
        [f"{PORTAL_URL}/favourite/add"],
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def portal_consumer_preferences_favourite_add(self, preference_id=None, **post):
        """Keep a product of the purchase history, with its values, as a
        favourite (a specification)."""
        history = self._get_consumer_preference(
            self._get_posted_id(preference_id), "history"
        )
        if not history.product_id._consumer_preference_quotable(request.env.company):
            # the page offers no heart for it (a form shown before the
            # product was archived, or restricted to another company)
            return request.redirect(f"{PORTAL_URL}?message=unavailable_favourite")
        # sudo: portal users cannot write preferences; the favourite is the
        # customer's own, made from its own history line.
        request.env["consumer.preference"].sudo()._add_specification(
            history.partner_id,
            history.company_id,
            history.product_id,
            history.attribute_value_ids,
        )
        return request.redirect(f"{PORTAL_URL}?message=favourite_added")

    @http.route(
        [f"{PORTAL_URL}/favourite/remove"],
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def portal_consumer_preferences_favourite_remove(self, preference_id=None, **post):
        """Remove one of the customer's favourites (specifications)."""
        preference_id = self._get_posted_id(preference_id)
        # Any line that is not one of the customer's favourites is answered
        # the same, whether it was removed already (the same form submitted
        # again: a double click, the browser's Back button), is anyone
        # else's, or never was: it is not among its favourites. No answer
        # tells which ids exist.
        favourite = self._get_consumer_preferences().filtered(
            lambda line: (
                line.id == preference_id and line.preference_type == "specification"
            )
        )
        # sudo (the lines'): portal users cannot delete preferences; the line
        # is one of the customer's own specifications.
        favourite.unlink()
        return request.redirect(f"{PORTAL_URL}?message=favourite_removed")
