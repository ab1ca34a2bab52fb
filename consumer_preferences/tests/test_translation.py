# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import ConsumerPreferenceCommon


@tagged("post_install", "-at_install")
class TestConsumerPreferenceTranslation(ConsumerPreferenceCommon):
    """Errors reach the user in the user's language (French is shipped)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.env["ir.module.module"]._load_module_terms(
            ["consumer_preferences"], ["fr_FR"]
        )
        # Field labels are cached per registry: forget the untranslated ones.
        cls.env.registry.clear_cache()
        (cls.salesperson | cls.accountant).lang = "fr_FR"

    def test_specification_error_in_french(self):
        with self.assertRaisesRegex(
            ValidationError, "Choisissez au plus une valeur par caractéristique"
        ):
            self.env["consumer.preference"].with_user(self.salesperson).create(
                {
                    "partner_id": self.customer.id,
                    "product_id": self.shirt_m.id,
                    "attribute_value_ids": [
                        (6, 0, (self.quality_7 | self.quality_8).ids)
                    ],
                }
            )

    def test_history_error_in_french(self):
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])
        with self.assertRaisesRegex(
            UserError, "ne peuvent pas être modifiées à la main"
        ):
            self._history(self.customer).with_user(self.salesperson).unlink()

    def test_field_labels_in_french(self):
        # The web client sends the user's language in the context.
        fields_description = (
            self.env["res.partner"]
            .with_user(self.salesperson)
            .with_context(lang=self.salesperson.lang)
            .fields_get(["consumer_preference_consent"], ["string"])
        )
        self.assertEqual(
            fields_description["consumer_preference_consent"]["string"],
            "Enregistrer les préférences d'achat",
        )
