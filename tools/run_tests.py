"""Lint, then run every test of the project's addons in a throwaway database.

    python3 tools/run_tests.py [-- PYTEST_ARGUMENTS]

Steps: check the prerequisites (Odoo 18.0, PostgreSQL, a Chromium and
websocket-client, since Odoo silently skips browser tests without them), lint
with ruff and pylint-odoo, check that every translation of both addons
(consumer_preferences and its Sales bridge consumer_preferences_sale) is
complete and compiles, start a PostgreSQL cluster in a fresh
`.local/test-<random>/` folder, install both addons with their demo data into a
new database, run pytest-odoo over both addons' `tests/` and `tests/`, then
drop the database and delete the folder. The exit code is pytest's.

Arguments after `--` go to pytest; paths among them replace the default ones:

    python3 tools/run_tests.py -- -k history consumer_preferences/tests/test_history.py
"""

import argparse
import importlib.util
import os
import secrets
import shutil
import site
import socket
import subprocess
import sys
from pathlib import Path

import harness

# The names Odoo 18 looks up on PATH, in its order (odoo.tests.common).
BROWSER_NAMES = (
    "google-chrome",
    "chromium",
    "chromium-browser",
    "google-chrome-stable",
)
INSTALL_HINT = "run `python3 -m pip install -r requirements.txt`"
I18N_DIR = harness.ROOT / harness.ADDON / "i18n"
# How many msgids a translation problem lists before "and N more".
LISTED_MSGIDS = 10


def main(argv=None):
    """Run the whole command; return the exit code."""
    pytest_arguments = parse_arguments(argv)
    run_id = secrets.token_hex(4)
    folder = harness.LOCAL_DIR / f"test-{run_id}"
    odoo = harness.find_odoo()
    postgres = harness.postgres_for(folder)
    browser = find_browser()
    require_python_packages()
    lint_code = lint()
    if lint_code:
        return lint_code
    return run_suite(
        odoo=odoo,
        postgres=postgres,
        folder=folder,
        database=f"{harness.ADDON}_test_{run_id}",
        browser=browser,
        pytest_arguments=pytest_arguments,
    )


