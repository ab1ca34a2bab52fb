# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import models


class ProductAttributeValue(models.Model):
    _inherit = "product.attribute.value"

    def unlink(self):
        # A value that preference lines name is archived instead of deleted,
        # as Odoo does for the values of archived variants: deleting it would
        # let PostgreSQL drop it from the lines behind the ORM, leaving their
        # stored key (attribute_value_key) naming it, so that a line would read
        # like another of the customer's while its key differs. Archived, it
        # stays on the lines (shown, and in their key); values still used on a
        # product go on to Odoo's refusal.
        # sudo: lines of every company and customer count, archived ones too.
        preferences = (
            self.env["consumer.preference"]
            .sudo()
            .with_context(active_test=False)
            .search([("attribute_value_ids", "in", self.ids)])
        )
        to_archive = (self & preferences.attribute_value_ids).filtered(
            lambda value: not value.is_used_on_products
        )
        if to_archive:
            to_archive.action_archive()
        return super(ProductAttributeValue, self - to_archive).unlink()
