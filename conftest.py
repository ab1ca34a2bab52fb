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


# Longest first ---------------------------------------------------------------
# What each scope (a test class, or a module of test functions: what
# `--dist=loadscope` sends to one worker) took in the last run, in pytest's
# cache (`.pytest_cache/`).
SCOPE_DURATIONS_KEY = "consumer_preferences/scope_durations"


def _scope(nodeid):
    """The scope pytest-xdist's `loadscope` gives a test (its rule)."""
    return nodeid.rsplit("::", 1)[0]


def pytest_collection_modifyitems(config, items):
    """Run the scopes that took longest in the last run first.

    The workers take scopes in this order (tools/run_tests.py turns off
    pytest-xdist's own order, by number of tests): a long scope started last
    (the randomised invariant, the lifecycle's Odoo processes: 15 to 20 s
    each) kept one worker busy after the other had finished. Scopes not
    measured yet come after the measured ones, in their order; a scope's
    tests keep theirs.
    """
    cache = getattr(config, "cache", None)
    durations = cache.get(SCOPE_DURATIONS_KEY, {}) if cache else {}
    if durations:
        items.sort(key=lambda item: -durations.get(_scope(item.nodeid), 0.0))


class ScopeDurations:
    """Record each scope's set-up, call and tear-down times in the cache.

    Registered in the main process only: pytest-xdist passes the workers'
    reports on to it. A run of some tests updates their scopes only.
    """

    def __init__(self, cache):
        self.cache = cache
        self.durations = {}

    def pytest_runtest_logreport(self, report):
        scope = _scope(report.nodeid)
        self.durations[scope] = self.durations.get(scope, 0.0) + report.duration

    def pytest_sessionfinish(self):
        if self.durations:
            known = self.cache.get(SCOPE_DURATIONS_KEY, {})
            self.cache.set(SCOPE_DURATIONS_KEY, known | self.durations)


def pytest_configure(config):
    cache = getattr(config, "cache", None)
    if cache is not None and not hasattr(config, "workerinput"):
        config.pluginmanager.register(ScopeDurations(cache), "scope_durations")