def parse_arguments(argv):
    """The arguments meant for pytest (everything after `--`)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0],
        epilog="Example: python3 tools/run_tests.py -- -k history -x",
    )
    parser.add_argument(
        "pytest_arguments", nargs="*", help="passed on to pytest, after `--`"
    )
    return parser.parse_args(argv).pytest_arguments


def find_browser():
    """The Chromium that browser tests will use: CHROME_BIN, else the first
    browser Odoo itself would find on PATH."""
    chrome_bin = os.environ.get("CHROME_BIN")
    if chrome_bin:
        path = shutil.which(chrome_bin)
        if not path:
            raise harness.HarnessError(
                f"CHROME_BIN={chrome_bin} is not an executable: point it at "
                "Chromium or Google Chrome, or unset it."
            )
        return Path(path)
    for name in BROWSER_NAMES:
        path = shutil.which(name)
        if path:
            return Path(path)
    raise harness.HarnessError(
        "No Chromium found (looked for " + ", ".join(BROWSER_NAMES) + " on PATH): "
        "browser tests cannot run, so install the `chromium` package or set CHROME_BIN."
    )


def require_python_packages():
    """Fail when a package the tests or the lint need is missing."""
    for module, package in (
        ("pytest_odoo", "pytest-odoo"),
        ("websocket", "websocket-client"),
        ("ruff", "ruff"),
    ):
        if importlib.util.find_spec(module) is None:
            raise harness.HarnessError(
                f"The Python package {package} is missing: {INSTALL_HINT}."
            )


def lint():
    """Run ruff on the project, check that the addon's README.rst matches its
    readme fragments and that its translations are complete, then run
    pylint-odoo on the addon when installed; return the first non-zero exit
    code, or 0."""
    print("Linting with ruff ...", flush=True)
    for ruff_command in (["check", "."], ["format", "--check", "."]):
        ruff_code = harness.run_child([sys.executable, "-m", "ruff", *ruff_command])
        if ruff_code:
            return ruff_code
    readme_code = harness.run_child(
        [sys.executable, str(harness.ROOT / "tools" / "addon_readme.py"), "--check"]
    )
    if readme_code:
        return readme_code
    print("Checking translations ...", flush=True)
    translation_problems = [
        problem
        for addon in harness.ADDONS
        for problem in check_translations(harness.ROOT / addon / "i18n", addon)
    ]
    for problem in translation_problems:
        print(f"error: {problem}", file=sys.stderr)
    if translation_problems:
        return 1
    if importlib.util.find_spec("pylint_odoo") is None:
        print(f"pylint-odoo is not installed, skipping it ({INSTALL_HINT}).")
        return 0
    print("Linting with pylint-odoo ...", flush=True)
    rcfile = harness.ROOT / ".pylintrc"
    return harness.run_child(
        [sys.executable, "-m", "pylint", f"--rcfile={rcfile}", *harness.ADDONS]
    )


def check_translations(i18n_dir=I18N_DIR, addon=harness.ADDON):
    """The problems of an addon's translations, one sentence each.

    Every `.po` file of `i18n_dir` must compile (`msgfmt --check`, or Babel's
    parser and checks where gettext is not installed) and translate every
    msgid of the `.pot` template, none of them empty or fuzzy: Odoo shows
    the English text for whatever is missing.
    """
    template = _read_catalog(i18n_dir / f"{addon}.pot")
    template_ids = [message.id for message in template if message.id]
    problems = []
    for po_file in sorted(i18n_dir.glob("*.po")):
        name = _display_path(po_file)
        compile_error = _compile_error(po_file)
        if compile_error:
            problems.append(f"{name} does not compile: {compile_error}")
            continue
        catalog = _read_catalog(po_file)
        missing = [msgid for msgid in template_ids if msgid not in catalog]
        empty, fuzzy = [], []
        for msgid in template_ids:
            message = catalog.get(msgid)
            if message is None:
                continue
            strings = message.string if message.pluralizable else [message.string]
            if not all(strings):
                empty.append(msgid)
            elif message.fuzzy:
                fuzzy.append(msgid)
        for msgids, what in (
            (missing, f"lacks msgids of {addon}.pot"),
            (empty, "leaves msgids untranslated"),
            (fuzzy, "has fuzzy translations, which Odoo ignores, of msgids"),
        ):
            if msgids:
                problems.append(f"{name} {what}: {_list_msgids(msgids)}")
    return problems


def _read_catalog(path):
    """A `.po` or `.pot` file read by Babel (which comes with Odoo)."""
    from babel.messages.pofile import read_po

    with path.open("rb") as po_file:
        return read_po(po_file, abort_invalid=True)


def _compile_error(po_file):
    """Why `po_file` does not compile, or an empty string."""
    if shutil.which("msgfmt"):
        result = subprocess.run(
            ["msgfmt", "--check", "-o", os.devnull, str(po_file)],
            capture_output=True,
            text=True,
            check=False,
        )
        if not result.returncode:
            return ""
        # The fatal errors only: a header field missing is a mere warning.
        lines = result.stderr.strip().splitlines()
        return "; ".join(line for line in lines if ": warning: " not in line)
    from babel.messages.pofile import PoFileError

    try:
        catalog = _read_catalog(po_file)
    except PoFileError as error:
        return str(error)
    return "; ".join(
        f"{message.id!r}: {error}"
        for message, errors in catalog.check()
        for error in errors
    )


def _display_path(path):
    """`path` relative to the project when inside it."""
    try:
        return path.relative_to(harness.ROOT)
    except ValueError:
        return path


def _list_msgids(msgids):
    """The first msgids, quoted, and how many more there are."""
    listed = ", ".join(repr(msgid) for msgid in msgids[:LISTED_MSGIDS])
    more = len(msgids) - LISTED_MSGIDS
    return f"{listed} and {more} more" if more > 0 else listed


def run_suite(*, odoo, postgres, folder, database, browser, pytest_arguments):
    """Install the addon into a new database, run pytest-odoo, clean up."""
    folder.mkdir(parents=True)
    try:
        with postgres.running() as connection:
            config_file = harness.write_odoo_config(
                folder / "odoo.conf",
                odoo=odoo,
                connection=connection,
                data_dir=folder / "data",
                max_cron_threads=0,
                # Browser tests serve Odoo over HTTP: a free port lets two
                # runs (or a demo on 8069) share the machine.
                http_port=free_port(),
            )
            env = test_environment(odoo, folder, browser)
            try:
                install_code = harness.install_addon(odoo, config_file, database, env)
                if install_code:
                    return install_code
                return run_pytest(config_file, database, env, pytest_arguments)
            finally:
                harness.drop_database(connection, database)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_environment(odoo, folder, browser):
    """The environment of the Odoo and pytest processes.

    HOME, the XDG folders and TMPDIR point into the run folder: Chromium
    writes to HOME (~/.config/chromium/Crash Reports, ~/.cache/dconf) even
    with its own profile folder, and leaves folders in TMPDIR; all of it goes
    with the run folder. PATH starts with a link to the browser, named like
    the first one Odoo looks for, so Odoo starts the browser checked up front.
    """
    bin_dir, home, temporary_dir = folder / "bin", folder / "home", folder / "tmp"
    for path in (bin_dir, home, temporary_dir):
        path.mkdir()
    (bin_dir / BROWSER_NAMES[0]).symlink_to(browser)
    return odoo.environment(
        PATH=os.pathsep.join([str(bin_dir), os.environ.get("PATH", os.defpath)]),
        HOME=home,
        XDG_CONFIG_HOME=home / ".config",
        XDG_CACHE_HOME=home / ".cache",
        XDG_DATA_HOME=home / ".local" / "share",
        TMPDIR=temporary_dir,
        # HOME moved: keep packages installed with `pip install --user` visible.
        PYTHONUSERBASE=site.getuserbase(),
    )


def run_pytest(config_file, database, env, pytest_arguments):
    """Run pytest-odoo; the default paths are pyproject.toml's `testpaths`."""
    odoo_options = [
        f"--odoo-database={database}",
        f"--odoo-config={config_file}",
        "--odoo-http",
        "--odoo-log-level=warn",
    ]
    return harness.run_child(
        [sys.executable, "-m", "pytest", *odoo_options, *pytest_arguments], env=env
    )


if __name__ == "__main__":
    harness.run_command(main)
