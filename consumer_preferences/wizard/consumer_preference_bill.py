# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import Command, _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, float_compare, formatLang

from .consumer_preference_bill_line import MAX_QUANTITY


class ConsumerPreferenceBill(models.TransientModel):
    """Bill a customer from its preferences: one line per preference, the user
    enters quantities and ``action_bill`` issues one customer invoice through
    the ordinary ``account.move`` create (and ``action_post`` when the company
    posts at once), so that accounts, taxes and the purchase history follow the
    same path as a manual invoice."""

    _name = "consumer.preference.bill"
    _description = "Bill from Consumer Preferences"
    _check_company_auto = True

    company_id = fields.Many2one(
        comodel_name="res.company",
        required=True,
        readonly=True,
        default=lambda self: self.env.company,
    )
    partner_id = fields.Many2one(
        comodel_name="res.partner",
        string="Customer",
        required=True,
        help="The invoice is addressed to this partner; the preferences are "
        "those of its company.",
        check_company=True,
    )
    pricelist_id = fields.Many2one(
        comodel_name="product.pricelist",
        compute="_compute_pricelist_id",
        store=True,
        check_company=True,
    )
    currency_id = fields.Many2one(
        comodel_name="res.currency",
        compute="_compute_currency_id",
        store=True,
    )
    fiscal_position_id = fields.Many2one(
        comodel_name="account.fiscal.position",
        compute="_compute_fiscal_position_id",
        store=True,
        check_company=True,
    )
    # The journal the invoice will go to, whose default account products
    # without income account get: searched once per wizard, not once for each
    # line it taxes.
    sale_journal_id = fields.Many2one(
        comodel_name="account.journal",
        string="Sales Journal",
        compute="_compute_sale_journal_id",
    )
    auto_post = fields.Boolean(related="company_id.consumer_preference_auto_post")
    line_ids = fields.One2many(
        comodel_name="consumer.preference.bill.line",
        inverse_name="wizard_id",
        string="Lines",
    )
    invoice_id = fields.Many2one(
        comodel_name="account.move",
        readonly=True,
        check_company=True,
        help="The invoice this wizard issued: a wizard bills once.",
    )
    amount_untaxed = fields.Monetary(
        string="Untaxed Amount", compute="_compute_amounts"
    )
    amount_tax = fields.Monetary(string="Taxes", compute="_compute_amounts")
    amount_total = fields.Monetary(string="Total", compute="_compute_amounts")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        partner, preferences = self._get_partner_and_preferences()
        if not partner:
            return values
        self._check_billing_enabled(self.env.company)
        if "partner_id" in fields_list:
            values["partner_id"] = partner.id
        if "line_ids" in fields_list:
            values["line_ids"] = [
                Command.create(dict(line_vals, sequence=sequence))
                for sequence, line_vals in enumerate(
                    self._prepare_line_vals_list(preferences), start=1
                )
            ]
        return values

    @api.model
    def _user_may_bill(self, user):
        """Whether ``user`` may bill from preferences, that is open this
        wizard: the wizard's create right (``ir.model.access``: invoicing
        users; consumer_preferences_sale adds salespeople, who quote). The
        one decision of who may bill: the customer's
        ``consumer_preference_can_bill`` and the reorder reminder's link ask
        it here, Actions › Bill from Preferences (a binding without groups)
        follows the same access right, and the views' ``groups=`` on the Bill
        and Bill Due Products buttons state the same groups, as XML can
        only."""
        return self.with_user(user).has_access("create")

    @api.model
    def _prepare_line_vals_list(self, preferences):
        """One line per product and values: a specification with the history
        line of what it specifies (the variant's values, at most the values
        specified), history lines nobody specified after them. Fully returned
        history lines are not offered: the customer kept nothing of them; nor
        products another company sells only (the Bill button refuses them by
        name, should one become so while the wizard is open)."""
        # A product restricted to another company since it was recorded is
        # neither billed here nor readable by this company's users.
        elsewhere_ids = set(
            preferences.product_id._consumer_preference_sold_elsewhere(
                self.env.company
            ).ids
        )
        preferences = preferences.filtered(
            lambda preference: preference.product_id.id not in elsewhere_ids
        )
        specifications = preferences.filtered(
            lambda preference: preference.preference_type == "specification"
        )
        histories = (preferences - specifications).filtered(
            lambda preference: not preference.is_fully_returned
        )
        # Candidates per product: matching stays linear in the number of lines.
        histories_by_product = histories.grouped("product_id")
        matched_ids = set()
        line_vals_list = []
        for specification in specifications:
            candidates = histories_by_product.get(specification.product_id, [])
            history = next(
                (
                    line
                    for line in candidates
                    if line.id not in matched_ids
                    and line.attribute_value_ids <= specification.attribute_value_ids
                ),
                histories.browse(),
            )
            matched_ids.add(history.id)
            line_vals_list.append(
                {"preference_id": specification.id, "history_id": history.id}
            )
        line_vals_list += [
            {"preference_id": history.id, "history_id": history.id}
            for history in histories
            if history.id not in matched_ids
        ]
        return line_vals_list

    @api.model
    def _get_partner_and_preferences(self):
        """The customer to bill and its preference lines, from where the wizard
        was opened: a customer's form (all its preferences in the current
        company) or the preferences list (the selected lines)."""
        Preference = self.env["consumer.preference"]
        active_model = self.env.context.get("active_model")
        if active_model == "res.partner" and self.env.context.get("active_id"):
            partner = self.env["res.partner"].browse(self.env.context["active_id"])
            preferences = Preference.search(self._preferences_domain(partner))
            return partner, preferences
        if active_model == "consumer.preference" and self.env.context.get("active_ids"):
            preferences = Preference.search(
                [("id", "in", self.env.context["active_ids"])]
            )
            if not preferences:
                raise UserError(
                    _(
                        "None of the selected preferences can be billed: they are "
                        "archived, or of a company you are not working in. Select "
                        "active preferences of one customer to bill it."
                    )
                )
            if len(preferences.partner_id) > 1:
                raise UserError(
                    _(
                        "The selected preferences belong to several customers "
                        "(%(customers)s): select the preferences of one customer "
                        "to bill it.",
                        customers=", ".join(preferences.partner_id.mapped("name")),
                    )
                )
            if preferences.company_id != self.env.company:
                # the wizard bills in the current company, at its prices
                raise UserError(
                    _(
                        "You are working in %(company)s, and the selected "
                        "preferences are of %(companies)s: select preferences of "
                        "one company, and switch to it to bill them.",
                        company=self.env.company.name,
                        companies=", ".join(preferences.company_id.mapped("name")),
                    )
                )
            if all(
                preference.preference_type == "history" and preference.is_fully_returned
                for preference in preferences
            ):
                raise UserError(
                    _(
                        "The customer returned all it bought of the selected "
                        "products (%(products)s): there is nothing of them to "
                        "bill again. Select other preferences.",
                        # sudo: the names only, of products the lines show
                        products=", ".join(
                            preferences.product_id.sudo().mapped("display_name")
                        ),
                    )
                )
            return preferences.partner_id, preferences
        return self.env["res.partner"], Preference

    @api.model
    def _preferences_domain(self, partner):
        return [
            ("partner_id", "=", partner.commercial_partner_id.id),
            ("company_id", "=", self.env.company.id),
        ]

    @api.depends("partner_id", "company_id")
    def _compute_pricelist_id(self):
        for wizard in self:
            wizard.pricelist_id = wizard.partner_id.with_company(
                wizard.company_id
            ).property_product_pricelist

    @api.depends("pricelist_id", "company_id")
    def _compute_currency_id(self):
        for wizard in self:
            wizard.currency_id = (
                wizard.pricelist_id.currency_id or wizard.company_id.currency_id
            )

    @api.depends("partner_id", "company_id")
    def _compute_fiscal_position_id(self):
        Preference = self.env["consumer.preference"]
        for wizard in self:
            wizard.fiscal_position_id = Preference._get_sale_fiscal_position(
                wizard.partner_id, wizard.company_id
            )

    @api.depends("company_id", "currency_id")
    def _compute_sale_journal_id(self):
        """The journal the invoice goes to (as
        ``account.move._search_default_journal``): a sales journal in the
        invoice's currency, or else the first sales journal."""
        Journal = self.env["account.journal"]
        for wizard in self:
            company = wizard.company_id or self.env.company
            domain = [*Journal._check_company_domain(company), ("type", "=", "sale")]
            journal = Journal
            if wizard.currency_id and wizard.currency_id != company.currency_id:
                journal = Journal.search(
                    domain + [("currency_id", "=", wizard.currency_id.id)], limit=1
                )
            wizard.sale_journal_id = journal or Journal.search(domain, limit=1)

    @api.depends(
        "line_ids.quantity",
        "line_ids.price_unit",
        "line_ids.tax_ids",
        "partner_id",
        "company_id",
        "currency_id",
    )
    def _compute_amounts(self):
        """The totals the invoice will show: Odoo's tax engine over the lines
        with a quantity, rounded as the company rounds taxes (per line or
        globally), less the tax of the customer's early payment discount when
        its payment terms compute taxes on the discounted amount (mixed)."""
        AccountTax = self.env["account.tax"]
        for wizard in self:
            company = wizard.company_id or self.env.company
            currency = wizard.currency_id or company.currency_id
            lines = wizard.line_ids._filter_priced()
            base_lines = [
                AccountTax._prepare_base_line_for_taxes_computation(
                    line,
                    tax_ids=line.tax_ids,
                    quantity=line.quantity,
                    price_unit=line.price_unit,
                    product_id=line.product_id,
                    partner_id=wizard.partner_id,
                    currency_id=currency,
                )
                for line in lines
            ]
            base_lines += wizard._get_early_payment_discount_base_lines(lines, currency)
            AccountTax._add_tax_details_in_base_lines(base_lines, company)
            AccountTax._round_base_lines_tax_details(base_lines, company)
            totals = AccountTax._get_tax_totals_summary(
                base_lines=base_lines, currency=currency, company=company
            )
            wizard.amount_untaxed = totals["base_amount_currency"]
            wizard.amount_tax = totals["tax_amount_currency"]
            wizard.amount_total = totals["total_amount_currency"]

    def _get_early_payment_discount_base_lines(self, lines, currency):
        """The early payment discount lines the invoice will get (as
        ``account.move.line._compute_epd_needed`` makes them): per set of
        taxes, the discount rounded line by line, taxed then untaxed, so that
        the untaxed amount stays and the taxes shrink."""
        self.ensure_one()
        term = self._get_payment_term()
        if not (
            term.early_discount
            and term.early_pay_discount_computation == "mixed"
            and term.discount_percentage
        ):
            return []
        AccountTax = self.env["account.tax"]
        discounts = {}
        for line in lines.filtered("tax_ids"):
            taxes = line.tax_ids.filtered(lambda tax: tax.amount_type != "fixed")
            discounts.setdefault(taxes, 0.0)
            discounts[taxes] += currency.round(
                line.price_subtotal * term.discount_percentage / 100
            )
        base_lines = []
        for taxes, amount in discounts.items():
            for tax_ids, price_unit in ((taxes, -amount), (AccountTax, amount)):
                base_lines.append(
                    AccountTax._prepare_base_line_for_taxes_computation(
                        self,
                        tax_ids=tax_ids,
                        price_unit=price_unit,
                        quantity=1.0,
                        currency_id=currency,
                        sign=1,
                        special_mode="total_excluded",
                        special_type="early_payment",
                    )
                )
        return base_lines

    def _get_pricing_date(self):
        """The date the lines are priced at (pricelist rules, currency rate):
        today, the date the invoice is issued at (consumer_preferences_sale:
        a quotation's order date, at which its lines are priced)."""
        return fields.Date.context_today(self)

    def _get_payment_term(self):
        """The payment terms of the document the wizard issues, whose early
        payment discount its totals show: the customer's, as the invoice gets
        them (consumer_preferences_sale: a quotation's own)."""
        self.ensure_one()
        company = self.company_id or self.env.company
        return self.partner_id.with_company(company).property_payment_term_id

    def _get_income_account_taxes(self, product):
        """The sales taxes of the income account of an invoice line of
        ``product``: its taxes when the product has none."""
        self.ensure_one()
        company = self.company_id or self.env.company
        account = self._get_income_account(product)
        return account.tax_ids.filtered(
            lambda tax: tax.type_tax_use == "sale"
        )._filter_taxes_by_company(company)

    def _get_income_account(self, product):
        """The account an invoice line of ``product`` gets: the product's (or
        its category's) income account mapped by the fiscal position, or else
        the sales journal's default account."""
        self.ensure_one()
        company = self.company_id or self.env.company
        accounts = product.product_tmpl_id.with_company(company).get_product_accounts(
            fiscal_pos=self.fiscal_position_id
        )
        return accounts["income"] or self.sale_journal_id.default_account_id

    def action_fill_suggested_quantities(self):
        """Put each line's suggested quantity (the customer's average quantity
        per purchase, for products bought repeatedly) in its quantity, and keep
        the wizard open."""
        self.ensure_one()
        for line in self.line_ids:
            if line.suggested_quantity > 0:
                line.quantity = line.suggested_quantity
        return {
            "type": "ir.actions.act_window",
            "name": _("Bill from Preferences"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": self.env.context,
        }

    def action_bill(self):
        """Issue one customer invoice with the lines that have a quantity, post
        it when the button clicked says so (Bill and Post, shown when the
        company posts at once; the company's setting without a button), and
        open it."""
        self.ensure_one()
        if not self.env["account.move"].has_access("create"):
            raise AccessError(
                _(
                    "You are not allowed to create invoices: ask your administrator "
                    "for Invoicing rights to bill customers from their preferences."
                )
            )
        self._lock_for_billing()
        issued_action = self._get_issued_document_action()
        if issued_action:
            return issued_action
        self._check_billing_enabled(self.company_id)
        self._check_partner()
        lines = self._get_lines_to_bill()
        try:
            # Nothing must survive a failure, even when the caller catches the
            # error: the draft invoice goes away with the failed posting.
            with self.env.cr.savepoint():
                invoice = self.env["account.move"].create(
                    self._prepare_invoice_vals(lines)
                )
                # A log note, not a message: the customer is not notified.
                invoice._message_log(
                    body=_(
                        "Billed from the consumer preferences of %(customer)s.",
                        customer=self.partner_id.commercial_partner_id.display_name,
                    )
                )
                if self._get_post_at_once():
                    invoice.action_post()
                self.invoice_id = invoice
        except AccessError:
            raise
        except UserError as error:  # validation errors included
            raise UserError(
                _(
                    "Nothing was billed to %(customer)s:\n%(reason)s\n"
                    "Fix this problem and bill again.",
                    customer=self.partner_id.display_name,
                    reason=error.args[0],
                )
            ) from error
        return self._get_invoice_action(invoice)

    def _get_post_at_once(self):
        """What the clicked button said (Bill or Bill and Post): the setting
        may have changed since the wizard showed it."""
        post = self.env.context.get("consumer_preference_post")
        return self.auto_post if post is None else bool(post)

    def _lock_for_billing(self):
        """Lock the wizard's row until the transaction ends. A second request
        billing the same wizard at the same moment waits here; once the first
        commits, PostgreSQL refuses the second's stale snapshot (serialization
        failure), Odoo replays that request, and the replay finds the document
        issued (``_get_issued_document_action``)."""
        self.env.cr.execute(
            SQL(
                "SELECT id FROM %s WHERE id = %s FOR NO KEY UPDATE",
                SQL.identifier(self._table),
                self.id,
            )
        )

    def _get_issued_document_action(self):
        """The action opening the document this wizard already issued, or
        False: a wizard issues one document. A double click, or a second
        request for the same wizard, opens the invoice already issued instead
        of issuing another one. Called with the wizard's row locked."""
        # the row may have changed since this request read it
        self.invalidate_recordset(["invoice_id"])
        return self.invoice_id and self._get_invoice_action(self.invoice_id)

    @api.model
    def _check_billing_enabled(self, company):
        if not company.consumer_preference_billing:
            raise UserError(
                _(
                    "Billing from preferences is disabled for %(company)s: an "
                    "administrator can enable it in Invoicing > Configuration > "
                    "Settings, Customer Invoices section.",
                    company=company.display_name,
                )
            )

    def _check_partner(self):
        customer = self.partner_id.commercial_partner_id
        if not (self.partner_id.active and customer.active):
            raise UserError(
                _(
                    "%(customer)s is archived: restore the customer before billing it.",
                    customer=self.partner_id.display_name,
                )
            )
        # The customer may have been restricted to another company since its
        # preferences here were recorded: the invoice could not name it (a
        # parent company's customer is a branch's too).
        restricted_to = (
            self.partner_id | customer
        ).company_id - self.company_id.parent_ids
        if restricted_to:
            raise UserError(
                _(
                    "%(customer)s belongs to %(other_company)s only: bill it from "
                    "%(other_company)s, or share the customer with every company "
                    "(empty its Company field) to bill it from %(company)s.",
                    customer=self.partner_id.display_name,
                    other_company=restricted_to[:1].display_name,
                    company=self.company_id.display_name,
                )
            )
        foreign_lines = self.line_ids.filtered(
            lambda line: any(
                preference.partner_id != customer
                or preference.company_id != self.company_id
                for preference in line.preference_id | line.history_id
            )
        )
        if foreign_lines:
            raise UserError(
                _(
                    "These lines are not preferences of %(customer)s in "
                    "%(company)s: %(preferences)s. Remove them and bill each "
                    "customer from its own preferences.",
                    customer=customer.display_name,
                    company=self.company_id.display_name,
                    preferences=", ".join(
                        foreign_lines.preference_id.mapped("display_name")
                    ),
                )
            )

    def _get_lines_to_bill(self):
        """The lines with a quantity, once every quantity and product is valid."""
        digits = self.env["decimal.precision"].precision_get("Product Unit of Measure")
        negative_lines = self.line_ids.filtered(
            lambda line: float_compare(line.quantity, 0, precision_digits=digits) < 0
        )
        if negative_lines:
            raise UserError(
                _(
                    "Quantities cannot be negative (%(products)s): enter a positive "
                    "quantity, or issue a credit note to refund the customer.",
                    products=", ".join(
                        negative_lines.product_id.mapped("display_name")
                    ),
                )
            )
        if too_large_lines := self.line_ids.filtered(
            lambda line: line.quantity > MAX_QUANTITY
        ):
            raise UserError(
                _(
                    "Quantities cannot exceed %(maximum)s (%(products)s): check the "
                    "quantity typed.",
                    maximum=formatLang(self.env, MAX_QUANTITY, digits=0),
                    products=", ".join(
                        too_large_lines.product_id.mapped("display_name")
                    ),
                )
            )
        lines = self.line_ids.filtered(
            lambda line: float_compare(line.quantity, 0, precision_digits=digits) > 0
        )
        if not lines:
            raise UserError(
                _(
                    "Enter a quantity on the lines to bill, or click Fill Suggested "
                    "Quantities."
                )
            )
        # in the wizard's company (a quotation's), whichever the user selected
        self.with_company(self.company_id)._check_products_billable(lines.product_id)
        return lines

    @api.model
    def _check_products_billable(self, products):
        """Archived and unsaleable products, and those another company sells
        only, are not billed: say which, and what to do, for each reason."""
        company = self.env.company
        # sudo: a product restricted to another company is not readable by
        # this user; it is only named among the refused.
        products = products.sudo()
        reasons = [
            (
                products._consumer_preference_sold_elsewhere(company),
                _(
                    "These products are sold by another company only: "
                    "%(products)s. Set their quantity to 0, or share the products "
                    "with %(company)s before billing."
                ),
            ),
            (
                products.filtered(lambda product: not product.active),
                _(
                    "These products are archived: %(products)s. Set their quantity "
                    "to 0, or restore them before billing."
                ),
            ),
            (
                products.filtered(lambda product: not product.sale_ok),
                _(
                    "These products cannot be sold: %(products)s. Set their "
                    "quantity to 0, or tick Sales on the products before billing."
                ),
            ),
        ]
        for refused_products, message in reasons:
            if refused_products:
                raise UserError(
                    message
                    % {
                        "products": ", ".join(refused_products.mapped("display_name")),
                        "company": company.name,
                    }
                )

    def _prepare_invoice_vals(self, lines):
        # Descriptions in the customer's language, as on the invoice it receives.
        lines = lines.with_context(lang=self.partner_id.lang)
        return {
            "move_type": "out_invoice",
            "company_id": self.company_id.id,
            "partner_id": self.partner_id.id,
            "currency_id": self.currency_id.id,
            "fiscal_position_id": self.fiscal_position_id.id,
            # Printed on the invoice (Source): in the customer's language too.
            "invoice_origin": self.with_context(
                lang=self.partner_id.lang
            )._get_invoice_origin(),
            "invoice_line_ids": [
                Command.create(line._prepare_invoice_line_vals()) for line in lines
            ],
        }

    def _get_invoice_origin(self):
        return _(
            "Preferences of %(customer)s",
            customer=self.partner_id.commercial_partner_id.display_name,
        )

    def _get_invoice_action(self, invoice):
        action = self.env["ir.actions.actions"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        action.update(
            {
                "views": [(self.env.ref("account.view_move_form").id, "form")],
                "view_mode": "form",
                "res_id": invoice.id,
                "context": {"default_move_type": "out_invoice"},
            }
        )
        return action
