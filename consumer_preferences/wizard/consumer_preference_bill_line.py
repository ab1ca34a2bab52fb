# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import api, fields, models
from odoo.tools import float_compare, float_round

# More than any quantity billed on one line: far larger ones overflow the
# line's amounts (1e306 at any price: a server error as the quantity is
# typed) or leave an entry Odoo finds unbalanced (1e300). Refused at Bill,
# and by the customer portal's Reorder form.
MAX_QUANTITY = 1e9


class ConsumerPreferenceBillLine(models.TransientModel):
    _name = "consumer.preference.bill.line"
    _description = "Bill from Consumer Preferences: Line"
    _order = "sequence, id"

    wizard_id = fields.Many2one(
        comodel_name="consumer.preference.bill",
        required=True,
        index=True,
        ondelete="cascade",
    )
    sequence = fields.Integer(default=10)
    preference_id = fields.Many2one(
        comodel_name="consumer.preference",
        required=True,
        ondelete="cascade",
    )
    # The line of the purchase history of this product and values, if any:
    # the preference itself, or the one its specification names. Should it
    # be erased while the wizard is open, a specification's row stays, and
    # bills without suggestion (preference_id takes a history's row away).
    history_id = fields.Many2one(
        comodel_name="consumer.preference",
        string="Purchase History",
        ondelete="set null",
    )
    preference_type = fields.Selection(related="preference_id.preference_type")
    product_id = fields.Many2one(related="preference_id.product_id")
    attribute_value_ids = fields.Many2many(related="preference_id.attribute_value_ids")
    invoice_count = fields.Integer(
        related="history_id.invoice_count", string="Invoices"
    )
    suggested_quantity = fields.Float(
        string="Suggested",
        digits="Product Unit of Measure",
        compute="_compute_suggested_quantity",
        help="The customer's average net quantity per purchase, for products "
        "it bought on several days, rounded to the product's unit.",
    )
    quantity = fields.Float(digits="Product Unit of Measure")
    uom_id = fields.Many2one(related="product_id.uom_id")
    currency_id = fields.Many2one(related="wizard_id.currency_id")
    # Not stored: a line is priced when it is read (the first page of the
    # list) or billed, not when the wizard is created with hundreds of lines.
    price_unit = fields.Float(
        string="Unit Price",
        digits="Product Price",
        compute="_compute_price_unit",
        inverse="_inverse_price_unit",
        readonly=False,
    )
    # A typed price is stored with the pricelist's price it replaced (as
    # sale.order.line does with its technical_price_unit): the line keeps it
    # while the two differ, whatever the quantity. No digits: Odoo would look
    # the precision up for each of them on every line it creates, while only
    # the few typed lines are compared (at the price's precision).
    manual_price_unit = fields.Float(string="Typed Unit Price")
    technical_price_unit = fields.Float()
    tax_ids = fields.Many2many(
        comodel_name="account.tax",
        string="Taxes",
        compute="_compute_tax_ids",
    )
    price_subtotal = fields.Monetary(string="Subtotal", compute="_compute_amounts")
    price_total = fields.Monetary(string="Total", compute="_compute_amounts")

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        lines._check_preferences_readable()
        return lines

    def write(self, vals):
        result = super().write(vals)
        if {"preference_id", "history_id"} & set(vals):
            self._check_preferences_readable()
        return result

    def _check_preferences_readable(self):
        """The related fields show the preferences as superuser: a line may
        name only preferences the user may read (another company's are not)."""
        (self.preference_id | self.history_id).check_access("read")

    @api.depends(
        "history_id.purchase_count",
        "history_id.average_quantity",
        "history_id.partner_id.consumer_preference_consent",
        "product_id.active",
        "product_id.sale_ok",
        "uom_id.rounding",
    )
    def _compute_suggested_quantity(self):
        """A one-off purchase says nothing about the next one, and a customer
        who withdrew consent is not profiled (as in its purchase profile).
        Nor is a product suggested that Bill would refuse (archived, or no
        longer sold: as Due for Reorder). The average is billed in the
        product's unit: 2.5 Units suggests 3 where the unit rounds at 1,
        2.5 kg stays."""
        for line in self:
            history = line.history_id
            repeated = (
                history.purchase_count > 1
                and not history.is_fully_returned
                and history.partner_id.consumer_preference_consent
                and line.product_id.active
                and line.product_id.sale_ok
            )
            line.suggested_quantity = (
                float_round(
                    history.average_quantity,
                    precision_rounding=line.uom_id.rounding,
                    rounding_method="HALF-UP",
                )
                if repeated
                else 0.0
            )

    @api.depends("product_id", "wizard_id.fiscal_position_id", "wizard_id.company_id")
    def _compute_tax_ids(self):
        """The taxes the invoice line will get: the product's, or else (as
        ``account.move.line._get_computed_taxes``) the sales taxes of the
        line's income account, mapped by the fiscal position."""
        for line in self:
            company = line.wizard_id.company_id or self.env.company
            taxes = line.product_id.taxes_id._filter_taxes_by_company(company)
            if line.product_id and not taxes:
                taxes = line.wizard_id._get_income_account_taxes(line.product_id)
            line.tax_ids = line.wizard_id.fiscal_position_id.map_tax(taxes)

    def _filter_priced(self):
        """The lines with a quantity to price and tax. A quantity beyond
        MAX_QUANTITY, refused at Bill, is not: its amounts would overflow."""
        return self.filtered(
            lambda line: line.quantity and abs(line.quantity) <= MAX_QUANTITY
        )

    @api.depends("quantity", "price_unit", "tax_ids", "currency_id")
    def _compute_amounts(self):
        # Most lines of a wizard just opened have no quantity: nothing to
        # price nor tax. Iterating over the others only also keeps the price
        # computed for them alone (a field computed on read is computed for
        # the whole recordset the line was taken from).
        lines_with_quantity = self._filter_priced()
        (self - lines_with_quantity).update({"price_subtotal": 0.0, "price_total": 0.0})
        for line in lines_with_quantity:
            amounts = line.tax_ids.compute_all(
                line.price_unit,
                currency=line.currency_id,
                quantity=line.quantity,
                product=line.product_id,
                partner=line.wizard_id.partner_id,
            )
            line.price_subtotal = amounts["total_excluded"]
            line.price_total = amounts["total_included"]

    @api.depends(
        "preference_id",
        "quantity",
        "manual_price_unit",
        "technical_price_unit",
        "wizard_id.pricelist_id",
        "wizard_id.currency_id",
        "wizard_id.fiscal_position_id",
    )
    def _compute_price_unit(self):
        """The price the user typed, or else the pricelist's."""
        typed_lines = self.filtered(lambda line: line._is_price_typed())
        for line in typed_lines:
            line.price_unit = line.manual_price_unit
        for line, price in (self - typed_lines)._get_pricelist_price_units().items():
            line.price_unit = price

    def _inverse_price_unit(self):
        """Keep a typed price with the pricelist's price it replaced; typing
        the pricelist's price is no typed price."""
        pricelist_prices = self._get_pricelist_price_units()
        for line in self:
            line.manual_price_unit = line.price_unit
            line.technical_price_unit = pricelist_prices[line]

    @api.onchange("price_unit")
    def _onchange_price_unit(self):
        # The form writes nothing before it is saved, and the next change of
        # quantity recomputes price_unit: the typed price must already be in
        # the fields the form sends back.
        self._inverse_price_unit()

    def _is_price_typed(self):
        """Whether the user typed this line's price: it differs from the
        pricelist's price it replaced."""
        self.ensure_one()
        digits = self.env["decimal.precision"].precision_get("Product Price")
        return bool(
            float_compare(
                self.manual_price_unit,
                self.technical_price_unit,
                precision_digits=digits,
            )
        )

    def _get_pricelist_price_units(self):
        """{line: unit price}: the unit price an invoice line would get: the
        price of the line's preference (``consumer.preference.
        _get_sale_unit_prices``) for the wizard's pricelist, currency and
        fiscal position, at the line's quantity, on the wizard's pricing date
        (``_get_pricing_date``). Pricelist rules are fetched once per wizard,
        quantity and price extra, not once per line."""
        prices_by_line = {}
        for wizard, wizard_lines in self.grouped("wizard_id").items():
            company = wizard.company_id or self.env.company
            date = wizard._get_pricing_date()
            for quantity, lines in wizard_lines.grouped(
                lambda line: line.quantity or 1.0
            ).items():
                prices = lines.preference_id._get_sale_unit_prices(
                    wizard.pricelist_id,
                    wizard.currency_id or company.currency_id,
                    wizard.fiscal_position_id,
                    company,
                    quantity=quantity,
                    date=date,
                )
                for line in lines:
                    prices_by_line[line] = prices.get(line.preference_id, 0.0)
        return prices_by_line

    def _prepare_invoice_line_vals(self):
        self.ensure_one()
        return {
            "product_id": self.product_id.id,
            "name": self._get_invoice_line_description(),
            "quantity": self.quantity,
            "price_unit": self.price_unit,
        }

    def _get_invoice_line_description(self):
        """The product, then the characteristic values its name does not
        already carry, one per line: "Shirt (S)" then "Quality: 8"."""
        self.ensure_one()
        variant = self.product_id
        variant_values = (
            variant.product_template_attribute_value_ids.product_attribute_value_id
        )
        return "\n".join(
            [variant.display_name]
            + [
                f"{value.attribute_id.name}: {value.name}"
                for value in self.attribute_value_ids - variant_values
            ]
        )
