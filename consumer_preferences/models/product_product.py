# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import models


class ProductProduct(models.Model):
    _inherit = "product.product"

    def write(self, vals):
        result = super().write(vals)
        if "product_template_attribute_value_ids" in vals:
            # A history line carries its variant's characteristic values (and
            # is keyed by them): Odoo writes a value on existing variants when
            # their template gets an attribute with a single value.
            self.env["consumer.preference.history"]._recompute_products(self)
        return result
