"""End-to-end: the test command installed both addons, demo data included."""

from odoo.tests import TransactionCase, tagged

ADDONS = ["consumer_preferences", "consumer_preferences_sale"]


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    def test_addons_are_installed_with_demo_data(self):
        addons = self.env["ir.module.module"].search(
            [("name", "in", ADDONS)], order="name"
        )
        self.assertRecordValues(
            addons,
            [{"name": name, "state": "installed", "demo": True} for name in ADDONS],
        )

    def test_registry_has_loaded_the_addons(self):
        for addon in ADDONS:
            self.assertIn(addon, self.registry._init_modules)

    def test_portal_demo_user_has_preferences(self):
        """tools/demo.py prints this login: its customer has preferences."""
        portal_user = self.env["res.users"].search([("login", "=", "portal")])
        self.assertTrue(portal_user.has_group("base.group_portal"))
        self.assertTrue(
            self.env["consumer.preference"].search_count(
                [("partner_id", "=", portal_user.partner_id.commercial_partner_id.id)]
            )
        )
