"""Lint, then run every test of consumer_preferences in a throwaway database.

    python3 tools/run_tests.py [--alone ADDON] [-- PYTEST_ARGUMENTS]

Steps: check the prerequisites (Odoo 18.0, PostgreSQL, a Chromium and
websocket-client, since Odoo silently skips browser tests without them), lint
with `pre-commit run --all-files` (the hooks of `.pre-commit-config.yaml`:
ruff, pylint-odoo, OCA's module and .po checks, the addon README and complete
translations) unless the very same files passed it before, start the
PostgreSQL cluster of `.local/test-cluster/` unless another run already did,
copy the template database with the repository's
addons and their demo data installed (built first when missing or out of
date, see templates.py) into a new database, run pytest-odoo over
`consumer_preferences/tests`, `consumer_preferences_sale/tests` and `tests/`
with a run folder `.local/test-<random>/`, then drop the database, delete the
folder, and stop the cluster unless another run still uses it. The exit code
is pytest's.

With `--alone ADDON`, the template and so the database hold only ADDON and
the repository's addons it depends on (for `consumer_preferences`: itself,
without `consumer_preferences_sale` nor Odoo's `sale`), and only ADDON's
tests run: what a customer who installs that addon alone gets. CI runs both.

Arguments after `--` go to pytest; paths among them replace the default ones:

    python3 tools/run_tests.py -- -k history consumer_preferences/tests/test_history.py
"""

import argparse
import hashlib
import importlib.metadata
import importlib.util
import os
import secrets
import shlex
import shutil
import site
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path

import harness
from templates import Templates

# The names Odoo 18 looks up on PATH, in its order (odoo.tests.common).
BROWSER_NAMES = (
    "google-chrome",
    "chromium",
    "chromium-browser",
    "google-chrome-stable",
)
# What pytest-odoo copies each pytest-xdist worker's database with.
DATABASE_PROGRAMS = ("createdb", "dropdb")
INSTALL_HINT = "run `python3 -m pip install -r requirements.txt`"
# The cluster every run uses, with the template databases and their files.
CLUSTER_DIR = harness.LOCAL_DIR / "test-cluster"
# Where the test processes keep Python's compiled modules (see
# with_bytecode_cache).
BYTECODE_DIR = harness.LOCAL_DIR / "pycache"
# Where, under a repository, the key of the files that passed the lint last
# is kept (see lint).
LINT_PASSED_DIR = Path(".local", "lint-passed")
# What the tests learn of the templates (tests/test_packaging.py).
DEPENDENCIES_TEMPLATE_VARIABLE = "CONSUMER_PREFERENCES_DEPENDENCIES_TEMPLATE"
TEMPLATES_DATA_DIR_VARIABLE = "CONSUMER_PREFERENCES_TEMPLATES_DATA_DIR"


def main(argv=None):
    """Run the whole command; return the exit code."""
    arguments = parse_arguments(argv)
    addons, default_tests = configuration(arguments.alone)
    if arguments.alone:
        left_out = sorted(set(harness.addon_names()) - set(addons))
        print(
            f"Testing {arguments.alone} alone: installing {', '.join(addons)}"
            + (f", not {', '.join(left_out)}." if left_out else "."),
            flush=True,
        )
    run_id = secrets.token_hex(4)
    folder = harness.LOCAL_DIR / f"test-{run_id}"
    odoo = harness.find_odoo()
    postgres = harness.postgres_for(CLUSTER_DIR)
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
        addons=addons,
        pytest_arguments=default_tests + arguments.pytest_arguments,
    )


