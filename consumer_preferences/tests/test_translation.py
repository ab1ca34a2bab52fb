# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import ConsumerPreferenceCommon, terms_missing_from_templates

# What a user of each shipped language reads: errors of the models, field
# labels and terms of the partner form (accounting terms included).
EXPECTED = {
    "fr_FR": {
        "specification_error": "Choisissez au plus une valeur par caractéristique",
        "history_error": "ne peuvent pas être modifiées à la main",
        "duplicate_error": "Azure Shop a déjà ce produit avec ces valeurs",
        "consent_label": "Enregistrer les préférences d'achat",
        "refund_label": "Avoirs",
        "form_terms": ("Profil d'achat", "Factures / avoirs"),
    },
    "es_ES": {
        "specification_error": "Elija como máximo un valor por característica",
        "history_error": "no se pueden modificar manualmente",
        "duplicate_error": "Azure Shop ya tiene este producto con estos valores",
        "consent_label": "Registrar las preferencias de compra",
        "refund_label": "Rectificativas",
        "form_terms": ("Perfil de compra", "Facturas / rectificativas"),
    },
}


@tagged("post_install", "-at_install")
class TestConsumerPreferenceTranslation(ConsumerPreferenceCommon):
    """Errors, labels and views reach the user in the user's language
    (French and Spanish are shipped)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for lang in EXPECTED:
            cls.env["res.lang"]._activate_lang(lang)
        cls.env["ir.module.module"]._load_module_terms(
            ["consumer_preferences"], list(EXPECTED)
        )
        # Field labels are cached per registry: forget the untranslated ones.
        cls.env.registry.clear_cache()

    def _as(self, user, lang):
        """`user`, now speaking `lang`: messages of `_()` follow the user's
        language when the context has none."""
        user.lang = lang
        return user

    def test_specification_error_translated(self):
        for lang, expected in EXPECTED.items():
            salesperson = self._as(self.salesperson, lang)
            with self.subTest(lang=lang):
                # Odoo's assertRaises rolls the refused record back (savepoint).
                with self.assertRaises(ValidationError) as caught:
                    self.env["consumer.preference"].with_user(salesperson).create(
                        {
                            "partner_id": self.customer.id,
                            "product_id": self.shirt_m.id,
                            "attribute_value_ids": [
                                (6, 0, (self.quality_7 | self.quality_8).ids)
                            ],
                        }
                    )
                self.assertIn(expected["specification_error"], str(caught.exception))

    def test_history_error_translated(self):
        self._post_customer_invoice(self.customer, [(self.coffee, 1, 8.0)])
        history = self._history(self.customer)
        for lang, expected in EXPECTED.items():
            salesperson = self._as(self.salesperson, lang)
            with self.subTest(lang=lang):
                with self.assertRaises(UserError) as caught:
                    history.with_user(salesperson).unlink()
                self.assertIn(expected["history_error"], str(caught.exception))

    def test_duplicate_error_translated(self):
        self.env["consumer.preference"].create(
            {"partner_id": self.customer.id, "product_id": self.tea.id}
        )
        for lang, expected in EXPECTED.items():
            salesperson = self._as(self.salesperson, lang)
            with self.subTest(lang=lang):
                with self.assertRaises(ValidationError) as caught:
                    self.env["consumer.preference"].with_user(salesperson).create(
                        {
                            "partner_id": self.customer_contact.id,
                            "product_id": self.tea.id,
                        }
                    )
                self.assertIn(expected["duplicate_error"], str(caught.exception))

    def test_field_labels_translated(self):
        for lang, expected in EXPECTED.items():
            salesperson = self._as(self.salesperson, lang)
            fields_description = (
                self.env["res.partner"]
                .with_user(salesperson)
                .with_context(lang=lang)
                .fields_get(
                    ["consumer_preference_consent", "consumer_profile_refund_count"],
                    ["string"],
                )
            )
            with self.subTest(lang=lang):
                self.assertEqual(
                    fields_description["consumer_preference_consent"]["string"],
                    expected["consent_label"],
                )
                self.assertEqual(
                    fields_description["consumer_profile_refund_count"]["string"],
                    expected["refund_label"],
                )

    def test_partner_form_translated(self):
        for lang, expected in EXPECTED.items():
            accountant = self._as(self.accountant, lang)
            arch = (
                self.env["res.partner"]
                .with_user(accountant)
                .with_context(lang=lang)
                .get_views([(False, "form")])["views"]["form"]["arch"]
            )
            with self.subTest(lang=lang):
                for term in expected["form_terms"]:
                    self.assertIn(term, arch)

    def test_the_template_holds_every_term(self):
        """Every term the module shows (the names of the models it adds or
        extends included) is in its template, hence, as
        tools/check_translations.py checks, in French and Spanish."""
        self.assertEqual(
            terms_missing_from_templates(self.env, "consumer_preferences"), []
        )
