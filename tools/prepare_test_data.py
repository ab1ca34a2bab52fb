"""Run by tools/templates.py in an Odoo shell (``env`` defined) on the addons
template: prepare once what every test run would otherwise make again, and
commit it.

- The test companies and users (consumer_preferences/tests/companies.py,
  read from its file: importing the tests package would import Odoo's test
  framework outside test mode).
- The web client's asset bundles the browser tests load. A browser test
  class generates each bundle it misses (3 to 4 s for the backend's), in
  its own transaction, which is rolled back: without them here, every
  class generated them again. Odoo names a bundle by a checksum of its
  files, so a stale one is never served: a changed file makes a new one.
"""

import importlib.util
from pathlib import Path

# The shell runs in the project folder (harness.run_child).
COMPANIES_FILE = Path("consumer_preferences/tests/companies.py").resolve()
# The bundles the browser tests' pages ask for (their server log says
# "Generating a new asset bundle attachment"), and their kinds.
WEB_ASSET_BUNDLES = (
    ("web.assets_web", ("js", "css")),
    ("web.assets_web_print", ("css",)),
    ("web.assets_tests", ("js",)),
    ("web.__assets_tests_call__", ("js",)),
    ("bus.websocket_worker_assets", ("js",)),
    ("web.assets_frontend", ("js", "css")),
    ("web.assets_frontend_minimal", ("js",)),
    ("web.assets_frontend_lazy", ("js",)),
)

spec = importlib.util.spec_from_file_location("test_companies", COMPANIES_FILE)
companies = importlib.util.module_from_spec(spec)
spec.loader.exec_module(companies)
companies.prepare_test_companies(env)  # noqa: F821 (the shell's)
companies.prepare_test_users(env)  # noqa: F821

for bundle_name, kinds in WEB_ASSET_BUNDLES:
    bundle = env["ir.qweb"]._get_asset_bundle(  # noqa: F821
        bundle_name, css="css" in kinds, js="js" in kinds
    )
    for kind in kinds:
        getattr(bundle, kind)()
env.cr.commit()  # noqa: F821