def parse_arguments(argv):
    """The command's arguments: `alone` (an addon of the repository, or
    None) and `pytest_arguments` (everything after `--`)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0],
        epilog="Examples: python3 tools/run_tests.py -- -k history -x; "
        "python3 tools/run_tests.py --alone consumer_preferences",
    )
    parser.add_argument(
        "--alone",
        metavar="ADDON",
        choices=harness.addon_names(),
        help="install only ADDON and the repository's addons it depends on, "
        "and run ADDON's tests only (default: every addon, every test)",
    )
    parser.add_argument(
        "pytest_arguments", nargs="*", help="passed on to pytest, after `--`"
    )
    return parser.parse_args(argv)


def configuration(alone):
    """The repository's addons a run installs, and the pytest arguments that
    name its tests when the user names none (paths after `--` replace them).

    By default every addon, and pyproject.toml's `testpaths`; with `alone`,
    that addon with the repository's addons it depends on, and its own tests
    only, as `testpaths` too: the other addons' tests and the end-to-end
    tests of `tests/` expect every addon installed.
    """
    if alone is None:
        return harness.addon_names(), []
    return (
        harness.addon_with_dependencies(alone),
        ["--override-ini", f"testpaths={alone}/tests"],
    )


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
        ("xdist", "pytest-xdist"),
        ("websocket", "websocket-client"),
        ("ruff", "ruff"),
        ("pre_commit", "pre-commit"),
        ("pylint_odoo", "pylint-odoo"),
        ("oca_pre_commit_hooks", "oca-odoo-pre-commit-hooks"),
    ):
        if importlib.util.find_spec(module) is None:
            raise harness.HarnessError(
                f"The Python package {package} is missing: {INSTALL_HINT}."
            )


def lint(root=harness.ROOT):
    """Run every hook of `.pre-commit-config.yaml` on every file of the
    repository, as `pre-commit run --all-files` does; return its exit code.

    Unless the very same files passed them before, with the same programs: a
    passing run leaves its key (lint_key) in `.local/lint-passed/`, and the
    hooks only ever read the files and their own settings, which the key
    covers. The next run skips them, and says so.
    """
    key = lint_key(root)
    passed_dir = root / LINT_PASSED_DIR
    passed = passed_dir / (key or "none")
    if key and passed.is_file():
        print(
            "Linting: skipped, these very files passed every hook of "
            f".pre-commit-config.yaml with the same programs ({key[:12]}).",
            flush=True,
        )
        return 0
    print("Linting: pre-commit run --all-files ...", flush=True)
    code = harness.run_child(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        env=lint_environment(),
        cwd=root,
    )
    if code == 0 and key and key == lint_key(root):  # no file changed meanwhile
        shutil.rmtree(passed_dir, ignore_errors=True)
        passed_dir.mkdir(parents=True)
        passed.touch()
    return code


def lint_key(root):
    """A hash of what the hooks read: every file `pre-commit run --all-files`
    checks (those git lists, their paths and contents as on disk, the hooks'
    settings among them), the Python and the packages installed in it (the
    linters and their plugins) and the `msgfmt` that checks translations.
    None outside a git work tree (pre-commit then says what is wrong)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=False
    )
    if listed.returncode:
        return None
    msgfmt = shutil.which("msgfmt")
    digest = hashlib.sha256(f"{sys.version}\n".encode())
    for distribution in sorted(
        f"{dist.metadata['Name']}=={dist.version}"
        for dist in importlib.metadata.distributions()
    ):
        digest.update(f"{distribution}\n".encode())
    if msgfmt:
        digest.update(subprocess.run([msgfmt, "--version"], capture_output=True).stdout)
    for name in sorted(filter(None, listed.stdout.decode().split("\0"))):
        path = root / name
        digest.update(f"\n{name}\n".encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def lint_environment():
    """The environment of pre-commit: the hooks' programs (`ruff`, `pylint`,
    `oca-checks-po`, `python3`) are those of the Python running this command,
    found first on PATH, and pre-commit keeps its cache in `.local/`."""
    scripts = [sysconfig.get_path("scripts"), str(Path(sys.executable).parent)]
    user_scripts = sysconfig.get_path("scripts", f"{os.name}_user")
    if user_scripts:
        scripts.append(user_scripts)
    path = os.pathsep.join([*scripts, os.environ.get("PATH", os.defpath)])
    return with_bytecode_cache(
        os.environ
        | {"PATH": path, "PRE_COMMIT_HOME": str(harness.LOCAL_DIR / "pre-commit")}
    )


def run_suite(*, odoo, postgres, folder, database, browser, addons, pytest_arguments):
    """Clone the template of `addons` (built first if missing) into a new
    database, run pytest-odoo, clean up."""
    folder.mkdir(parents=True)
    try:
        with postgres.running() as connection:
            options = {
                "odoo": odoo,
                "connection": connection,
                "max_cron_threads": 0,
                # Browser tests serve Odoo over HTTP: a free port lets two
                # runs (or a demo on 8069) share the machine.
                "http_port": free_port(),
            }
            config_file = harness.write_odoo_config(
                folder / "odoo.conf", data_dir=folder / "data", **options
            )
            env = test_environment(odoo, folder, browser)
            database_programs(folder / "bin", postgres)
            templates = Templates(
                odoo=odoo,
                connection=connection,
                config_file=harness.write_odoo_config(
                    folder / "templates.conf", data_dir=CLUSTER_DIR / "data", **options
                ),
                data_dir=CLUSTER_DIR / "data",
                folder=CLUSTER_DIR,
                env=env,
            )
            try:
                with templates.locked():
                    dependencies, template = templates.prepare(addons)
                    print(f"Copying {template} into {database} ...", flush=True)
                    templates.clone(template, database, folder / "data")
                env |= {
                    DEPENDENCIES_TEMPLATE_VARIABLE: dependencies,
                    TEMPLATES_DATA_DIR_VARIABLE: str(CLUSTER_DIR / "data"),
                }
                return run_pytest(config_file, database, env, pytest_arguments)
            finally:
                harness.drop_database(connection, database)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def database_programs(bin_dir, postgres):
    """Make PostgreSQL's `createdb` and `dropdb` reach the tests' server.

    pytest-odoo runs each pytest-xdist worker on its own copy of the test
    database, which it makes and drops with these two programs. A server
    named by PGHOST is reached through the PG* variables already; for a
    cluster of ours, `bin_dir` (first on the tests' PATH) gets two wrappers
    naming it, rather than PG* variables, which would change the server the
    harness's own tests pick.
    """
    if isinstance(postgres, harness.ExistingServer):
        for program in DATABASE_PROGRAMS:
            if not shutil.which(program):
                raise harness.HarnessError(
                    f"PostgreSQL's {program} is not on PATH: the tests run in "
                    "parallel on copies of the test database made with it; "
                    "install PostgreSQL's client programs."
                )
        return
    connection = postgres.connection
    for program in DATABASE_PROGRAMS:
        wrapper = bin_dir / program
        wrapper.write_text(
            "#!/bin/sh\n"
            f"exec {shlex.quote(str(postgres.bindir / program))}"
            f" --host={shlex.quote(connection.host)} --port={connection.port}"
            f' --username={shlex.quote(connection.user)} "$@"\n',
            encoding="utf-8",
        )
        wrapper.chmod(0o755)


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
    env = odoo.environment(
        PATH=os.pathsep.join([str(bin_dir), os.environ.get("PATH", os.defpath)]),
        HOME=home,
        XDG_CONFIG_HOME=home / ".config",
        XDG_CACHE_HOME=home / ".cache",
        XDG_DATA_HOME=home / ".local" / "share",
        TMPDIR=temporary_dir,
        # HOME moved: keep packages installed with `pip install --user` visible.
        PYTHONUSERBASE=site.getuserbase(),
    )
    return with_bytecode_cache(env)


def with_bytecode_cache(env):
    """`env` with Python's compiled modules kept in `.local/pycache/`
    (PYTHONPYCACHEPREFIX), even where PYTHONDONTWRITEBYTECODE is set.

    Each of a run's dozen Python processes (pytest's workers, the Odoo
    processes of the templates, the lifecycle and the wheel tests, the lint)
    imports Odoo and its addons, or pylint; without a cache, each compiles
    every module again, and pytest rewrites the test modules again. Python
    checks each compiled module against its source, so a changed file is
    compiled again; nothing is written next to the sources.
    """
    env = env | {"PYTHONPYCACHEPREFIX": str(BYTECODE_DIR)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_pytest(config_file, database, env, pytest_arguments):
    """Run pytest-odoo; the default paths are pyproject.toml's `testpaths`."""
    odoo_options = [
        # One worker per core, each on its own copy of the database; a class
        # of Odoo tests (or a module of functions) stays on one worker, so
        # that its setUpClass runs once.
        "--numprocesses=auto",
        "--dist=loadscope",
        # In the order conftest.py gives (longest first), not by number of tests.
        "--no-loadscope-reorder",
        f"--odoo-database={database}",
        f"--odoo-config={config_file}",
        "--odoo-http",
        "--odoo-log-level=warn",
        # pytest-benchmark, when installed, warns that xdist disables it, and
        # Odoo logs that warning with a stack trace: nothing here uses it.
        "-p",
        "no:benchmark",
    ]
    return harness.run_child(
        [sys.executable, "-m", "pytest", *odoo_options, *pytest_arguments], env=env
    )


if __name__ == "__main__":
    harness.run_command(main)
