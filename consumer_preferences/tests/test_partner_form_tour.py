# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestConsumerPreferenceTour(HttpCase):
    def test_preferences_tab_renders(self):
        """A demo customer's form shows the Preferences page with both sections."""
        customer = self.env.ref("base.res_partner_12")
        self.assertTrue(customer.consumer_specification_ids)
        self.assertTrue(customer.consumer_history_ids)
        self.start_tour(
            f"/odoo/action-base.action_partner_form/{customer.id}",
            "consumer_preferences_tab",
            login="admin",
        )
