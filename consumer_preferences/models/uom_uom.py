# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import models


class UomUom(models.Model):
    _inherit = "uom.uom"

    def write(self, vals):
        factors_before = {}
        if {"factor", "factor_inv", "uom_type", "category_id"} & set(vals):
            factors_before = {unit: unit.factor for unit in self}
        result = super().write(vals)
        changed = self.browse(
            unit.id for unit, factor in factors_before.items() if unit.factor != factor
        )
        if changed:
            # History quantities and last unit prices are converted with the
            # units' ratios: restated with the new one, or later invoices
            # would add up at it to figures kept at the former.
            self.env["consumer.preference.history"]._recompute_units(changed)
        return result
