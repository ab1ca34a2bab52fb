# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.consumer_preferences.tests.common import (
    terms_missing_from_templates,
)

from .common import ConsumerPreferenceSaleCommon

# What a salesperson of each shipped language reads.
EXPECTED = {
    "fr_FR": {
        "order_error": "n'est plus un devis",
        "button": "Ajouter depuis les préférences",
        "choice": "Devis",
    },
    "es_ES": {
        "order_error": "ya no es un presupuesto",
        "button": "Añadir desde las preferencias",
        "choice": "Presupuesto",
    },
}


@tagged("post_install", "-at_install")
class TestSaleTranslation(ConsumerPreferenceSaleCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for lang in EXPECTED:
            cls.env["res.lang"]._activate_lang(lang)
        cls.env["ir.module.module"]._load_module_terms(
            ["consumer_preferences", "consumer_preferences_sale"], list(EXPECTED)
        )
        cls.env.registry.clear_cache()

    def test_errors_buttons_and_choices_in_the_users_language(self):
        order = self.env["sale.order"].create(
            {"partner_id": self.customer.id, "state": "sale"}
        )
        for lang, expected in EXPECTED.items():
            with self.subTest(lang=lang):
                self.salesperson.lang = lang
                salesperson_order = order.with_user(self.salesperson).with_context(
                    lang=lang
                )
                with self.assertRaisesRegex(UserError, expected["order_error"]):
                    salesperson_order.action_add_from_preferences()
                arch = salesperson_order.get_views([(False, "form")])["views"]["form"][
                    "arch"
                ]
                self.assertIn(expected["button"], arch)
                selection = dict(
                    self.env["consumer.preference.bill"]
                    .with_context(lang=lang)
                    ._fields["document_type"]
                    ._description_selection(self.env(context={"lang": lang}))
                )
                self.assertEqual(selection["quotation"], expected["choice"])

    def test_the_template_holds_every_term(self):
        """Every term the module shows (the names of the models it adds or
        extends included) is in its template, hence, as
        tools/check_translations.py checks, in French and Spanish."""
        self.assertEqual(
            terms_missing_from_templates(self.env, "consumer_preferences_sale"), []
        )
