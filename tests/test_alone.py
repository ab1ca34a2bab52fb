"""The test command's `--alone ADDON` (tools/run_tests.py): which addons it
installs, which tests it runs, and that its templates and the default run's
are kept side by side (tools/templates.py).

Plain pytest functions, on small repositories made here, on this one and on
this run's database; CI runs the command itself both ways (`.ci/run`).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from odoo.modules.module import get_manifest
from odoo.tools import config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import harness  # noqa: E402  (tools/ is a folder of scripts, not a package)
import run_tests  # noqa: E402
import templates  # noqa: E402

ODOO = "18.0 /opt/odoo/odoo /opt/odoo/addons 1755817188000000000"


def write_addon(root, name, depends, **manifest):
    addon_dir = root / name
    addon_dir.mkdir()
    values = {"name": name, "depends": depends, **manifest}
    (addon_dir / "__manifest__.py").write_text(repr(values), encoding="utf-8")


def make_repository(root):
    """`shop`, a bridge `shop_sale` (with Odoo's `sale`), and `shop_portal`
    on the bridge; `shop_old` is not installable."""
    write_addon(root, "shop", ["account", "mail"])
    write_addon(root, "shop_sale", ["shop", "sale"], auto_install=True)
    write_addon(root, "shop_portal", ["shop_sale", "portal"])
    write_addon(root, "shop_old", ["shop"], installable=False)


def test_an_addon_alone_comes_with_the_repository_addons_it_depends_on(tmp_path):
    make_repository(tmp_path)
    assert harness.addon_with_dependencies("shop", tmp_path) == ["shop"]
    assert harness.addon_with_dependencies("shop_sale", tmp_path) == [
        "shop",
        "shop_sale",
    ]
    assert harness.addon_with_dependencies("shop_portal", tmp_path) == [
        "shop",
        "shop_portal",
        "shop_sale",
    ]
    assert templates.external_dependencies(["shop"], tmp_path) == ["account", "mail"]
    assert templates.external_dependencies(["shop", "shop_sale"], tmp_path) == [
        "account",
        "mail",
        "sale",
    ]


def test_each_set_of_addons_has_templates_of_its_own(tmp_path):
    make_repository(tmp_path)
    every_addon = ("shop", "shop_portal", "shop_sale")
    assert templates.addon_sets(tmp_path) == [
        ("shop",),
        ("shop", "shop_portal", "shop_sale"),
        ("shop", "shop_sale"),
    ]
    alone = templates.template_names(ODOO, ("shop",), tmp_path)
    every = templates.template_names(ODOO, every_addon, tmp_path)
    # Without `sale` and the bridge: neither template is the default run's.
    assert alone[0] != every[0] and alone[1] != every[1]
    assert alone[0].startswith(templates.PREFIX + "dependencies_")
    assert alone[1].startswith(templates.PREFIX + "addons_")
    # A change to an addon names other templates for every set holding it.
    (tmp_path / "shop" / "views.xml").write_text("<odoo/>", encoding="utf-8")
    assert templates.template_names(ODOO, ("shop",), tmp_path)[1] != alone[1]
    assert templates.template_names(ODOO, every_addon, tmp_path)[1] != every[1]


def test_the_runs_keep_each_others_templates():
    """A run drops the templates no set of addons names: those of the default
    run and of `--alone consumer_preferences` are both among the kept."""
    sets = templates.addon_sets()
    assert tuple(harness.addon_names()) in sets
    assert ("consumer_preferences",) in sets


def test_consumer_preferences_alone_goes_without_sale():
    """What `--alone consumer_preferences` installs leaves out Odoo's `sale`,
    even through Odoo's addons, so that the Sales bridge (`auto_install`
    with `sale`) is not installed with it (the template's build checks that
    it is not)."""
    assert harness.addon_with_dependencies(harness.ADDON) == [harness.ADDON]
    needed, pending = set(), list(templates.external_dependencies([harness.ADDON]))
    while pending:
        addon = pending.pop()
        if addon not in needed:
            needed.add(addon)
            pending += get_manifest(addon)["depends"]
    assert {"account", "mail", "sales_team"} <= needed
    assert "sale" not in needed


def test_a_template_holding_another_addon_of_the_repository_is_refused():
    """This run's database, a copy of the default run's template, holds every
    addon: a template of `consumer_preferences` alone holding as much would
    fail its build rather than test what the default run tests."""
    connection = harness.Connection(
        host=config["db_host"] or "",
        port=str(config["db_port"] or ""),
        user=config["db_user"] or "",
        password=config["db_password"] or "",
    )
    database = config["db_name"]
    templates.check_repository_addons(connection, database, harness.addon_names())
    with pytest.raises(
        harness.HarnessError,
        match=f"should hold {harness.ADDON} of the repository's addons, but Odoo "
        f"installed {', '.join(harness.addon_names())}",
    ):
        templates.check_repository_addons(connection, database, [harness.ADDON])


def test_the_default_run_installs_every_addon_and_runs_every_test():
    arguments = run_tests.parse_arguments(["--", "-k", "history"])
    assert arguments.alone is None
    assert arguments.pytest_arguments == ["-k", "history"]
    # No arguments: pyproject.toml's `testpaths`.
    assert run_tests.configuration(None) == (harness.addon_names(), [])


def test_alone_runs_the_addon_tests_only():
    arguments = run_tests.parse_arguments(["--alone", harness.ADDON, "--", "-x"])
    assert arguments.alone == harness.ADDON
    assert arguments.pytest_arguments == ["-x"]
    assert run_tests.configuration(harness.ADDON) == (
        [harness.ADDON],
        ["--override-ini", f"testpaths={harness.ADDON}/tests"],
    )


def test_alone_refuses_what_is_not_an_addon_of_the_repository(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_tests.parse_arguments(["--alone", "sale"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'sale'" in capsys.readouterr().err


def collected(root, arguments):
    """The test files pytest collects in `root` with `arguments`."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *arguments]
        + ["-p", "no:cacheprovider"],
        cwd=root,
        # Neither pytest-odoo nor this repository's settings: pytest alone.
        env=os.environ | {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return {line.split("::")[0] for line in result.stdout.splitlines() if "::" in line}


def test_alone_tests_replace_the_default_paths_unless_paths_are_given(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\ntestpaths = ["shop/tests", "tests"]\n',
        encoding="utf-8",
    )
    addon_test, end_to_end_test = "shop/tests/test_shop.py", "tests/test_shop_e2e.py"
    for test_file in (addon_test, end_to_end_test):
        (tmp_path / test_file).parent.mkdir(parents=True)
        (tmp_path / test_file).write_text("def test_it(): pass\n", encoding="utf-8")
    _addons, default_tests = run_tests.configuration(harness.ADDON)
    default_tests = [part.replace(harness.ADDON, "shop") for part in default_tests]
    assert collected(tmp_path, []) == {addon_test, end_to_end_test}
    assert collected(tmp_path, default_tests) == {addon_test}
    # Paths after `--` replace them, as they replace pyproject.toml's.
    assert collected(tmp_path, [*default_tests, "tests"]) == {end_to_end_test}
