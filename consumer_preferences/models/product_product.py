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

    def _consumer_preference_sold_elsewhere(self, company):
        """Those of these products that only another company sells: restricted
        to a company other than ``company`` and its parents (a parent company
        shares its products with its branches). A customer's preferences
        keep a product restricted to another company after they were
        recorded; it is then neither billed nor quoted in ``company``. The
        products returned are sudo'ed: to test, or to name, only."""
        # sudo: such a product is not readable by the users of ``company``;
        # it is only named among the products refused.
        return self.sudo().filtered(
            lambda product: (
                product.company_id and product.company_id not in company.parent_ids
            )
        )
