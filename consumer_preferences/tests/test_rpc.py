# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestConsumerPreferenceRpc(HttpCase):
    """External clients call the public actions over XML-RPC, which cannot
    marshal None: every public method returns a value."""

    def test_partner_actions_answer_xmlrpc(self):
        manager = new_test_user(
            self.env,
            login="cp_rpc_manager",
            groups="base.group_user,base.group_partner_manager,"
            "consumer_preferences.group_consumer_preference_manager",
        )
        customer = self.env["res.partner"].create(
            {"name": "RPC Customer", "is_company": True}
        )
        results = {
            method: self.xmlrpc_object.execute_kw(
                self.env.cr.dbname,
                manager.id,
                "cp_rpc_manager",  # new_test_user's password is the login
                "res.partner",
                method,
                [customer.ids],
            )
            for method in (
                "action_consumer_preference_rebuild",
                "action_consumer_preference_erase_history",
                "action_consumer_preference_forget",
            )
        }
        self.assertEqual(
            results,
            {
                "action_consumer_preference_rebuild": True,
                "action_consumer_preference_erase_history": 0,
                "action_consumer_preference_forget": True,
            },
        )
