# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError


class ConsumerPreferenceBill(models.TransientModel):
    """The Bill wizard also sells: it creates a quotation instead of an
    invoice (a choice in the wizard, the company's setting by default), or,
    opened by *Add from Preferences* on a quotation, adds its lines to that
    quotation. The invoice path (``action_bill``) is the main addon's."""

    _inherit = "consumer.preference.bill"

    document_type = fields.Selection(
        selection=[("invoice", "Invoice"), ("quotation", "Quotation")],
        string="Create",
        required=True,
        default=lambda self: self._default_document_type(),
    )
    can_invoice = fields.Boolean(
        default=lambda self: self._can_create_invoices(),
        readonly=True,
        help="The user may create invoices; otherwise the wizard quotes only.",
    )
    sale_order_id = fields.Many2one(
        comodel_name="sale.order",
        string="Add to Quotation",
        readonly=True,
        check_company=True,
        help="The quotation whose Add from Preferences button opened this "
        "wizard: the lines are added to it.",
    )
    # Deleting the quotation empties sale_order_id (a wizard is no reason to
    # keep one, nor to lose the user's quantities without a word): its name
    # says the wizard adds to a quotation, and which one is gone, instead of
    # quoting the customer anew.
    sale_order_name = fields.Char(
        string="Quotation Name",
        compute="_compute_sale_order_name",
        store=True,
        help="The quotation this wizard adds to, by name: kept should the "
        "quotation be deleted while the wizard is open.",
    )
    quotation_id = fields.Many2one(
        comodel_name="sale.order",
        readonly=True,
        check_company=True,
        help="The quotation this wizard created or completed: a wizard quotes once.",
    )
    unavailable_product_note = fields.Text(
        readonly=True,
        help="Preferred products left out because they cannot be sold.",
    )

    @api.depends("sale_order_id")
    def _compute_sale_order_name(self):
        for wizard in self:
            # kept once the quotation is gone (see the field)
            wizard.sale_order_name = wizard.sale_order_id.name or wizard.sale_order_name

    @api.model
    def _default_document_type(self):
        """The company's choice, unless the user may create only one of the
        two documents: salespeople without invoicing rights quote, and
        accountants without sales rights invoice."""
        if self._get_context_sale_order() or not self._can_create_invoices():
            return "quotation"
        if not self.env["sale.order"].has_access("create"):
            return "invoice"
        return self.env.company.consumer_preference_document_type

    @api.model
    def _can_create_invoices(self):
        return self.env["account.move"].has_access("create")

    @api.model
    def _get_context_sale_order(self):
        """The quotation the wizard was opened from, if any."""
        context = self.env.context
        if context.get("active_model") == "sale.order" and context.get("active_id"):
            return self.env["sale.order"].browse(context["active_id"])
        return self.env["sale.order"]

    @api.model
    def default_get(self, fields_list):
        order = self._get_context_sale_order()
        if not order:
            values = super().default_get(fields_list)
            if values.get("partner_id") and self._default_document_type() == (
                "quotation"
            ):
                # the lines offered: the customer's, or those selected (Bill
                # Due Products, Actions › Bill from Preferences)
                values["unavailable_product_note"] = self._get_unavailable_note(
                    self._get_partner_and_preferences()[1]
                )
            return values
        # The order's company decides the preferences, prices and taxes.
        wizard = self.with_company(order.company_id)
        order.check_access("write")
        values = super(ConsumerPreferenceBill, wizard).default_get(fields_list)
        values.update(
            {
                "company_id": order.company_id.id,
                "sale_order_id": order.id,
                "document_type": "quotation",
                "unavailable_product_note": wizard._get_unavailable_note(
                    wizard._get_partner_and_preferences()[1]
                ),
            }
        )
        return values

    @api.model
    def _get_partner_and_preferences(self):
        order = self._get_context_sale_order()
        if order:
            partner = order.partner_id
            return partner, self.env["consumer.preference"].search(
                self._preferences_domain(partner)
            )
        return super()._get_partner_and_preferences()

    @api.model
    def _check_billing_enabled(self, company):
        # Adding lines to a quotation is Sales work: the Billing from
        # Preferences setting governs the customer form's Bill button only.
        # A wizard's own quotation decides, not a context a client may send.
        if self.sale_order_id if self else self._get_context_sale_order():
            return True
        return super()._check_billing_enabled(company)

    @api.model
    def _prepare_line_vals_list(self, preferences):
        """A quotation offers only what can be sold; the wizard says which
        preferred products it left out (``_get_unavailable_note``)."""
        if self._default_document_type() == "quotation":
            sellable_ids = set(self._sellable_products(preferences.product_id).ids)
            preferences = preferences.filtered(
                lambda preference: preference.product_id.id in sellable_ids
            )
        return super()._prepare_line_vals_list(preferences)

    @api.model
    def _sellable_products(self, products):
        """Those of ``products`` a quotation of the current company may
        offer."""
        return products._consumer_preference_quotable(self.env.company)

    @api.model
    def _check_products_billable(self, products):
        """A quotation refuses combos too: the wizard offers them when it
        opens to invoice, and the user may switch to a quotation."""
        result = super()._check_products_billable(products)
        if self.document_type == "quotation":
            combos = products.filtered(lambda product: product.type == "combo")
            if combos:
                raise UserError(
                    _(
                        "Combo products are not quoted from preferences: "
                        "%(products)s. Set their quantity to 0, and add them on "
                        "the quotation, where their items are chosen.",
                        products=", ".join(combos.mapped("display_name")),
                    )
                )
        return result

    @api.model
    def _get_unavailable_note(self, preferences):
        """Which products of ``preferences``, those the wizard offers, it
        leaves out, and why: not those of the customer's other preferences
        (the wizard opened on selected lines), nor those of fully returned
        purchases, which no wizard offers."""
        preferences = preferences.filtered(
            lambda preference: (
                preference.preference_type == "specification"
                or not preference.is_fully_returned
            )
        )
        # sudo: a product restricted to another company is not readable by
        # this user; it is only named among the products left out.
        products = preferences.product_id.with_context(active_test=False).sudo()
        elsewhere = products._consumer_preference_sold_elsewhere(self.env.company)
        archived = (products - elsewhere).filtered(lambda product: not product.active)
        unsellable = (products - elsewhere).filtered(
            lambda product: product.active and not product.sale_ok
        )
        combos = (products - elsewhere).filtered(
            lambda product: (
                product.active and product.sale_ok and product.type == "combo"
            )
        )
        notes = []
        if elsewhere:
            notes.append(
                _(
                    "Products sold by another company only are left out: "
                    "%(products)s. Share them with %(company)s to sell them here.",
                    products=", ".join(elsewhere.mapped("display_name")),
                    company=self.env.company.name,
                )
            )
        if archived:
            notes.append(
                _(
                    "Archived products are left out: %(products)s. Restore them "
                    "to sell them again.",
                    products=", ".join(archived.mapped("display_name")),
                )
            )
        if unsellable:
            notes.append(
                _(
                    "Products that cannot be sold are left out: %(products)s. "
                    "Tick Sales on a product to offer it again.",
                    products=", ".join(unsellable.mapped("display_name")),
                )
            )
        if combos:
            notes.append(
                _(
                    "Combo products are left out: %(products)s. Add them on the "
                    "quotation, where their items are chosen.",
                    products=", ".join(combos.mapped("display_name")),
                )
            )
        return "\n".join(notes) or False

    # The quotation's own pricelist, fiscal position and currency: the prices
    # shown are those its lines will get.
    @api.depends("sale_order_id")
    def _compute_pricelist_id(self):
        order_wizards = self.filtered("sale_order_id")
        for wizard in order_wizards:
            wizard.pricelist_id = wizard.sale_order_id.pricelist_id
        return super(
            ConsumerPreferenceBill, self - order_wizards
        )._compute_pricelist_id()

    @api.depends("sale_order_id")
    def _compute_fiscal_position_id(self):
        order_wizards = self.filtered("sale_order_id")
        for wizard in order_wizards:
            wizard.fiscal_position_id = wizard.sale_order_id.fiscal_position_id
        return super(
            ConsumerPreferenceBill, self - order_wizards
        )._compute_fiscal_position_id()

    @api.depends("sale_order_id")
    def _compute_currency_id(self):
        order_wizards = self.filtered("sale_order_id")
        for wizard in order_wizards:
            wizard.currency_id = wizard.sale_order_id.currency_id
        return super(
            ConsumerPreferenceBill, self - order_wizards
        )._compute_currency_id()

    def _get_pricing_date(self):
        # The date a quotation's lines are priced at (sale.order.line's
        # _get_order_date): the prices shown are those the lines will get.
        if self.sale_order_id:
            return self.sale_order_id.date_order
        return super()._get_pricing_date()

    def _get_payment_term(self):
        # The quotation's own terms, which its totals follow (they may differ
        # from the customer's: an early payment discount given on it only).
        if self.sale_order_id:
            return self.sale_order_id.payment_term_id
        return super()._get_payment_term()

    def _get_income_account_taxes(self, product):
        # A quotation line has its product's taxes only (sale.order.line).
        if self.document_type == "quotation":
            return self.env["account.tax"]
        return super()._get_income_account_taxes(product)

    def action_fill_suggested_quantities(self):
        action = super().action_fill_suggested_quantities()
        if self.document_type == "quotation":
            action["name"] = self._get_quotation_wizard_title()
        return action

    def _get_quotation_wizard_title(self):
        if self.sale_order_id:
            return _("Add from Preferences")
        return _("Quote from Preferences")

    def action_bill(self):
        """With Quotation chosen, or opened from a quotation, quote instead
        of billing."""
        self.ensure_one()
        if (
            self.document_type == "quotation"
            or self.sale_order_id
            or self.sale_order_name
        ):
            return self.action_quote()
        return super().action_bill()

    def action_quote(self):
        """Create one quotation with the lines that have a quantity, or add
        them to the quotation the wizard was opened from, and open it."""
        self.ensure_one()
        if not self.env["sale.order"].has_access("create"):
            raise AccessError(
                _(
                    "You are not allowed to create quotations: ask your "
                    "administrator for Sales rights to quote customers from "
                    "their preferences."
                )
            )
        self._lock_for_billing()
        issued_action = self._get_issued_document_action()
        if issued_action:
            return issued_action
        # the quotation may have been deleted since this request read it
        self.invalidate_recordset(["sale_order_id"])
        if self.sale_order_id or self.sale_order_name:
            self._check_order_open()
        else:
            self._check_billing_enabled(self.company_id)
        self._check_partner()
        lines = self._get_lines_to_bill()
        if not self.sale_order_id:
            self._check_may_quote_the_customer()
        try:
            # Nothing must survive a failure, even when the caller catches it.
            with self.env.cr.savepoint():
                order = self.sale_order_id or self.env["sale.order"].create(
                    self._prepare_quotation_vals()
                )
                self.env["sale.order.line"].create(
                    self._prepare_order_line_vals_list(order, lines)
                )
                order._message_log(
                    body=_(
                        "Products added from the consumer preferences of %(customer)s.",
                        customer=self.partner_id.commercial_partner_id.display_name,
                    )
                )
                self.quotation_id = order
        except AccessError:
            raise
        except UserError as error:
            raise UserError(
                _(
                    "Nothing was quoted to %(customer)s:\n%(reason)s\n"
                    "Fix this problem and try again.",
                    customer=self.partner_id.display_name,
                    reason=error.args[0],
                )
            ) from error
        return self._get_quotation_action(order)

    def _check_may_quote_the_customer(self):
        """A new quotation is its customer's salesperson's (sale.order's
        own compute, as in Sales), which a salesperson limited to own
        documents may not create for another salesperson's customer (Odoo's
        record rule): say whose customer it is and whom to ask, rather than
        Odoo's access error."""
        salesperson = self.env["sale.order"].new(self._prepare_quotation_vals()).user_id
        if (
            salesperson
            and salesperson != self.env.user
            and not self.env.user.has_group("sales_team.group_sale_salesman_all_leads")
        ):
            raise UserError(
                _(
                    "%(customer)s is %(salesperson)s's customer, whose quotations "
                    "are %(salesperson)s's: ask %(salesperson)s or a sales "
                    "manager to quote it, or to make you its salesperson.",
                    customer=self.partner_id.display_name,
                    salesperson=salesperson.name,
                )
            )

    def _get_issued_document_action(self):
        """A wizard that quoted issues no invoice, and one that invoiced no
        quotation, whichever document is asked for next."""
        self.invalidate_recordset(["quotation_id"])
        if self.quotation_id:
            return self._get_quotation_action(self.quotation_id)
        return super()._get_issued_document_action()

    def _check_order_open(self):
        order = self.sale_order_id
        if not order:
            # deleted while the wizard was open (the field then emptied)
            raise UserError(
                _(
                    "The quotation %(order)s was deleted after this window "
                    "opened: nothing was added. Close this window, and add "
                    "products from preferences to another quotation.",
                    order=self.sale_order_name,
                )
            )
        if order.state not in ("draft", "sent"):
            raise UserError(
                _(
                    "%(order)s is no longer a quotation: add products from "
                    "preferences to quotations only.",
                    order=order.name,
                )
            )
        if order.company_id != self.company_id:
            raise UserError(
                _(
                    "%(order)s belongs to %(company)s: open it in that company "
                    "to add products from preferences.",
                    order=order.name,
                    company=order.company_id.display_name,
                )
            )
        # The order's customer may have changed since the wizard was opened
        # (another tab, a colleague): its lines are another customer's.
        customer = order.partner_id.commercial_partner_id
        if customer != self.partner_id.commercial_partner_id:
            raise UserError(
                _(
                    "%(order)s is now a quotation of %(customer)s: click Add "
                    "from Preferences on it again to add the preferences of "
                    "its customer.",
                    order=order.name,
                    customer=customer.display_name,
                )
            )

    def _prepare_quotation_vals(self):
        """A quotation: the customer's pricelist, fiscal position, salesperson
        and terms come from sale.order's own computes."""
        return {
            "company_id": self.company_id.id,
            "partner_id": self.partner_id.id,
            "origin": self._get_invoice_origin(),
        }

    def _prepare_order_line_vals_list(self, order, lines):
        """One order line per wizard line, after the order's last line (its
        sections and notes included)."""
        last_sequence = max(order.order_line.mapped("sequence"), default=0)
        return [
            dict(
                line._prepare_sale_order_line_vals(),
                order_id=order.id,
                sequence=sequence,
            )
            for sequence, line in enumerate(lines, start=last_sequence + 1)
        ]

    def _get_quotation_action(self, order):
        return {
            "type": "ir.actions.act_window",
            "name": _("Quotation"),
            "res_model": "sale.order",
            "res_id": order.id,
            "view_mode": "form",
            "views": [(self.env.ref("sale.view_order_form").id, "form")],
            "target": "current",
        }
