"""End-to-end: the test command's template holds the web client's asset
bundles the browser tests load, so that no browser test class spends
seconds generating them (in a transaction it then rolls back)."""

from odoo.tests import TransactionCase, tagged

# The bundles the browser tests' pages load, and their minified files.
LOADED_BUNDLES = (
    ("web.assets_web", ("min.js", "min.css")),
    ("web.assets_tests", ("min.js",)),
    ("web.assets_frontend", ("min.css",)),
)


@tagged("post_install", "-at_install")
class TestPreparedAssets(TransactionCase):
    def test_template_holds_the_bundles_of_the_current_files(self):
        for bundle_name, extensions in LOADED_BUNDLES:
            bundle = self.env["ir.qweb"]._get_asset_bundle(bundle_name)
            for extension in extensions:
                with self.subTest(bundle=bundle_name, extension=extension):
                    # Of the version the files make now: a stale one is
                    # never served.
                    self.assertTrue(bundle.get_attachments(extension))
