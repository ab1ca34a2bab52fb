# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import models


class ProductProduct(models.Model):
    _inherit = "product.product"

    def _consumer_preference_quotable(self, company):
        """Those of these products that a quotation of ``company`` may offer
        from preferences (the Add from Preferences wizard, the portal's
        Reorder): still sold there (active, on sale, not restricted to another
        company), and not a combo, whose items are chosen on the quotation
        (Odoo prices a combo line at zero, its items at their price)."""
        # another company's first, all at once: this user may not read them
        products = self - self._consumer_preference_sold_elsewhere(company)
        return products.filtered(
            lambda product: (
                product.active and product.sale_ok and product.type != "combo"
            )
        )
