# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import api, models
from odoo.tools import SQL


class ProductAttribute(models.Model):
    _inherit = "product.attribute"

    def unlink(self):
        # Deleting a characteristic deletes its values in the database (ON
        # DELETE CASCADE), below the values' own unlink: a characteristic
        # whose values preference lines name is archived instead, with its
        # values, for the same reason (product.attribute.value.unlink).
        # Characteristics still used on a product go on to Odoo's refusal.
        self.check_access("unlink")
        named = self.env["product.attribute.value"]._named_by_preferences(
            self.with_context(active_test=False).value_ids
        )
        to_archive = named.attribute_id.filtered(
            lambda attribute: not attribute.number_related_products
        )
        if to_archive:
            to_archive.value_ids.action_archive()
            to_archive.action_archive()
        return super(ProductAttribute, self - to_archive).unlink()


class ProductAttributeValue(models.Model):
    _inherit = "product.attribute.value"

    @api.model
    def _named_by_preferences(self, values):
        """Those of ``values`` that preference lines name, of every company
        and customer, archived lines too: read in their relation, not
        through the ORM (a value may be named by many history lines), as
        only the values' ids are needed."""
        self.env["consumer.preference"].flush_model(["attribute_value_ids"])
        self.env.cr.execute(
            SQL(
                "SELECT DISTINCT value_id FROM consumer_preference_attribute_value_rel"
                " WHERE value_id = ANY(%s)",
                values.ids,
            )
        )
        return self.browse(value_id for (value_id,) in self.env.cr.fetchall())

    def unlink(self):
        # A value that preference lines name is archived instead of deleted,
        # as Odoo does for the values of archived variants: deleting it would
        # let PostgreSQL drop it from the lines behind the ORM, leaving their
        # stored key (attribute_value_key) naming it, so that a line would read
        # like another of the customer's while its key differs. Archived, it
        # stays on the lines (shown, and in their key); values still used on a
        # product go on to Odoo's refusal.
        self.check_access("unlink")
        named = self._named_by_preferences(self)
        to_archive = named.filtered(lambda value: not value.is_used_on_products)
        if to_archive:
            to_archive.action_archive()
        return super(ProductAttributeValue, self - to_archive).unlink()
