# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
import math
import operator as py_operator

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression
from odoo.tools import SQL

from .consumer_preference_segment import PARTNER_SEGMENT_FIELDS, RFM_SEGMENTS
from .consumer_preference_statistics import HISTORY_MOVE_TYPES

PREFERENCE_USER_GROUP = "consumer_preferences.group_consumer_preference_user"
PREFERENCE_MANAGER_GROUP = "consumer_preferences.group_consumer_preference_manager"
# Who sees the Preferences tab, hence the purchase profile on it.
PROFILE_GROUPS = (
    "consumer_preferences.group_consumer_preference_user,"
    "account.group_account_invoice,account.group_account_readonly"
)
# Context key: the consent an import writes is checked once every row is.
# Its value is an object no client can send (a context over RPC is JSON): the
# check is skipped for load() only.
CONSENT_CHECKED_AFTER_LOAD = "consumer_preference_consent_checked_after_load"
CHECKED_AFTER_LOAD = object()
# The comparisons of a number in a domain.
NUMBER_ORDERS = {
    "<": py_operator.lt,
    "<=": py_operator.le,
    ">": py_operator.gt,
    ">=": py_operator.ge,
}


def _segment_search(segment_fname):
    """The search method of the partner field showing ``segment_fname``."""

    def search(partners, operator, value):
        return partners._search_consumer_segment(segment_fname, operator, value)

    return search


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
    # What the customer still has: fully returned products are folded away
    # (consumer_history_returned_count says how many, and opens them).
    consumer_history_bought_ids = fields.One2many(
        comodel_name="consumer.preference",
        inverse_name="partner_id",
        string="Purchase History (Bought)",
        domain=[("preference_type", "=", "history"), ("is_fully_returned", "=", False)],
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
    commercial_history_bought_ids = fields.One2many(
        related="commercial_partner_id.consumer_history_bought_ids",
        string="Company Purchase History (Bought)",
        compute_sudo=False,
    )
    consumer_history_returned_count = fields.Integer(
        string="Fully Returned Products",
        compute="_compute_consumer_history_returned_count",
        help="History lines of the company whose products were all returned "
        "(net quantity zero): kept, but hidden from the history list, reorder "
        "suggestions and billing.",
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
    consumer_preference_can_bill = fields.Boolean(
        string="Can Bill from Preferences",
        compute="_compute_consumer_preference_can_bill",
        help="Billing from preferences is enabled for the current company, "
        "and the user may bill.",
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

    @api.depends("commercial_partner_id")
    def _compute_consumer_history_returned_count(self):
        counts = dict(
            self.env["consumer.preference"]._read_group(
                domain=self._consumer_returned_history_domain(),
                groupby=["partner_id"],
                aggregates=["__count"],
            )
        )
        for partner in self:
            partner.consumer_history_returned_count = counts.get(
                partner.commercial_partner_id, 0
            )

    def _consumer_returned_history_domain(self):
        return [
            ("partner_id", "in", self.commercial_partner_id.ids),
            ("is_fully_returned", "=", True),
        ]

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

    @api.depends_context("company", "uid")
    def _compute_consumer_preference_can_bill(self):
        can_bill = self.env["consumer.preference.bill"]._user_may_bill(self.env.user)
        for partner in self:
            partner.consumer_preference_can_bill = (
                can_bill and partner.consumer_preference_billing_enabled
            )

    @api.model
    def _commercial_fields(self):
        return super()._commercial_fields() + ["consumer_preference_consent"]

    def write(self, vals):
        # The customers whose consent this write changes: set on the company,
        # and copied by Odoo to its contacts, which changes nothing more (nor
        # does writing the same value, as Odoo does for every commercial field
        # of a contact created under a company).
        consent_changed = self.browse()
        if "consumer_preference_consent" in vals:
            consent = bool(vals["consumer_preference_consent"])
            # The addon's own withdrawals write as superuser: a merge withdraws
            # consent on a contact it is about to make a company.
            if (
                not self.env.su
                and not {"parent_id", "is_company"} & set(vals)
                # an import checks its contacts once every row is written (load)
                and self.env.context.get(CONSENT_CHECKED_AFTER_LOAD)
                is not CHECKED_AFTER_LOAD
            ):
                self._check_consent_on_the_customer(consent)
            consent_changed = self.filtered(
                lambda partner: (
                    partner.commercial_partner_id == partner
                    and partner.consumer_preference_consent != consent
                )
            )
            if consent and consent_changed and not self.env.su:
                # Giving consent back rebuilds the history (in SQL, in every
                # company): a Preferences user's decision. Withdrawing it is
                # open to whoever may edit the customer.
                if not self.env.user.has_group(PREFERENCE_USER_GROUP):
                    raise AccessError(
                        _(
                            "Only Consumer Preferences users may record a "
                            "customer's consent again: its purchase history is "
                            "then rebuilt from its invoices."
                        )
                    )
        moved_invoices = self._consumer_preference_moved_invoices(vals)
        customers_before = moved_invoices.commercial_partner_id
        # Customers about to become contacts of a company, with the consent
        # they had: Odoo gives them the company's.
        joining = self.browse()
        if "parent_id" in vals or "is_company" in vals:
            joining = self.filtered(
                lambda partner: partner.commercial_partner_id == partner
            )
        joining_withdrawn = joining.filtered(
            lambda partner: (
                not vals.get(
                    "consumer_preference_consent", partner.consumer_preference_consent
                )
            )
        )
        segments = self.env["consumer.preference.segment"]
        if moved_invoices:
            # Their customers' segments, before they leave them.
            segments._enqueue(moved_invoices)
        result = super().write(vals)
        # A customer made a contact in the same write takes its company's
        # consent (Odoo copies it): its own choice is the company's to make
        # (_consumer_preference_join_company).
        consent_changed = consent_changed.filtered(
            lambda partner: partner.commercial_partner_id == partner
        )
        if consent_changed:
            # After the write (and its access check): postings that did not
            # see the change are replayed.
            self.env["consumer.preference.history"]._lock_consent(consent_changed)
        joining = joining.filtered(
            lambda partner: partner.commercial_partner_id != partner
        )
        if joining:
            joining._consumer_preference_join_company(joining_withdrawn)
        given_back = consent_changed.filtered("consumer_preference_consent")
        # Invoices posted while consent was withdrawn count again; customers
        # made contacts keep the invoices Odoo leaves on them.
        to_rebuild = given_back | joining
        customers_after = moved_invoices.commercial_partner_id
        if customers_after != customers_before:
            # Account gives a contact's invoices, posted ones included, the
            # contact's new company as commercial partner: they leave one
            # customer's history for the other's.
            to_rebuild |= customers_before | customers_after
            # The queue reads the invoices' new customer in the database.
            self.env["account.move"].flush_model(["commercial_partner_id"])
            segments._enqueue(moved_invoices)
        if to_rebuild:
            self.env["consumer.preference.history"]._rebuild(to_rebuild)
        if given_back:
            self.env["consumer.preference.history"]._refresh_after_consent(given_back)
        withdrawn = consent_changed.filtered(
            lambda partner: not partner.consumer_preference_consent
        )
        if withdrawn:
            # A customer who withdrew consent is not profiled (README): its
            # segments go at once, not at the nightly run, which deletes them
            # in every company too. The right to edit the consent, checked
            # by the write above, is the right to stop the profiling; sudo
            # lists every company, the consent being the customer's, not a
            # company's.
            self.env["consumer.preference.segment"]._erase(
                withdrawn, self.env["res.company"].sudo().search([])
            )
            self.env["consumer.preference.reminder"]._withdraw(withdrawn)
            # ... and the products bought together, counted over every
            # consenting customer, as soon as this change commits.
            self.env["consumer.preference.affinity"]._recompute_soon()
        if given_back:
            # Erased at the withdrawal, their segments come back with the
            # queue's next run, not at the nightly run.
            segments._enqueue_customers(given_back)
        return result

    def load(self, fields, data):
        """An import may list a company's contacts before the company, with
        the consent changed on all of them: each contact's row alone would be
        refused while its company still gives the former consent. The
        imported contacts are checked once every row is written instead
        (their company's row then gave them its consent), and the import is
        undone whole when one still differs from its company."""
        if "consumer_preference_consent" not in fields:
            return super().load(fields, data)
        # a flushing savepoint: rolled back, it drops what the import left
        # in the cache
        with self.env.cr.savepoint() as savepoint:
            result = super(
                ResPartner,
                self.with_context(**{CONSENT_CHECKED_AFTER_LOAD: CHECKED_AFTER_LOAD}),
            ).load(fields, data)
            for partner in self.browse(result["ids"] or []):
                customer = partner.commercial_partner_id
                if (
                    partner.consumer_preference_consent
                    != customer.consumer_preference_consent
                ):
                    message = self._consent_on_a_contact_message(partner)
                    savepoint.close(rollback=True)
                    self.pool.reset_changes()
                    # load's own result (base_import reads its nextrow), as
                    # load gives an error: no record written; a message of
                    # the whole file, naming the contact (its row is not
                    # known: skipped records, rows of a line's lines)
                    return dict(
                        result,
                        ids=False,
                        messages=[{"type": "error", "message": message}],
                    )
        return result

    def _consent_on_a_contact_message(self, contact):
        return _(
            "%(contact)s is a contact of %(customer)s, whose consent it "
            "follows: record the consent on %(customer)s.",
            contact=contact.display_name,
            customer=contact.commercial_partner_id.display_name,
        )

    def _check_consent_on_the_customer(self, consent):
        """Refuse ``consent`` written on a contact whose company gives
        another (over RPC, or an import: the form shows a contact's box
        read-only): the history reads the company's, a contact's follows it,
        and it would be a choice recorded in vain. Odoo copying the
        company's box to its contacts writes the company's own."""
        contacts = self.filtered(
            lambda partner: (
                partner.commercial_partner_id != partner
                and partner.commercial_partner_id not in self
                and partner.commercial_partner_id.consumer_preference_consent != consent
            )
        )
        if contacts:
            raise UserError(self._consent_on_a_contact_message(contacts[0]))

    def _consumer_preference_join_company(self, withdrawn):
        """These customers just became contacts of a company, whose profile
        is now theirs (a company and its contacts share one): their
        specifications go to it, merged into identical ones (the caller
        rebuilds their history: the invoices Odoo leaves on them still
        count there); and a consent one of them had withdrawn
        (``withdrawn``) stays withdrawn, on the company now, as when merging
        them into its contact: Odoo gave them the company's box, and the
        history would otherwise record the purchases they asked not to be,
        erased ones included."""
        # sudo and every company: moving a customer under a company takes
        # contact rights, not Preferences ones, and its profile follows in
        # every company.
        Preference = (
            self.env["consumer.preference"].sudo().with_context(active_test=False)
        )
        for partner in self:
            Preference.search(
                [
                    ("partner_id", "=", partner.id),
                    ("preference_type", "=", "specification"),
                ]
            )._give_to_customer(partner.commercial_partner_id)
        withdrawn.commercial_partner_id._withdraw_consumer_preference_consent()
        return True

    def _consumer_preference_moved_invoices(self, vals):
        """The posted customer invoices and credit notes of these partners,
        when ``vals`` changes their company: account's write then gives them
        the contacts' new commercial partner."""
        if "parent_id" not in vals:
            return self.env["account.move"]
        # sudo: the user moving a contact may not read all its invoices;
        # only their customers are used, to rebuild those customers'
        # history as account's write moves the invoices between them.
        return (
            self.env["account.move"]
            .sudo()
            .search(
                [
                    ("partner_id", "in", self.ids),
                    ("state", "=", "posted"),
                    ("move_type", "in", HISTORY_MOVE_TYPES),
                ]
            )
        )

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

    def action_view_consumer_returned_history(self):
        """The customer's fully returned products, folded away from the tab."""
        self.ensure_one()
        action = self.action_view_consumer_preferences()
        action["name"] = _(
            "Fully Returned Products: %(customer)s",
            customer=self.commercial_partner_id.display_name,
        )
        action["display_name"] = action["name"]
        action["domain"] = self._consumer_returned_history_domain()
        action["context"] = {"create": False}
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
        self.env["consumer.preference.segment"]._erase(partners, self.env.companies)
        self.env["consumer.preference.reminder"]._erase(partners, self.env.companies)
        # the companies selected: a user of the others erases theirs
        companies = ", ".join(self.env.companies.mapped("name"))
        for partner in partners:
            if partner in withdrawn:
                body = _(
                    "Purchase history erased in %(companies)s at the customer's "
                    "request; consent withdrawn: purchases are no longer recorded.",
                    companies=companies,
                )
            else:
                body = _(
                    "Purchase history erased in %(companies)s at the customer's "
                    "request.",
                    companies=companies,
                )
            partner._log_consumer_preference_erasure(body)
        return erased_count

    def action_consumer_preference_forget(self):
        """Erase the whole profile in the user's companies (specifications and
        history) and withdraw consent."""
        self._check_consumer_preference_group(PREFERENCE_USER_GROUP)
        partners = self.commercial_partner_id
        partners._withdraw_consumer_preference_consent()
        self.env["consumer.preference.history"]._erase(partners)
        self.env["consumer.preference.segment"]._erase(partners, self.env.companies)
        self.env["consumer.preference.reminder"]._erase(partners, self.env.companies)
        # Record rules keep the specifications of the user's companies only.
        partners.with_context(active_test=False).consumer_specification_ids.unlink()
        for partner in partners:
            partner._log_consumer_preference_erasure(
                _(
                    "Consumer preferences forgotten in %(companies)s at the "
                    "customer's request: specifications and purchase history "
                    "erased, consent withdrawn: purchases are no longer recorded.",
                    companies=", ".join(self.env.companies.mapped("name")),
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

    # Purchase profile: thin fields, filled by consumer.preference.profile,
    # where its figures are decided.
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
        help="Posted customer invoices of the company and all its contacts, in "
        "the current company.",
    )
    consumer_profile_refund_count = fields.Integer(
        string="Returns",
        compute="_compute_consumer_profile",
        groups=PROFILE_GROUPS,
        help="Posted customer credit notes of the company and all its contacts, "
        "in the current company.",
    )
    consumer_profile_net_invoiced = fields.Monetary(
        string="Net Invoiced",
        currency_field="consumer_profile_currency_id",
        compute="_compute_consumer_profile",
        groups=PROFILE_GROUPS,
        help="Untaxed amount of the posted invoices minus the posted credit "
        "notes of the company and all its contacts, in the current company and "
        "its currency: the amount of Odoo's Invoiced button on the company.",
    )
    consumer_profile_average_invoice = fields.Monetary(
        string="Net per Invoice",
        currency_field="consumer_profile_currency_id",
        compute="_compute_consumer_profile",
        groups=PROFILE_GROUPS,
        help="Net Invoiced (untaxed invoices minus credit notes) divided by the "
        "number of posted invoices.",
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
        help="Products whose next expected purchase date is past; fully "
        "returned products and products no longer sold are left out.",
    )
    consumer_profile_due_products = fields.Char(
        string="Due Products",
        compute="_compute_consumer_profile",
        groups=PROFILE_GROUPS,
        help="The products due for reorder the longest.",
    )

    @api.depends("commercial_partner_id.consumer_preference_consent")
    @api.depends_context("company", "uid")
    def _compute_consumer_profile(self):
        values = self.env["consumer.preference.profile"]._get_partner_values(self)
        for partner in self:
            partner.update(values[partner])

    consumer_reminder_ids = fields.One2many(
        comodel_name="consumer.preference.reminder",
        inverse_name="partner_id",
        string="Reorder Reminders",
        groups=PROFILE_GROUPS,
        help="Reminders of the products due for reorder, one per due date.",
    )
    commercial_reminder_ids = fields.One2many(
        related="commercial_partner_id.consumer_reminder_ids",
        string="Company Reorder Reminders",
        groups=PROFILE_GROUPS,
        compute_sudo=False,
    )

    consumer_suggestion_ids = fields.Many2many(
        comodel_name="consumer.preference.affinity",
        string="Suggestions",
        compute="_compute_consumer_suggestions",
        groups=PROFILE_GROUPS,
        help="Products that customers buying what this customer prefers also "
        "buy, and that it never bought, with why.",
    )
    consumer_suggested_product_ids = fields.Many2many(
        comodel_name="product.product",
        string="Suggested Products",
        compute="_compute_consumer_suggestions",
        groups=PROFILE_GROUPS,
        help="Products that customers buying what this customer prefers also "
        "buy, and that it never bought.",
    )

    @api.depends("commercial_partner_id.consumer_preference_consent")
    @api.depends_context("company")
    def _compute_consumer_suggestions(self):
        suggestions = self.env["consumer.preference.affinity"]._suggestions(
            self.commercial_partner_id._origin
        )
        empty = self.env["consumer.preference.affinity"]
        for partner in self:
            affinities = suggestions.get(partner.commercial_partner_id._origin, empty)
            partner.consumer_suggestion_ids = affinities
            partner.consumer_suggested_product_ids = affinities.related_product_id

    def action_consumer_preference_bill_due(self):
        """Open the Bill wizard with the customer's products due for reorder,
        their suggested quantities filled in."""
        self.ensure_one()
        # Before looking for due products: the reminder link's action is open
        # to internal users, and one who may not bill must be told so, not
        # that the customer has nothing due.
        self.env["consumer.preference.bill"].check_access("create")
        partner = self.commercial_partner_id
        Profile = self.env["consumer.preference.profile"]
        due = self.env["consumer.preference"]
        # As the profile: a customer who withdrew consent has nothing due
        # (its history lines are kept until erased, never reminded of).
        if partner.consumer_preference_consent:
            due = due.search(Profile._history_domain(partner) + Profile._due_domain())
        if not due:
            raise UserError(
                _(
                    "%(customer)s has no product due for reorder in %(company)s.",
                    customer=partner.display_name,
                    company=self.env.company.display_name,
                )
            )
        # With the specifications of the due products (their values, a
        # value's price extra): the Bill button pairs each with the history
        # line of what it specifies, the same rows here.
        Bill = self.env["consumer.preference.bill"]
        specifications = self.env["consumer.preference"].search(
            Bill._preferences_domain(partner)
            + [
                ("preference_type", "=", "specification"),
                ("product_id", "in", due.product_id.ids),
            ]
        )
        specifications = specifications.filtered(
            lambda specification: any(
                line.product_id == specification.product_id
                and line.attribute_value_ids <= specification.attribute_value_ids
                for line in due
            )
        )
        wizard = Bill.with_context(
            active_model="consumer.preference",
            active_ids=(specifications | due).ids,
        ).create({})
        return wizard.action_fill_suggested_quantities()

    def action_view_consumer_due_preferences(self):
        """The customer's products due for reorder: those the profile counts,
        in the current company."""
        action = self.action_view_consumer_preferences()
        action["domain"] = self.env["consumer.preference.profile"]._history_domain(
            self.commercial_partner_id
        )
        action["context"] = {
            "default_partner_id": self.commercial_partner_id.id,
            "search_default_due_for_reorder": 1,
        }
        return action

    def action_view_consumer_sales_by_year(self):
        """The customer's net sales and quantities per year, in Odoo's invoice
        analysis (graph, switchable to pivot): the lines the profile's net
        figures add up."""
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
                "domain": self.env["consumer.preference.profile"]._invoice_domain(
                    partner
                ),
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

    # Rhythm and value: thin fields showing the customer's row of
    # consumer.preference.segment in the current company, where its figures
    # are decided. Searched, sorted and grouped in SQL (_field_to_sql).
    consumer_recency_score = fields.Integer(
        string="Recency Score",
        compute="_compute_consumer_segment",
        search=_segment_search("recency_score"),
        groups=PROFILE_GROUPS,
        help="1 to 5: the quintile of the last purchase date among the "
        "company's customers (5: the most recent).",
    )
    consumer_frequency_score = fields.Integer(
        string="Frequency Score",
        compute="_compute_consumer_segment",
        search=_segment_search("frequency_score"),
        groups=PROFILE_GROUPS,
        help="1 to 5: the quintile of the number of purchases among the "
        "company's customers (5: the most purchases).",
    )
    consumer_monetary_score = fields.Integer(
        string="Monetary Score",
        compute="_compute_consumer_segment",
        search=_segment_search("monetary_score"),
        groups=PROFILE_GROUPS,
        help="1 to 5: the quintile of the net invoiced amount among the "
        "company's customers (5: the highest).",
    )
    consumer_rfm_segment = fields.Selection(
        selection=RFM_SEGMENTS,
        string="Customer Segment",
        compute="_compute_consumer_segment",
        search=_segment_search("rfm_segment"),
        groups=PROFILE_GROUPS,
        help="The customer's group by recency, frequency and monetary scores, "
        "recomputed every night.",
    )
    consumer_average_interval_days = fields.Float(
        string="Average Interval (Days)",
        digits=(16, 1),
        compute="_compute_consumer_segment",
        search=_segment_search("average_interval_days"),
        groups=PROFILE_GROUPS,
        help="Average number of days between two purchases (days with an invoice "
        "that its reversal credit notes did not credit in full).",
    )
    consumer_next_expected_date = fields.Date(
        string="Next Expected Purchase",
        compute="_compute_consumer_segment",
        search=_segment_search("next_expected_date"),
        groups=PROFILE_GROUPS,
        help="Last purchase plus the average interval.",
    )
    consumer_churn_risk = fields.Boolean(
        string="Churn Risk",
        compute="_compute_consumer_segment",
        search=_segment_search("churn_risk"),
        groups=PROFILE_GROUPS,
        help="No purchase for more than twice the customer's average interval.",
    )

    @api.depends("commercial_partner_id")
    @api.depends_context("company")
    def _compute_consumer_segment(self):
        segments = self.env["consumer.preference.segment"].search(
            [
                ("company_id", "=", self.env.company.id),
                ("partner_id", "in", self.commercial_partner_id._origin.ids),
            ]
        )
        segment_by_partner = {segment.partner_id: segment for segment in segments}
        empty = segments.browse()
        for partner in self:
            segment = segment_by_partner.get(
                partner.commercial_partner_id._origin, empty
            )
            for partner_fname, segment_fname in PARTNER_SEGMENT_FIELDS.items():
                partner[partner_fname] = segment[segment_fname]

    def _search_consumer_segment(self, segment_fname, operator, value):
        """Partners whose company's segment row in the current company
        satisfies ``(segment_fname, operator, value)``; a partner without a
        row has empty figures."""
        negative = operator in expression.NEGATIVE_TERM_OPERATORS
        if negative:
            operator = expression.TERM_OPERATORS_NEGATION[operator]
        values = value if isinstance(value, (list, tuple)) else [value]
        # Does the condition hold for empty figures (a partner without a row)?
        matches_empty = operator in ("=", "in") and any(not item for item in values)
        segment_field = self.env["consumer.preference.segment"]._fields[segment_fname]
        if segment_field.type in ("integer", "float") and operator in NUMBER_ORDERS:
            # An empty number is zero, as for Odoo (and the scores of a row
            # left empty: a prospect's): shown 0, it compares as 0. A client
            # may send the number as text, or nothing, as Odoo accepts them.
            number = self._consumer_segment_number(segment_field, value)
            if value not in (None, False):
                value = number
            matches_empty = NUMBER_ORDERS[operator](0, number)
        condition = [(segment_fname, operator, value)]
        if matches_empty:
            condition = ["!", *condition]
        rows = self.env["consumer.preference.segment"]._search(
            [("company_id", "=", self.env.company.id), *condition]
        )
        if matches_empty == negative:
            return [("commercial_partner_id", "in", rows.subselect("partner_id"))]
        # Not ("commercial_partner_id", "not in", ...): PostgreSQL checks a
        # "not in" against a list too long to hash (hundreds of thousands of
        # customers) by reading it again for each partner.
        return [
            (
                "id",
                "in",
                SQL(
                    """(
                    SELECT partner.id FROM res_partner partner
                     WHERE partner.commercial_partner_id IS NOT NULL
                       AND NOT EXISTS (
                           SELECT FROM (%s) segment
                            WHERE segment.partner_id = partner.commercial_partner_id)
                    )""",
                    rows.subselect("partner_id"),
                ),
            )
        ]

    @api.model
    def _consumer_segment_number(self, segment_field, value):
        """``value`` (a number, its text, or nothing: 0) as a number of
        ``segment_field``, a whole one for a score; else a message."""
        try:
            number = float(value or 0)
        except (TypeError, ValueError):
            number = math.nan
        field = segment_field._description_string(self.env)
        if not math.isfinite(number):
            raise UserError(_("Compare “%(field)s” with a number.", field=field))
        if segment_field.type == "integer":
            if not number.is_integer():
                raise UserError(
                    _("Compare “%(field)s” with a whole number.", field=field)
                )
            return int(number)
        return number

    def _field_to_sql(self, alias, fname, query=None, flush=True):
        segment_fname = PARTNER_SEGMENT_FIELDS.get(fname)
        if not segment_fname:
            return super()._field_to_sql(alias, fname, query=query, flush=flush)
        self.check_field_access_rights("read", [fname])
        # The current company's row, one of the user's companies: what the
        # record rule of the segments lets the user read.
        return SQL(
            "(SELECT %s FROM consumer_preference_segment segment "
            "WHERE segment.partner_id = %s AND segment.company_id = %s)",
            SQL.identifier("segment", segment_fname),
            super()._field_to_sql(alias, "commercial_partner_id", query, flush),
            self.env.company.id,
        )

    def action_view_consumer_sales_by_month(self):
        """The customer's net sales and quantities per product, year and month
        of the year: a year × month grid (pivot)."""
        self.ensure_one()
        partner = self.commercial_partner_id
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "consumer_preferences.consumer_preference_sales_month_action"
        )
        name = _("Sales by Month: %(customer)s", customer=partner.display_name)
        action.update(
            {
                "name": name,
                "display_name": name,
                "domain": [
                    ("partner_id", "=", partner.id),
                    ("company_id", "=", self.env.company.id),
                ],
            }
        )
        return action
