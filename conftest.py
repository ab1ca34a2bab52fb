"""pytest-odoo glue shared by the addon's tests and the end-to-end tests."""

import importlib
import re

import pytest

import odoo.tools

BROWSER_SKIP_REASON = re.compile(r"chrom|browser|websocket|HttpCase", re.IGNORECASE)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_cmdline_main(config):
    """Import Odoo's test framework in test mode, before pytest-odoo does.

    pytest-odoo imports `odoo.tests` before it turns Odoo's test mode on, and
    Odoo 18 answers with an ERROR and a stack trace ("Importing test
    framework, avoid importing from business modules ..."). Test mode stays on
    only for the import: loading the registry with it on would run every
    installed module's at_install tests.
    """
    odoo.tools.config["test_enable"] = True
    try:
        importlib.import_module("odoo.tests")
    finally:
        odoo.tools.config["test_enable"] = False
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Report a skip whose reason is about the browser as a failure.

    Odoo skips a browser test when Chromium or websocket-client is missing or
    the browser does not start, and pytest-odoo skips every HttpCase without
    `--odoo-http`: the suite would pass without running them. Other skips
    (e.g. `skipUnless` on an optional dependency) stay skips.
    """
    report = yield
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report)
        if BROWSER_SKIP_REASON.search(reason):
            report.outcome = "failed"
            report.longrepr = f"Browser test could not run, so it fails: {reason}"
    return report


def _skip_reason(report):
    """The reason pytest stores for a skip: a (path, line, reason) tuple."""
    if isinstance(report.longrepr, tuple):
        return report.longrepr[2]
    return str(report.longrepr)
