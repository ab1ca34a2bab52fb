# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import Command, _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.osv import expression
from odoo.tools import SQL, float_is_zero

from .consumer_preference_statistics import HISTORY_MOVE_TYPES, STATISTICS_FIELDS

# How many history lines an error refusing to change them names.
HISTORY_LINES_NAMED = 5
# Stored fields computed from the product and its values, never written as
# given (_drop_derived_values).
DERIVED_FIELDS = ("product_tmpl_id", "product_category_id", "attribute_value_key")


class ConsumerPreference(models.Model):
    """A product a customer prefers, with the characteristic values preferred.

    Specification lines are entered by hand. History lines are written only by
    ``consumer.preference.history`` from posted customer invoices: the ORM refuses
    any manual create, write or unlink on them.
    """

    _name = "consumer.preference"
    _description = "Consumer Preference"
    _order = "partner_id, preference_type desc, sequence, id"
    _rec_name = "product_id"
    # Makes the check_company=True fields below real: a line of one company
    # never points to another company's customer or product.
    _check_company_auto = True

    _sql_constraints = [
        (
            "unique_preference",
            "unique(company_id, partner_id, product_id, attribute_value_key, "
            "preference_type)",
            "This customer already has this product with these characteristic values "
            "in its preferences: edit the existing line instead.",
        ),
    ]

    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    preference_type = fields.Selection(
        selection=[("specification", "Specification"), ("history", "History")],
        string="Type",
        required=True,
        default="specification",
        readonly=True,
        index=True,
        help="Specification: entered by hand. "
        "History: recorded from the customer's posted invoices.",
    )
    partner_id = fields.Many2one(
        comodel_name="res.partner",
        string="Customer",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    company_id = fields.Many2one(
        comodel_name="res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    # restrict: when a template's attributes change, Odoo then archives the
    # variants that preferences still name instead of deleting them, and the
    # preferences stay (product.product._unlink_or_archive).
    product_id = fields.Many2one(
        comodel_name="product.product",
        required=True,
        index=True,
        ondelete="restrict",
        check_company=True,
    )
    product_tmpl_id = fields.Many2one(
        related="product_id.product_tmpl_id",
        string="Product Template",
        store=True,
        index=True,
    )
    product_category_id = fields.Many2one(
        related="product_id.categ_id",
        string="Product Category",
        store=True,
    )
    allowed_attribute_value_ids = fields.Many2many(
        comodel_name="product.attribute.value",
        compute="_compute_allowed_attribute_value_ids",
        help="Values of the attributes configured on the product's template.",
    )
    attribute_value_ids = fields.Many2many(
        comodel_name="product.attribute.value",
        relation="consumer_preference_attribute_value_rel",
        column1="preference_id",
        column2="value_id",
        string="Characteristics",
        # Archived values stay on the lines, shown (tags, display name) as
        # they count in the key: a value a line names is archived, not deleted
        # (product.attribute.value.unlink in this module).
        context={"active_test": False},
        compute="_compute_attribute_value_ids",
        store=True,
        readonly=False,
        precompute=True,
        domain="[('id', 'in', allowed_attribute_value_ids)]",
    )
    attribute_value_key = fields.Char(
        compute="_compute_attribute_value_key",
        store=True,
        required=True,
        precompute=True,
        help="Sorted ids of the characteristic values: part of the uniqueness key.",
    )
    note = fields.Char()

    # Statistics of history lines, written by consumer.preference.history
    currency_id = fields.Many2one(related="company_id.currency_id")
    uom_id = fields.Many2one(related="product_id.uom_id", string="Unit")
    invoice_count = fields.Integer(string="Invoices", readonly=True)
    refund_count = fields.Integer(string="Returns", readonly=True)
    quantity = fields.Float(
        string="Net Quantity", digits="Product Unit of Measure", readonly=True
    )
    amount = fields.Monetary(string="Net Amount", readonly=True)
    first_invoice_date = fields.Date(readonly=True)
    last_invoice_date = fields.Date(readonly=True)
    last_price_unit = fields.Monetary(string="Last Unit Price", readonly=True)
    # Which line the last unit price comes from: a newly posted invoice
    # replaces it only when it comes later (by invoice date, then line).
    last_invoice_line_id = fields.Integer(readonly=True, copy=False)
    purchase_count = fields.Integer(
        string="Purchases",
        readonly=True,
        help="Days the customer was invoiced the product: invoices of one day "
        "are one purchase, and an invoice its reversal credit notes credit in "
        "full (Reverse, or Reverse and Create Invoice) is none.",
    )
    first_purchase_date = fields.Date(readonly=True)
    last_purchase_date = fields.Date(readonly=True)
    average_quantity = fields.Float(
        digits="Product Unit of Measure",
        readonly=True,
        help="Net quantity per purchase.",
    )
    next_expected_date = fields.Date(
        string="Next Expected",
        readonly=True,
        help="Last purchase date plus the average interval between purchases.",
    )
    invoice_line_count = fields.Integer(
        string="Invoice Lines",
        compute="_compute_invoice_line_count",
        groups="account.group_account_invoice,account.group_account_readonly",
        help="The posted invoice and credit note lines this history line adds up.",
    )
    is_fully_returned = fields.Boolean(
        compute="_compute_is_fully_returned",
        search="_search_is_fully_returned",
        help="A history line whose net quantity is zero or less: everything "
        "invoiced was returned. Kept as it happened, but left out of reorder "
        "suggestions and billing.",
    )
    is_due_for_reorder = fields.Boolean(
        string="Due for Reorder",
        compute="_compute_is_due_for_reorder",
        search="_search_is_due_for_reorder",
        help="A history line expected before today, within its company's "
        "window (Due for Reorder Within), of a customer who consents, that the "
        "customer did not fully return, and whose product its company still "
        "sells: what the profile counts as due.",
    )
    is_specified_and_bought = fields.Boolean(
        string="Specified and Bought",
        compute="_compute_is_specified_and_bought",
        search="_search_is_specified_and_bought",
        help="A specification the customer bought, or a purchase the customer "
        "specified: the customer has a line of the other type for the same "
        "product in the same company.",
    )

    @api.depends("preference_type", "invoice_count", "refund_count")
    def _compute_invoice_line_count(self):
        AccountMoveLine = self.env["account.move.line"]
        for preference in self:
            preference.invoice_line_count = (
                AccountMoveLine.search_count(preference._invoice_lines_domain())
                if preference._origin.id and preference.preference_type == "history"
                else 0
            )

    def _invoice_lines_domain(self):
        """The invoice lines behind a history line, as the history service
        selects them: the posted product lines of this product on the customer
        invoices and credit notes of this company whose commercial partner is
        the line's customer."""
        self.ensure_one()
        return [
            ("company_id", "=", self.company_id.id),
            ("partner_id", "=", self.partner_id.id),
            ("move_id.commercial_partner_id", "=", self.partner_id.id),
            ("product_id", "=", self.product_id.id),
            ("display_type", "=", "product"),
            ("parent_state", "=", "posted"),
            ("move_id.move_type", "in", list(HISTORY_MOVE_TYPES)),
        ]

    def action_view_invoice_lines(self):
        """The posted invoice and credit note lines a history line adds up."""
        self.ensure_one()
        if self.preference_type != "history":
            raise UserError(
                _("Only history lines come from invoices: open a history line.")
            )
        return {
            "type": "ir.actions.act_window",
            "name": _("Invoice Lines: %(preference)s", preference=self.display_name),
            "res_model": "account.move.line",
            "view_mode": "list,form",
            "views": [
                (
                    self.env.ref(
                        "consumer_preferences.account_move_line_view_list_consumer_preference"
                    ).id,
                    "list",
                ),
                (False, "form"),
            ],
            "domain": self._invoice_lines_domain(),
            "context": {"create": False, "edit": False},
        }

    @api.depends("preference_type", "quantity")
    def _compute_is_fully_returned(self):
        digits = self._quantity_digits()
        for preference in self:
            preference.is_fully_returned = preference.preference_type == "history" and (
                preference.quantity < 0
                or float_is_zero(preference.quantity, precision_digits=digits)
            )

    def _search_is_fully_returned(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(
                _("Filter on “Fully Returned” with “is set” or “is not set”.")
            )
        # Quantities are summed by SQL: a net zero may carry a rounding residue.
        threshold = 0.5 * 10 ** -self._quantity_digits()
        if (operator == "=") == value:
            return [("preference_type", "=", "history"), ("quantity", "<", threshold)]
        return [
            "|",
            ("preference_type", "!=", "history"),
            ("quantity", ">=", threshold),
        ]

    @api.model
    def _quantity_digits(self):
        return self.env["decimal.precision"].precision_get("Product Unit of Measure")

    @api.depends_context("uid")
    @api.depends(
        "preference_type",
        "next_expected_date",
        "quantity",
        "company_id",
        "company_id.consumer_preference_due_days",
        "partner_id.consumer_preference_consent",
        "product_id.active",
        "product_id.sale_ok",
        "product_id.company_id",
    )
    def _compute_is_due_for_reorder(self):
        Profile = self.env["consumer.preference.profile"]
        due_ids = set()
        for company in self.company_id:
            lines = self.filtered(
                lambda line, company=company: line.company_id == company
            )
            # sudo: the line is readable, its product may not be (restricted
            # since to a company the user has not selected: not due then)
            due_ids.update(
                lines.sudo()
                .filtered_domain(
                    [
                        ("partner_id.consumer_preference_consent", "=", True),
                        *Profile._due_domain(company),
                    ]
                )
                .ids
            )
        for preference in self:
            preference.is_due_for_reorder = preference.id in due_ids

    def _search_is_due_for_reorder(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(
                _("Filter on “Due for Reorder” with “is set” or “is not set”.")
            )
        # Each line is due by its own company's products: one branch per
        # company the user works in (the lines of the others are not read).
        Profile = self.env["consumer.preference.profile"]
        domain = expression.AND(
            [
                [("partner_id.consumer_preference_consent", "=", True)],
                expression.OR(
                    [
                        [("company_id", "=", company.id), *Profile._due_domain(company)]
                        for company in self.env.companies
                    ]
                ),
            ]
        )
        if (operator == "=") == value:
            return domain
        # not ["!", ...]: negated, "expected before today" would leave out
        # the lines with no expected date (bought once), which are not due.
        # Nor ("id", "not in", ...): PostgreSQL checks a "not in" against a
        # list too long to hash by reading it again for each line.
        return [
            (
                "id",
                "in",
                SQL(
                    "(SELECT preference.id FROM consumer_preference preference "
                    "WHERE NOT EXISTS (SELECT FROM (%s) due "
                    "WHERE due.id = preference.id))",
                    self._search(domain).subselect(),
                ),
            )
        ]

    @api.depends("company_id", "partner_id", "product_id", "preference_type")
    def _compute_is_specified_and_bought(self):
        matched = (
            self._origin.with_context(active_test=False)
            .search(
                [
                    ("id", "in", self._origin.ids),
                    ("is_specified_and_bought", "=", True),
                ]
            )
            .ids
        )
        for preference in self:
            preference.is_specified_and_bought = preference._origin.id in matched

    def _search_is_specified_and_bought(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(
                _("Filter on “Specified and Bought” with “is set” or “is not set”.")
            )
        # The subquery reads these columns directly: write pending changes first.
        self.flush_model(
            ["company_id", "partner_id", "product_id", "preference_type", "active"]
        )
        # One subquery, not a loop over lines: archived specifications no
        # longer count as specified. The lines without a counterpart are
        # selected as such, not as "id not in" the others: PostgreSQL checks
        # a "not in" against a list it cannot hash (hundreds of thousands of
        # lines) by reading it again for each line, more than a minute for
        # 375,000 lines.
        positive = (operator == "=") == value
        matched_ids = SQL(
            """(
            SELECT preference.id
              FROM consumer_preference preference
             WHERE %s (
                    SELECT 1
                      FROM consumer_preference counterpart
                     WHERE counterpart.company_id = preference.company_id
                       AND counterpart.partner_id = preference.partner_id
                       AND counterpart.product_id = preference.product_id
                       AND counterpart.preference_type != preference.preference_type
                       AND counterpart.active
                   )
            )""",
            SQL("EXISTS") if positive else SQL("NOT EXISTS"),
        )
        return [("id", "in", matched_ids)]

    @api.depends("product_id", "attribute_value_ids")
    def _compute_allowed_attribute_value_ids(self):
        """The values the dropdown offers: those configured on the product,
        except the values that would contradict the chosen variant (Size L on
        "Shirt (S)") or a value already chosen (a second Quality)."""
        for preference in self:
            variant_values = preference._variant_attribute_values()
            # _origin: in the form, the values chosen are new records.
            fixed_values = (variant_values | preference.attribute_value_ids)._origin
            preference.allowed_attribute_value_ids = (
                preference.product_tmpl_id.attribute_line_ids.value_ids.filtered(
                    lambda value, fixed_values=fixed_values: (
                        value in fixed_values
                        or value.attribute_id not in fixed_values.attribute_id
                    )
                )
            )

    def _variant_attribute_values(self):
        """The values that make the chosen variant (Size: S for "Shirt (S)");
        values of attributes that create no variant are free."""
        self.ensure_one()
        variant = self.product_id
        return variant.product_template_attribute_value_ids.product_attribute_value_id

    def _get_no_variant_attribute_values(self):
        """The product's ``product.template.attribute.value`` records of this
        line's values whose attribute creates no variant (Quality: 8 on a
        shirt sold in any quality): what a sales order line keeps in
        ``product_no_variant_attribute_value_ids``, and whose price extras
        Odoo adds to the variant's price."""
        self.ensure_one()
        no_variant_values = self.attribute_value_ids.filtered(
            lambda value: value.attribute_id.create_variant == "no_variant"
        )
        if not no_variant_values:
            return self.env["product.template.attribute.value"]
        template_values = (
            self.product_tmpl_id.attribute_line_ids.product_template_value_ids
        )
        return template_values.filtered(
            lambda value: value.product_attribute_value_id in no_variant_values
        )

    def _get_no_variant_price_extra(self):
        """The price extras of this line's values that make no variant
        (Quality: 8 on a shirt sold in any quality), in the company's
        currency."""
        self.ensure_one()
        if not self.attribute_value_ids:
            return 0.0
        return self.product_id._get_no_variant_attributes_price_extra(
            self._get_no_variant_attribute_values()
        )

    @api.model
    def _get_sale_fiscal_position(self, partner, company):
        """The fiscal position of a sale to ``partner`` in ``company``, as
        account.move and sale.order decide it: from the partner's delivery
        address, where the goods go (a customer shipped abroad gets the
        export position and its taxes)."""
        delivery = partner.browse(partner.address_get(["delivery"])["delivery"])
        return (
            self.env["account.fiscal.position"]
            .with_company(company)
            ._get_fiscal_position(partner, delivery=delivery)
        )

    def _get_sale_unit_prices(
        self, pricelist, currency, fiscal_position, company, quantity=1.0, date=None
    ):
        """``{preference: unit price}``: the price rule of everything sold
        from preferences (the Bill wizard's lines, the customer portal's
        prices). The untaxed price of ``quantity`` of each line's product in
        ``company``: the price of ``pricelist`` (or the product's sales price
        without one), with the price extras of the line's values that make no
        variant (as on a quotation of the product with these values), adapted
        from the product's taxes to those ``fiscal_position`` maps them to and
        converted to ``currency``. ``date`` (now by default) picks the
        pricelist rules and the currency rate. Pricelist rules are fetched
        once per price extra, not once per line."""
        prices = {}
        for price_extra, preferences in self.grouped(
            lambda preference: preference._get_no_variant_price_extra()
        ).items():
            # The context Odoo's sales order line prices its product with
            # (product.product._get_product_price_context).
            products = preferences.product_id.with_company(company).with_context(
                no_variant_attributes_price_extra=price_extra
            )
            if pricelist:
                product_prices = pricelist._get_products_price(
                    products, quantity, currency=currency, date=date
                )
            else:
                product_prices = {
                    product.id: product.lst_price + price_extra for product in products
                }
            for preference in preferences:
                product = preference.product_id.with_company(company)
                price = product_prices[product.id]
                product_currency = currency if pricelist else product.currency_id
                # Without taxes to map nor currency to convert, Odoo's helper
                # returns the price as it is: call it only when it has work to
                # do (it costs a few ms per line).
                if fiscal_position or product_currency != currency:
                    # The taxes of the company, or of its parent company, as
                    # the line gets them (sale.order.line._reset_price_unit).
                    price = product._get_tax_included_unit_price(
                        company,
                        currency,
                        date or fields.Date.context_today(self),
                        "sale",
                        product_currency=product_currency,
                        product_price_unit=price,
                        product_taxes=product.taxes_id._filter_taxes_by_company(
                            company
                        ),
                        fiscal_position=fiscal_position,
                    )
                prices[preference] = price
        return prices

    @api.depends("product_id")
    def _compute_attribute_value_ids(self):
        """Start from the values of the chosen variant; the user may change them."""
        for preference in self:
            variant_values = preference.product_id.product_template_attribute_value_ids
            preference.attribute_value_ids = variant_values.product_attribute_value_id

    @api.depends("attribute_value_ids")
    def _compute_attribute_value_key(self):
        for preference in self:
            preference.attribute_value_key = self._attribute_value_key(
                preference.attribute_value_ids.ids
            )

    @api.model
    def _attribute_value_key(self, value_ids):
        """The uniqueness key of a set of values; SQL in the history service
        builds the same string with ``string_agg(id::text, ',' ORDER BY id)``."""
        return ",".join(str(value_id) for value_id in sorted(value_ids))

    @api.depends("product_id", "attribute_value_ids")
    def _compute_display_name(self):
        for preference in self:
            # In the values' order (as stored lines read them), also on a
            # line being saved, whose values come in the order chosen.
            values = ", ".join(
                f"{value.attribute_id.name}: {value.name}"
                for value in preference.attribute_value_ids.sorted(
                    lambda value: (
                        value.attribute_id.sequence,
                        value.attribute_id.id,
                        value.sequence,
                        value.id,
                    )
                )
            )
            name = preference.product_id.display_name or ""
            preference.display_name = f"{name} ({values})" if values else name

    @api.constrains("product_id", "attribute_value_ids")
    def _check_attribute_values(self):
        for preference in self:
            variant_values = preference._variant_attribute_values()
            # The variant's own values stay, even once they left the template
            # (the variant is then archived, and its lines kept).
            foreign_values = (
                preference.attribute_value_ids
                - preference.product_tmpl_id.attribute_line_ids.value_ids
                - variant_values
            )
            if foreign_values:
                raise ValidationError(
                    _(
                        "%(values)s cannot be chosen for %(product)s: choose values "
                        "of the characteristics configured on this product.",
                        values=", ".join(foreign_values.mapped("display_name")),
                        product=preference.product_id.display_name,
                    )
                )
            contradicting_values = preference.attribute_value_ids.filtered(
                lambda value, variant_values=variant_values: (
                    value.attribute_id in variant_values.attribute_id
                    and value not in variant_values
                )
            )
            if contradicting_values:
                raise ValidationError(
                    _(
                        "%(values)s contradicts the chosen variant %(product)s: "
                        "choose the variant with these values, or the values of "
                        "this variant.",
                        values=", ".join(contradicting_values.mapped("display_name")),
                        product=preference.product_id.display_name,
                    )
                )
            attributes = preference.attribute_value_ids.attribute_id
            if len(attributes) != len(preference.attribute_value_ids):
                raise ValidationError(
                    _(
                        "Choose at most one value per characteristic on %(product)s.",
                        product=preference.product_id.display_name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        # The type a line would get without a value: a context default
        # (default_preference_type) or an ir.default counts as much as a value.
        default_type = self.default_get(["preference_type"]).get("preference_type")
        for vals in vals_list:
            if vals.get("preference_type", default_type) != "specification":
                raise UserError(
                    _(
                        "History preferences are recorded from posted invoices "
                        "and cannot be created by hand."
                    )
                )
            self._normalize_partner(vals)
            self._drop_derived_values(vals)
        self._check_no_statistics(vals_list)
        company_id = self.default_get(["company_id"]).get("company_id")
        # Odoo checks the company rule once the lines are written: a line in
        # a company the user does not work in is refused before, since the
        # uniqueness check below (and the database's constraint) would tell
        # what that company's customers have.
        companies = {vals.get("company_id", company_id) for vals in vals_list}
        companies -= {False, None}
        if not self.env.su and not companies <= set(self.env.companies.ids):
            raise AccessError(
                _("You can only add preferences in the companies you work in.")
            )
        self._check_unique_preference(
            [
                self.new(
                    {"company_id": company_id, "preference_type": default_type, **vals}
                )
                for vals in vals_list
            ]
        )
        return super().create(vals_list)

    def write(self, vals):
        self._check_specification_only()
        if vals.get("preference_type", "specification") != "specification":
            raise UserError(_("A preference cannot be turned into history by hand."))
        self._normalize_partner(vals)
        vals = self._drop_derived_values(dict(vals))
        self._check_no_statistics([vals])
        result = super().write(vals)
        if "company_id" in vals:
            # Odoo checks the company rule on the lines as they were: moving
            # a line into a company is writing in that company, which must
            # be one of the user's (checked before the uniqueness below,
            # which would tell what that company's customer has).
            self.check_access("write")
        # Before the new values reach the database (at the next flush), where
        # the unique constraint would refuse them with an error in the log.
        if {"company_id", "partner_id", "product_id", "attribute_value_ids"} & set(
            vals
        ):
            self._check_unique_preference(list(self))
        return result

    @api.model
    def _add_specification(self, partner, company, product, values, any_values=False):
        """Keep ``product`` with ``values`` as a specification of the
        customer ``partner`` in ``company``, as a click does once (the
        portal's heart on a purchase, a suggestion's Specify); restore one
        archived; with ``any_values``, an active specification of the product
        with other values is enough. Return the specification: one a
        concurrent submission committed is not visible to this transaction
        (only its id is to be used).

        The same form submitted twice at the same moment (a double click):
        the first submission holds the favourite's key until its transaction
        ends, the second waits for it, then looks in a new transaction. Its
        own snapshot may predate the first's commit: it would not see that
        favourite and would create a second one, which the unique constraint
        refuses with an error page."""
        if any_values:
            specified = self.search(
                [
                    ("company_id", "=", company.id),
                    ("partner_id", "=", partner.id),
                    ("preference_type", "=", "specification"),
                    ("product_id", "=", product.id),
                ],
                limit=1,
            )
            if specified:
                return specified
        value_key = self._attribute_value_key(values.ids)
        self.env.cr.execute(
            SQL(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                f"consumer_preference_favourite:{company.id},{partner.id},"
                f"{product.id},{value_key}",
            )
        )
        domain = [
            ("company_id", "=", company.id),
            ("partner_id", "=", partner.id),
            ("preference_type", "=", "specification"),
            ("product_id", "=", product.id),
            ("attribute_value_key", "=", value_key),
        ]
        # archived ones too: a favourite a salesperson archived is restored,
        # as the customer asks for it again (a second one is refused)
        Preference = self.with_context(active_test=False)
        favourite = Preference.search(domain, limit=1)
        if favourite:
            if not favourite.active:
                favourite.active = True
            return favourite
        with self.env.registry.cursor() as cr:
            committed = Preference.with_env(self.env(cr=cr)).search(domain, limit=1)
            if committed:
                return self.browse(committed.id)
        return self.create(
            {
                "partner_id": partner.id,
                "company_id": company.id,
                "product_id": product.id,
                "attribute_value_ids": [Command.set(values.ids)],
            }
        )

    def _give_to_customer(self, customer, move=True):
        """Give these specifications to ``customer`` (a commercial partner),
        merging each into an identical one it has, or that another of them
        brings (same company, product and characteristic values): both
        notes, active when either is. Without ``move``, only merge them
        among themselves (a merge's record about to become ``customer``:
        Odoo repoints them). Returns the specifications left. A partner
        merged into another, or made a contact of a company: a company and
        its contacts share one profile."""
        if not self:
            return self
        self._check_customer_company(customer)
        existing = {}
        if move:
            existing = {
                specification._merge_key(): specification
                for specification in self.with_context(active_test=False).search(
                    [
                        ("partner_id", "=", customer.id),
                        ("preference_type", "=", "specification"),
                        ("id", "not in", self.ids),
                    ]
                )
            }
        duplicates = self.browse()
        for specification in self:
            kept = existing.setdefault(specification._merge_key(), specification)
            if kept != specification:
                duplicates |= specification
                kept.write(kept._merge_vals(specification))
        duplicates.unlink()
        left = self - duplicates
        if move:
            left.write({"partner_id": customer.id})
        return left

    def _check_customer_company(self, customer):
        """Refuse to give these specifications to ``customer`` when it
        belongs to a company they cannot name it in (not theirs, nor a
        parent of theirs): say which and what to do, rather than Odoo's
        list of incompatible records."""
        customer_company = customer.company_id
        foreign = self.filtered(
            lambda specification: (
                customer_company
                and customer_company not in specification.company_id.parent_ids
            )
        )
        if foreign:
            # Read as superuser by the callers, in every company: only the
            # companies are named, not what the user may not read there.
            raise UserError(
                _(
                    "%(customer)s belongs to %(company)s only, and specifications "
                    "of %(partners)s are recorded in %(companies)s (%(count)s), "
                    "which it cannot have: share %(customer)s with every company "
                    "(empty its Company field), or have those specifications "
                    "deleted in %(companies)s, first.",
                    customer=customer.display_name,
                    company=customer_company.display_name,
                    partners=", ".join(foreign.partner_id.mapped("name")),
                    count=len(foreign),
                    companies=", ".join(foreign.company_id.mapped("display_name")),
                )
            )
        return True

    def _merge_key(self):
        """What makes two specifications identical: the unique constraint's
        key, the customer aside."""
        self.ensure_one()
        return (self.company_id.id, self.product_id.id, self.attribute_value_key)

    def _merge_vals(self, duplicate):
        """The values of this specification once ``duplicate`` is merged
        into it: both notes, and active when either is."""
        self.ensure_one()
        notes = [note for note in (self.note, duplicate.note) if note]
        return {
            "note": " / ".join(dict.fromkeys(notes)) or False,
            "active": self.active or duplicate.active,
        }

    @api.model
    def _check_no_statistics(self, vals_list):
        """Refuse purchase figures given by hand (a client writes read-only
        fields as it likes): they count posted invoices. A copied
        specification carries its empty ones."""
        if any(vals.get(name) for vals in vals_list for name in STATISTICS_FIELDS):
            raise UserError(
                _(
                    "Purchase figures (invoices, quantities, amounts, dates) are "
                    "recorded from posted invoices and cannot be set by hand."
                )
            )

    @api.model
    def _check_unique_preference(self, preferences):
        """Refuse ``preferences`` (records, possibly new) that repeat another
        line's customer, product, values and type, with the message of the
        unique constraint. Checked before the database sees them, so that the
        user gets the message and the server log no SQL error; the constraint
        stays the rule (concurrent requests)."""
        keyed = [
            (
                (
                    preference.company_id.id,
                    preference.partner_id.commercial_partner_id.id,
                    preference.product_id.id,
                    preference.attribute_value_key or "",
                    preference.preference_type,
                ),
                preference,
            )
            for preference in preferences
        ]
        keyed = [(key, preference) for key, preference in keyed if all(key[:3])]
        if not keyed:
            return
        # The line the message names: the second of a batch repeating a key,
        # or else the first whose key a saved line has.
        by_key = {}
        duplicate = None
        # An archived line keeps its key, but the tab no longer shows it.
        archived = False
        for key, preference in keyed:
            if key in by_key:
                duplicate = preference
                break
            by_key[key] = preference
        if duplicate is None:
            # Plain SQL, without flushing: the pending values of
            # ``preferences`` must not reach the database before the check.
            saved_ids = [preference.id for preference in preferences if preference.id]
            self.env.cr.execute(
                SQL(
                    """
                    SELECT preference.company_id, preference.partner_id,
                           preference.product_id, preference.attribute_value_key,
                           preference.preference_type, NOT preference.active
                      FROM consumer_preference preference
                      JOIN (VALUES %(keys)s) AS key(company_id, partner_id,
                           product_id, attribute_value_key, preference_type)
                        ON key.company_id = preference.company_id
                       AND key.partner_id = preference.partner_id
                       AND key.product_id = preference.product_id
                       AND key.attribute_value_key = preference.attribute_value_key
                       AND key.preference_type = preference.preference_type
                     WHERE preference.id != ALL(%(saved_ids)s)
                     LIMIT 1
                    """,
                    keys=SQL(", ").join(SQL("%s", key) for key in by_key),
                    saved_ids=saved_ids,
                )
            )
            row = self.env.cr.fetchone()
            if row:
                duplicate, archived = by_key[tuple(row[:5])], row[5]
        if duplicate and archived:
            raise ValidationError(
                _(
                    "%(customer)s already has this product with these "
                    "characteristic values in its archived preferences: "
                    "%(preference)s. Restore the archived line instead (filter "
                    "Archived in the list of the Preferences button).",
                    customer=duplicate.partner_id.commercial_partner_id.display_name,
                    preference=duplicate.display_name,
                )
            )
        if duplicate:
            raise ValidationError(
                _(
                    "%(customer)s already has this product with these "
                    "characteristic values in its preferences: %(preference)s. "
                    "Edit the existing line instead.",
                    customer=duplicate.partner_id.commercial_partner_id.display_name,
                    preference=duplicate.display_name,
                )
            )

    def unlink(self):
        self._check_specification_only()
        return super().unlink()

    def _check_specification_only(self):
        histories = self.filtered(
            lambda preference: preference.preference_type == "history"
        )
        if histories:
            # Which of the lines selected in a list: the first few, then how
            # many more.
            shown = histories[:HISTORY_LINES_NAMED]
            names = ", ".join(
                f"{preference.partner_id.display_name}: {preference.display_name}"
                for preference in shown
            )
            if len(histories) > len(shown):
                names = _(
                    "%(products)s and %(count)s more",
                    products=names,
                    count=len(histories) - len(shown),
                )
            raise UserError(
                _(
                    "History preferences follow the customer's posted invoices and "
                    "cannot be changed by hand (%(preferences)s): reset or cancel "
                    "the invoice instead.",
                    preferences=names,
                )
            )

    @api.model
    def _drop_derived_values(self, vals):
        """Drop from ``vals`` what follows the product and its values (its
        template and category, the values' key), which a client writes as it
        likes: stored as given, a line would name one product and price or
        check its values as another, or repeat another line's product and
        values under another key. Returns ``vals``."""
        for name in DERIVED_FIELDS:
            vals.pop(name, None)
        return vals

    def _normalize_partner(self, vals):
        """Preferences belong to the commercial partner: a company and its
        contacts share one profile."""
        if vals.get("partner_id"):
            partner = self.env["res.partner"].browse(vals["partner_id"])
            vals["partner_id"] = partner.commercial_partner_id.id
