# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import format_list, formatLang

from .consumer_preference_history import HISTORY_MOVE_TYPES

PREFERENCE_USER_GROUP = "consumer_preferences.group_consumer_preference_user"
PREFERENCE_MANAGER_GROUP = "consumer_preferences.group_consumer_preference_manager"
# Who sees the Preferences tab, hence the purchase profile on it.
PROFILE_GROUPS = (
    "consumer_preferences.group_consumer_preference_user,"
    "account.group_account_invoice,account.group_account_readonly"
)
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


class ResPartner(models.Model):
    _inherit = "res.partner"

    consumer_preference_ids = fields.One2many(
        comodel_name="consumer.preference",
        inverse_name="partner_id",
        string="Preferences",
        help="Preferences kept on this commercial partner.",
    )
    consumer_specification_ids = fields.One2many(
        comodel_name="consumer.preference",
        inverse_name="partner_id",
        string="Specifications",
        domain=[("preference_type", "=", "specification")],
        context={"default_preference_type": "specification"},
    )
    consumer_history_ids = fields.One2many(
        comodel_name="consumer.preference",
        inverse_name="partner_id",
        string="Purchase History",
        domain=[("preference_type", "=", "history")],
    )
    # A contact shows and edits its company's profile: one profile per
    # commercial partner, whichever of its contacts the user opened. Not
    # computed as superuser, so that record rules (companies) still apply.
    commercial_specification_ids = fields.One2many(
        related="commercial_partner_id.consumer_specification_ids",
        string="Company Specifications",
        readonly=False,
        compute_sudo=False,
    )
    commercial_history_ids = fields.One2many(
        related="commercial_partner_id.consumer_history_ids",
        string="Company Purchase History",
        compute_sudo=False,
    )
    consumer_preference_count = fields.Integer(
        string="Preference Count",
        compute="_compute_consumer_preference_count",
    )
    consumer_preference_consent = fields.Boolean(
        string="Record purchase preferences",
        default=True,
        help="When unchecked, posted invoices no longer feed this customer's "
        "purchase history.",
    )
    consumer_preference_history_pending = fields.Boolean(
        string="Purchase History Refresh Pending",
        compute="_compute_consumer_preference_history_pending",
        help="Some of this customer's recent invoices are still being added to "
        "its purchase history: the figures catch up within moments.",
    )
    consumer_preference_billing_enabled = fields.Boolean(
        string="Billing from Preferences Enabled",
        compute="_compute_consumer_preference_billing_enabled",
        help="Billing from preferences is enabled for the current company.",
    )

    @api.depends("commercial_partner_id")
    def _compute_consumer_preference_count(self):
        counts = dict(
            self.env["consumer.preference"]._read_group(
                domain=[("partner_id", "in", self.commercial_partner_id.ids)],
                groupby=["partner_id"],
                aggregates=["__count"],
            )
        )
        for partner in self:
            partner.consumer_preference_count = counts.get(
                partner.commercial_partner_id, 0
            )

    @api.depends_context("company")
    def _compute_consumer_preference_history_pending(self):
        # The queue holds only ids, written and read by the history service:
        # whether a customer is in it reveals nothing the form does not show.
        queued = (
            self.env["consumer.preference.history.queue"]
            .sudo()
            ._read_group(
                domain=[
                    ("partner_id", "in", self.commercial_partner_id.ids),
                    ("company_id", "in", self.env.companies.ids),
                ],
                groupby=["partner_id"],
            )
        )
        pending_partners = {partner for (partner,) in queued}
        for partner in self:
            partner.consumer_preference_history_pending = (
                partner.commercial_partner_id in pending_partners
            )

    @api.depends_context("company")
    def _compute_consumer_preference_billing_enabled(self):
        self.consumer_preference_billing_enabled = (
            self.env.company.consumer_preference_billing
        )

    @api.model
    def _commercial_fields(self):
        return super()._commercial_fields() + ["consumer_preference_consent"]

    def write(self, vals):
        consent_given = self.browse()
        if vals.get("consumer_preference_consent"):
            consent_given = self.filtered(
                lambda partner: (
                    not partner.consumer_preference_consent
                    and partner.commercial_partner_id == partner
                )
            )
        result = super().write(vals)
        if consent_given:
            # Invoices posted while consent was withdrawn count again.
            self.env["consumer.preference.history"]._rebuild(consent_given)
        return result

    def action_view_consumer_preferences(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "consumer_preferences.consumer_preference_action"
        )
        partner = self.commercial_partner_id
        action["domain"] = [("partner_id", "=", partner.id)]
        action["context"] = {
            "default_partner_id": partner.id,
            "search_default_group_by_preference_type": 1,
        }
        return action

    def action_consumer_preference_erase_history(self):
        """Erase the purchase history of these customers in the user's
        companies, and withdraw their consent so that it is not recorded
        again by the next posted invoice or a rebuild. Returns the number of
        history lines erased."""
        self._check_consumer_preference_group(PREFERENCE_USER_GROUP)
        partners = self.commercial_partner_id
        withdrawn = partners._withdraw_consumer_preference_consent()
        # self.env, not sudo: the service erases the lines of the user's
        # companies only (self.env.companies).
        erased_count = self.env["consumer.preference.history"]._erase(partners)
        for partner in partners:
            if partner in withdrawn:
                body = _(
                    "Purchase history erased at the customer's request; consent "
                    "withdrawn: purchases are no longer recorded."
                )
            else:
                body = _("Purchase history erased at the customer's request.")
            partner._log_consumer_preference_erasure(body)
        return erased_count

    def action_consumer_preference_forget(self):
        """Erase the whole profile in the user's companies (specifications and
        history) and withdraw consent."""
        self._check_consumer_preference_group(PREFERENCE_USER_GROUP)
        partners = self.commercial_partner_id
        partners._withdraw_consumer_preference_consent()
        self.env["consumer.preference.history"]._erase(partners)
        # Record rules keep the specifications of the user's companies only.
        partners.with_context(active_test=False).consumer_specification_ids.unlink()
        for partner in partners:
            partner._log_consumer_preference_erasure(
                _(
                    "Consumer preferences forgotten at the customer's request: "
                    "specifications and purchase history erased, consent "
                    "withdrawn: purchases are no longer recorded."
                )
            )
        return True

    def action_consumer_preference_rebuild(self):
        """Recompute the purchase history of these customers from their
        posted invoices."""
        self._check_consumer_preference_group(PREFERENCE_MANAGER_GROUP)
        self.env["consumer.preference.history"]._rebuild(
            self.commercial_partner_id, self.env.companies
        )
        return True

    def _log_consumer_preference_erasure(self, body):
        """Trace an erasure in the customer's chatter, by the current user."""
        # _message_log writes as superuser: the trace must not need the right
        # to edit contacts, which posting a message (message_post) does.
        self._message_log(body=body)

    def _withdraw_consumer_preference_consent(self):
        """Withdraw the consent of those of these commercial partners who
        still give it; return them."""
        consenting = self.filtered("consumer_preference_consent")
        # sudo: withdrawing consent is part of the erasure the caller's
        # Preferences group allows; it must not need the right to edit
        # contacts. The commercial field reaches the contacts too.
        consenting.sudo().write({"consumer_preference_consent": False})
        return consenting

    def _check_consumer_preference_group(self, group_xmlid):
        # The history service writes with SQL, below the ORM's access
        # rights: check the user's right explicitly before calling it.
        if not self.env.user.has_group(group_xmlid):
            raise AccessError(
                _("You are not allowed to change customers' consumer preferences.")
            )

    # Purchase profile
    # What the customer buys, at a glance, for the current company and in its
    # currency. Computed on the fly from the history lines and the posted
    # invoices with grouped queries: no second stored copy of the figures.
    consumer_profile_currency_id = fields.Many2one(
        comodel_name="res.currency",
        string="Profile Currency",
        compute="_compute_consumer_profile",
        groups=PROFILE_GROUPS,
    )
    consumer_profile_invoice_count = fields.Integer(
        string="Posted Invoices",
        compute="_compute_consumer_profile",
        groups=PROFILE_GROUPS,
        help="Posted customer invoices in the current company.",
    )
    consumer_profile_refund_count = fields.Integer(
        string="Returns",
        compute="_compute_consumer_profile",
        groups=PROFILE_GROUPS,
        help="Posted customer credit notes in the current company.",
    )
    consumer_profile_average_invoice = fields.Monetary(
        string="Average Invoice",
        currency_field="consumer_profile_currency_id",
        compute="_compute_consumer_profile",
        groups=PROFILE_GROUPS,
        help="Average untaxed amount of the posted invoices, credit notes "
        "excluded, in the company currency.",
    )
    consumer_profile_first_date = fields.Date(
        string="First Purchase",
        compute="_compute_consumer_profile",
        groups=PROFILE_GROUPS,
    )
    consumer_profile_last_date = fields.Date(
        string="Last Purchase",
        compute="_compute_consumer_profile",
        groups=PROFILE_GROUPS,
    )
    consumer_profile_top_categories = fields.Char(
        string="Top Categories",
        compute="_compute_consumer_profile",
        groups=PROFILE_GROUPS,
        help="The product categories with the highest net amount.",
    )
    consumer_profile_top_values = fields.Char(
        string="Bought Most",
        compute="_compute_consumer_profile",
        groups=PROFILE_GROUPS,
        help="For each characteristic, the values with the highest net quantity "
        "bought.",
    )
    consumer_profile_due_count = fields.Integer(
        string="Due for Reorder",
        compute="_compute_consumer_profile",
        groups=PROFILE_GROUPS,
        help="Products whose next expected purchase date is past.",
    )
    consumer_profile_due_products = fields.Char(
        string="Due Products",
        compute="_compute_consumer_profile",
        groups=PROFILE_GROUPS,
        help="The products due for reorder the longest.",
    )

    @api.depends("commercial_partner_id.consumer_preference_consent")
    @api.depends_context("company")
    def _compute_consumer_profile(self):
        figures = self._get_consumer_profile_figures()
        currency = self.env.company.currency_id
        for partner in self:
            profile = figures.get(partner.commercial_partner_id._origin.id, {})
            invoice_count = profile.get("invoice_count", 0)
            partner.consumer_profile_currency_id = currency
            partner.consumer_profile_invoice_count = invoice_count
            partner.consumer_profile_refund_count = profile.get("refund_count", 0)
            partner.consumer_profile_average_invoice = (
                profile["invoiced_amount"] / invoice_count
                if invoice_count and "invoiced_amount" in profile
                else 0.0
            )
            partner.consumer_profile_first_date = profile.get("first_date")
            partner.consumer_profile_last_date = profile.get("last_date")
            partner.consumer_profile_top_categories = (
                self._format_consumer_profile_categories(
                    profile.get("categories", []),
                    currency if profile.get("amounts_visible") else None,
                )
            )
            partner.consumer_profile_top_values = self._format_consumer_profile_values(
                profile.get("values", [])
            )
            due_products = profile.get("due_products", [])
            partner.consumer_profile_due_count = len(due_products)
            partner.consumer_profile_due_products = (
                self._format_consumer_profile_due_products(due_products)
            )

    def _get_consumer_profile_figures(self):
        """The raw figures of the commercial partners' profiles in the current
        company, in five grouped queries whatever the number of history lines
        and invoices: ``{commercial partner id: {figure: value}}``. Customers
        who withdrew their consent have no profile."""
        partners = self.commercial_partner_id._origin.filtered(
            "consumer_preference_consent"
        )
        if not partners:
            return {}
        amount_partners = self._consumer_profile_amount_partners(partners)
        figures = {
            partner.id: {"amounts_visible": partner in amount_partners}
            for partner in partners
        }
        Preference = self.env["consumer.preference"]
        history_domain = [
            ("preference_type", "=", "history"),
            ("company_id", "=", self.env.company.id),
            ("partner_id", "in", partners.ids),
        ]

        for partner, first_date, last_date in Preference._read_group(
            history_domain,
            groupby=["partner_id"],
            aggregates=["first_invoice_date:min", "last_invoice_date:max"],
        ):
            figures[partner.id].update(first_date=first_date, last_date=last_date)

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

        today = fields.Date.context_today(self)
        for partner, product, _next_expected_date in Preference._read_group(
            history_domain + [("next_expected_date", "<", today)],
            groupby=["partner_id", "product_id"],
            aggregates=["next_expected_date:min"],
            order="next_expected_date:min asc, product_id",
        ):
            figures[partner.id].setdefault("due_products", []).append(product.id)

        # Aggregates of the customer's own invoices only, in the current
        # company: people who maintain preferences (salespeople) may see the
        # buying rhythm without being allowed to open invoices. The invoiced
        # amount is kept only for the customers whose amounts the user may
        # see: sudo() must not widen what "own documents" allows.
        invoice_groups = (
            self.env["account.move"]
            .sudo()
            ._read_group(
                [
                    ("company_id", "=", self.env.company.id),
                    ("commercial_partner_id", "in", partners.ids),
                    ("move_type", "in", HISTORY_MOVE_TYPES),
                    ("state", "=", "posted"),
                ],
                groupby=["commercial_partner_id", "move_type"],
                aggregates=["__count", "amount_untaxed_signed:sum"],
            )
        )
        for partner, move_type, count, amount in invoice_groups:
            if move_type == "out_invoice":
                figures[partner.id]["invoice_count"] = count
                if partner in amount_partners:
                    figures[partner.id]["invoiced_amount"] = amount
            else:
                figures[partner.id]["refund_count"] = count
        return figures

    @api.model
    def _consumer_profile_amount_partners(self, partners):
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
    def _format_consumer_profile_categories(self, categories, currency):
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
    def _format_consumer_profile_values(self, values):
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
                f"{value.name} ×{self._format_consumer_profile_quantity(quantity)}"
                for value, quantity in quantities[:PROFILE_TOP_COUNT]
            ]
            attribute_summaries.append(
                f"{attribute.name}: "
                f"{format_list(self.env, value_summaries, style='unit')}"
            )
        return " · ".join(attribute_summaries) or False

    @api.model
    def _format_consumer_profile_quantity(self, quantity):
        if quantity.is_integer():
            return formatLang(self.env, quantity, digits=0)
        return formatLang(self.env, quantity, dp="Product Unit of Measure")

    @api.model
    def _format_consumer_profile_due_products(self, product_ids):
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

    def action_view_consumer_due_preferences(self):
        """The customer's products due for reorder."""
        action = self.action_view_consumer_preferences()
        action["context"] = {
            "default_partner_id": self.commercial_partner_id.id,
            "search_default_due_for_reorder": 1,
        }
        return action

    def action_view_consumer_sales_by_year(self):
        """The customer's net sales and quantities per year, in Odoo's invoice
        analysis (graph, switchable to pivot)."""
        self.ensure_one()
        partner = self.commercial_partner_id
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_account_invoice_report_all"
        )
        name = _("Sales by Year: %(customer)s", customer=partner.display_name)
        action.update(
            {
                # the web client shows display_name, set from the original action
                "name": name,
                "display_name": name,
                "domain": [
                    ("commercial_partner_id", "=", partner.id),
                    ("company_id", "=", self.env.company.id),
                    ("move_type", "in", list(HISTORY_MOVE_TYPES)),
                    ("state", "=", "posted"),
                ],
                "context": {
                    "group_by": ["invoice_date:year"],
                    "graph_measure": "price_subtotal",
                    "graph_mode": "bar",
                    "pivot_measures": ["price_subtotal", "quantity"],
                    "pivot_row_groupby": ["invoice_date:year"],
                },
            }
        )
        return action
