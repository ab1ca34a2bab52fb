"""Run by tools/templates.py in an Odoo shell (``env`` defined) on the addons
template: prepare the test companies once (consumer_preferences/tests/
companies.py, read from its file: importing the tests package would import
Odoo's test framework outside test mode) and commit them."""

import importlib.util
from pathlib import Path

# The shell runs in the project folder (harness.run_child).
COMPANIES_FILE = Path("consumer_preferences/tests/companies.py").resolve()

spec = importlib.util.spec_from_file_location("test_companies", COMPANIES_FILE)
companies = importlib.util.module_from_spec(spec)
spec.loader.exec_module(companies)
companies.prepare_test_companies(env)  # noqa: F821 (the shell's)
env.cr.commit()  # noqa: F821
