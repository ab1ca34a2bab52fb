"""End-to-end: the test command installed consumer_preferences, demo data included."""

from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    def test_addon_is_installed_with_demo_data(self):
        addon = self.env["ir.module.module"].search(
            [("name", "=", "consumer_preferences")]
        )
        self.assertRecordValues(addon, [{"state": "installed", "demo": True}])

    def test_registry_has_loaded_the_addon(self):
        self.assertIn("consumer_preferences", self.registry._init_modules)
