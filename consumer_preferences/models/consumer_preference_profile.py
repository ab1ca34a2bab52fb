# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import _, api, models
from odoo.tools import format_list, formatLang

from .consumer_preference_statistics import HISTORY_MOVE_TYPES

# How many categories, values per characteristic and due products the
# summary names.
PROFILE_TOP_COUNT = 3
# Who sees the money figures of every customer's profile: those who may read
# invoices anyway, and salespeople allowed to see all documents. Others (a
# salesperson limited to own documents) see them for their own customers and
# customers without salesperson only, as Odoo's "own documents" rules do.
PROFILE_ALL_AMOUNTS_GROUPS = (
    "account.group_account_invoice",
    "account.group_account_readonly",
    "sales_team.group_sale_salesman_all_leads",
)


class ConsumerPreferenceProfile(models.AbstractModel):
    """The purchase profile of customers: what they buy, at a glance, in the
    current company and its currency.

    Computed on the fly from the history lines and Odoo's invoice analysis
    (``account.invoice.report``) with grouped queries: no second stored copy
    of the figures. The money figures are *net*: untaxed invoices minus
    credit notes, the same lines and amounts as Odoo's *Invoiced* smart button
    (``res.partner.total_invoiced``) on the commercial partner, so that the two
    always agree. The partner shows the profile in thin computed fields; this
    service is where its figures are decided."""

    _name = "consumer.preference.profile"
    _description = "Consumer Preference Purchase Profile"

    @api.model
    def _get_partner_values(self, partners):
        """``{partner: {field name: value}}`` for the ``consumer_profile_*``
        fields of ``partners`` (a contact gets its company's profile)."""
        figures = self._get_figures(partners.commercial_partner_id._origin)
        currency = self.env.company.currency_id
        values = {}
        for partner in partners:
            profile = figures.get(partner.commercial_partner_id._origin.id, {})
            invoice_count = profile.get("invoice_count", 0)
            net_amount = profile.get("net_amount", 0.0)
            due_products = profile.get("due_products", [])
            values[partner] = {
                "consumer_profile_currency_id": currency,
                "consumer_profile_invoice_count": invoice_count,
                "consumer_profile_refund_count": profile.get("refund_count", 0),
                "consumer_profile_net_invoiced": net_amount,
                "consumer_profile_average_invoice": (
                    currency.round(net_amount / invoice_count) if invoice_count else 0.0
                ),
                "consumer_profile_first_date": profile.get("first_date"),
                "consumer_profile_last_date": profile.get("last_date"),
                "consumer_profile_top_categories": self._format_categories(
                    profile.get("categories", []),
                    currency if profile.get("amounts_visible") else None,
                ),
                "consumer_profile_top_values": self._format_values(
                    profile.get("values", [])
                ),
                "consumer_profile_due_count": len(due_products),
                "consumer_profile_due_products": self._format_due_products(
                    due_products
                ),
            }
        return values

    @api.model
    def _history_domain(self, partners):
        """The history lines of these commercial partners' profiles."""
        return [
            ("preference_type", "=", "history"),
            ("company_id", "=", self.env.company.id),
            ("partner_id", "in", partners.ids),
        ]

    @api.model
    def _due_domain(self, company=None):
        """History lines due for reorder: expected before today, and not
        longer ago than the company's window (a product expected years ago
        is one the customer stopped buying, not one to remind it of), still
        bought (a product the customer fully returned is not reordered), and
        still sold in ``company`` (the current one by default: neither
        archived, nor unsaleable, nor restricted to another company: the Bill
        wizard refuses those)."""
        company = company or self.env.company
        due_since = company._consumer_preference_due_since()
        return [
            ("preference_type", "=", "history"),
            # the company's day, as its reorder reminders
            ("next_expected_date", "<", company._consumer_preference_today()),
            *([("next_expected_date", ">=", due_since)] if due_since else []),
            ("is_fully_returned", "=", False),
            ("product_id.active", "=", True),
            ("product_id.sale_ok", "=", True),
            # a parent company shares its products with its branches
            (
                "product_id.company_id",
                "in",
                [False, *company.parent_ids.ids],
            ),
        ]

    @api.model
    def _invoice_domain(self, partners):
        """The invoice analysis lines the net figures add up: those Odoo's
        *Invoiced* button adds up for these commercial partners (their
        contacts' invoices included, since Odoo keeps every invoice line on
        the commercial partner), in the current company."""
        return [
            ("company_id", "=", self.env.company.id),
            ("commercial_partner_id", "in", partners.ids),
            ("move_type", "in", list(HISTORY_MOVE_TYPES)),
            ("state", "=", "posted"),
        ]

    @api.model
    def _get_figures(self, partners):
        """The raw figures of the commercial partners' profiles in the current
        company, in four grouped queries whatever the number of history lines
        and invoices: ``{commercial partner id: {figure: value}}``. Customers
        who withdrew their consent have no profile."""
        partners = partners.filtered("consumer_preference_consent")
        if not partners:
            return {}
        amount_partners = self._amount_partners(partners)
        figures = {
            partner.id: {"amounts_visible": partner in amount_partners}
            for partner in partners
        }
        Preference = self.env["consumer.preference"]
        history_domain = self._history_domain(partners)

        for partner, category, amount in Preference._read_group(
            history_domain,
            groupby=["partner_id", "product_category_id"],
            aggregates=["amount:sum"],
            order="amount:sum desc",
        ):
            if category and amount > 0:
                figures[partner.id].setdefault("categories", []).append(
                    (category, amount)
                )

        # Values are weighted by the net quantity bought (in the products'
        # units): "Size: M ×12" means twelve M-sized items kept, returns
        # deducted.
        for partner, value, quantity in Preference._read_group(
            history_domain,
            groupby=["partner_id", "attribute_value_ids"],
            aggregates=["quantity:sum"],
            order="quantity:sum desc",
        ):
            if value and quantity > 0:
                figures[partner.id].setdefault("values", []).append((value, quantity))

        for partner, product, _next_expected_date in Preference._read_group(
            history_domain + self._due_domain(),
            groupby=["partner_id", "product_id"],
            aggregates=["next_expected_date:min"],
            order="next_expected_date:min asc, product_id",
        ):
            figures[partner.id].setdefault("due_products", []).append(product.id)

        # sudo: people who maintain preferences (salespeople) may see the
        # buying rhythm without being allowed to open invoices. The net
        # amount is kept only for the customers whose amounts the user may
        # see: sudo() must not widen what "own documents" allows.
        invoice_groups = (
            self.env["account.invoice.report"]
            .sudo()
            ._read_group(
                self._invoice_domain(partners),
                groupby=["commercial_partner_id", "move_type"],
                aggregates=[
                    "move_id:count_distinct",
                    "price_subtotal:sum",
                    "invoice_date:min",
                    "invoice_date:max",
                ],
            )
        )
        for partner, move_type, count, amount, first_date, last_date in invoice_groups:
            profile = figures[partner.id]
            if move_type == "out_invoice":
                # The profile's invoices are all those posted, those of lines
                # without product included (no history line records them);
                # the history's purchases leave out invoices reversed in full.
                profile.update(
                    invoice_count=count, first_date=first_date, last_date=last_date
                )
            else:
                profile["refund_count"] = count
            if partner in amount_partners:
                profile["net_amount"] = profile.get("net_amount", 0.0) + amount
        return figures

    @api.model
    def _amount_partners(self, partners):
        """Those of ``partners`` (commercial partners) whose money figures the
        user may see in the profile; see PROFILE_ALL_AMOUNTS_GROUPS."""
        user = self.env.user
        if self.env.su or any(
            user.has_group(group) for group in PROFILE_ALL_AMOUNTS_GROUPS
        ):
            return partners
        return partners.filtered(
            lambda partner: not partner.user_id or partner.user_id == user
        )

    @api.model
    def _format_categories(self, categories, currency):
        """``Textile $ 280.00, Food $ 90.00``: the top categories, by net
        amount; without ``currency``, their names only (``Textile, Food``)."""
        category_summaries = [
            f"{category.name} {formatLang(self.env, amount, currency_obj=currency)}"
            if currency
            else category.name
            for category, amount in categories[:PROFILE_TOP_COUNT]
        ]
        return format_list(self.env, category_summaries, style="unit") or False

    @api.model
    def _format_values(self, values):
        """``Size: M ×12, L ×2 · Colour: Red ×3``: per characteristic, the
        values bought most; characteristics in the order of their best value."""
        quantities_by_attribute = {}
        for value, quantity in values:
            quantities_by_attribute.setdefault(value.attribute_id, []).append(
                (value, quantity)
            )
        attribute_summaries = []
        for attribute, quantities in quantities_by_attribute.items():
            value_summaries = [
                f"{value.name} ×{self._format_quantity(quantity)}"
                for value, quantity in quantities[:PROFILE_TOP_COUNT]
            ]
            attribute_summaries.append(
                f"{attribute.name}: "
                f"{format_list(self.env, value_summaries, style='unit')}"
            )
        return " · ".join(attribute_summaries) or False

    @api.model
    def _format_quantity(self, quantity):
        if quantity.is_integer():
            return formatLang(self.env, quantity, digits=0)
        return formatLang(self.env, quantity, dp="Product Unit of Measure")

    @api.model
    def _format_due_products(self, product_ids):
        """The products due the longest, then how many more are due."""
        # A fresh browse, so that names are read for the few products shown
        # only, not for every due product.
        products = self.env["product.product"].browse(product_ids[:PROFILE_TOP_COUNT])
        names = format_list(self.env, products.mapped("display_name"), style="unit")
        more_count = len(product_ids) - len(products)
        if more_count:
            return _(
                "%(products)s and %(count)s more", products=names, count=more_count
            )
        return names or False
