# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import models


class ProductProduct(models.Model):
    _inherit = "product.product"

    def write(self, vals):
        values_before = {}
        if "product_template_attribute_value_ids" in vals:
            values_before = {
                variant: variant.product_template_attribute_value_ids
                for variant in self
            }
        result = super().write(vals)
        # A history line carries its variant's characteristic values (and is
        # keyed by them): Odoo writes a value on existing variants when their
        # template gets an attribute with a single value (and writes them,
        # unchanged, on every variant when a template is saved).
        changed = self.browse(
            variant.id
            for variant, values in values_before.items()
            if variant.product_template_attribute_value_ids != values
        )
        if changed:
            self.env["consumer.preference.history"]._recompute_products(changed)
        return result
