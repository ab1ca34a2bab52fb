"""End-to-end: the web client starts in Chromium with consumer_preferences.

Proves that browser tests really run here (see conftest.py) and that the
addon's assets do not break the web client.
"""

from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestWebClient(HttpCase):
    def test_web_client_starts_for_admin(self):
        self.browser_js(
            "/odoo",
            "console.log('test successful')",
            ready="odoo.isReady === true",
            login="admin",
        )
