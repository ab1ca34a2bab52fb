# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import models


class ProductTemplate(models.Model):
    _inherit = "product.template"

    def write(self, vals):
        unit_changed = self.browse()
        if "uom_id" in vals:
            unit_changed = self.filtered(
                lambda template: template.uom_id.id != vals["uom_id"]
            )
        result = super().write(vals)
        if unit_changed:
            # History quantities and last unit prices are in the product's
            # unit: restated in the new one, or later invoices would add up
            # in it to figures kept in the former.
            self.env["consumer.preference.history"]._recompute_products(
                unit_changed.with_context(active_test=False).product_variant_ids
            )
        return result
