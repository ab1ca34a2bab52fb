# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import api, models


class ConsumerPreferenceBillLine(models.TransientModel):
    _inherit = "consumer.preference.bill.line"

    @api.depends("wizard_id.document_type")
    def _compute_tax_ids(self):
        return super()._compute_tax_ids()

    def _prepare_sale_order_line_vals(self):
        """The order line of this wizard line: the product, the values of the
        specification (``no_variant`` ones on the order line), the quantity in
        the product's unit; the price is the order line's own (customer
        pricelist) unless the user typed one in the wizard."""
        self.ensure_one()
        vals = self.preference_id._prepare_sale_order_line_vals(self.quantity)
        if self._is_price_typed():
            # Both, as the order form sends a typed price: the order line
            # then keeps it when its quantity or unit changes. No discount:
            # the wizard's prices are net, and a pricelist shown as a
            # discount (Sales' Discounts setting) would take it off again.
            vals["price_unit"] = self.price_unit
            vals["technical_price_unit"] = self.technical_price_unit
            vals["discount"] = 0.0
        return vals
