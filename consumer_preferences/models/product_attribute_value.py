# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import models
from odoo.tools import SQL


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
        # The lines of every company and customer count, archived ones too:
        # read in their relation, not through the ORM (a value may be named
        # by many history lines), as only the values' ids are needed.
        self.check_access("unlink")
        self.env["consumer.preference"].flush_model(["attribute_value_ids"])
        self.env.cr.execute(
            SQL(
                "SELECT DISTINCT value_id FROM consumer_preference_attribute_value_rel"
                " WHERE value_id = ANY(%s)",
                self.ids,
            )
        )
        named = self.browse(value_id for (value_id,) in self.env.cr.fetchall())
        to_archive = named.filtered(lambda value: not value.is_used_on_products)
        if to_archive:
            to_archive.action_archive()
        return super(ProductAttributeValue, self - to_archive).unlink()
