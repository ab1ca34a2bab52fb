"""Packaging: setup.py finds every addon, and its wheel installs them.

The wheel is built from a copy of the repository, installed into a fresh
virtual environment that sees the importable Odoo (`--system-site-packages`),
and the addons are installed from that environment's site-packages into a
database of their own, with an addons path that does not hold the
repository. Under `tools/run_tests.py` that database starts as a copy of the
dependencies template (the addons' dependencies installed, see
tools/templates.py); otherwise Odoo creates it.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import uuid
from configparser import ConfigParser
from contextlib import closing
from email.parser import Parser
from pathlib import Path
from zipfile import ZipFile

import pytest
from packaging.requirements import Requirement

from odoo.tools import config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import harness  # noqa: E402  (tools/ is a folder of scripts, not a package)
import run_tests  # noqa: E402
import templates  # noqa: E402

SETUP = importlib.util.spec_from_file_location("setup", ROOT / "setup.py")
setup_py = importlib.util.module_from_spec(SETUP)
SETUP.loader.exec_module(setup_py)  # defines its functions; `main` is not run

NOT_COPIED = shutil.ignore_patterns(
    ".git", ".local", "build", "dist", "*.egg-info", "__pycache__", "*.py[co]", "docs"
)


def write_addon(root, name, version, **manifest):
    addon_dir = root / name
    (addon_dir / "models").mkdir(parents=True)
    values = {"name": name, "version": version, "license": "AGPL-3", **manifest}
    (addon_dir / "__manifest__.py").write_text(repr(values), encoding="utf-8")
    (addon_dir / "__init__.py").write_text("from . import models\n", encoding="utf-8")
    (addon_dir / "models" / "__init__.py").write_text("", encoding="utf-8")
    return addon_dir


def test_setup_finds_every_installable_addon(tmp_path):
    write_addon(tmp_path, "shop", "18.0.1.2.0")
    write_addon(
        tmp_path,
        "shop_sale",
        "18.0.2.0.3",
        external_dependencies={"python": ["phonenumbers"]},
    )
    write_addon(tmp_path, "shop_old", "18.0.9.0.0", installable=False)
    (tmp_path / "tools").mkdir()  # no manifest: not an addon
    migration = tmp_path / "shop" / "migrations" / "18.0.1.2.0" / "post-migrate.py"
    migration.parent.mkdir(parents=True)
    migration.write_text("", encoding="utf-8")

    manifests = setup_py.addons(tmp_path)
    assert list(manifests) == ["shop", "shop_sale"]
    series = setup_py.odoo_series(manifests)
    assert series == "18.0"
    assert setup_py.odoo_requirement(series) == "odoo>=18.0a,<18.1dev"
    # Grows with any addon's version; a single addon's version otherwise.
    assert setup_py.distribution_version(manifests, series) == "18.0.3.2.3"
    assert setup_py.distribution_version({"shop": manifests["shop"]}, series) == (
        "18.0.1.2.0"
    )
    assert setup_py.python_requirements(manifests) == ["phonenumbers"]
    packages, package_dir, package_data = setup_py.packages_and_files(
        manifests, tmp_path
    )
    assert packages == [
        "odoo.addons.shop",
        "odoo.addons.shop.models",
        "odoo.addons.shop_sale",
        "odoo.addons.shop_sale.models",
    ]
    assert package_dir == {
        "odoo.addons.shop": "shop",
        "odoo.addons.shop_sale": "shop_sale",
    }
    assert "migrations/18.0.1.2.0/post-migrate.py" in package_data["odoo.addons.shop"]


def test_setup_refuses_addons_of_two_odoo_series(tmp_path):
    write_addon(tmp_path, "shop", "18.0.1.0.0")
    write_addon(tmp_path, "shop_sale", "17.0.1.0.0")
    with pytest.raises(SystemExit, match="different Odoo series"):
        setup_py.odoo_series(setup_py.addons(tmp_path))


def test_wheel_installs_the_addons_from_site_packages(tmp_path):
    addons = harness.addon_names()
    manifests = setup_py.addons()
    wheel = build_wheel(tmp_path)
    with ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = Parser().parsestr(
            archive.read(
                next(name for name in names if name.endswith("/METADATA"))
            ).decode()
        )
    series = setup_py.odoo_series(manifests)
    assert metadata["Version"] == setup_py.distribution_version(manifests, series)
    [odoo] = [
        Requirement(line)
        for line in metadata.get_all("Requires-Dist")
        if Requirement(line).name == "odoo"
    ]
    assert odoo.specifier.contains(series, prereleases=True)
    assert odoo.specifier.contains(f"{series}.20250101", prereleases=True)
    assert not odoo.specifier.contains("17.0") and not odoo.specifier.contains("18.1")
    for addon in addons:
        for path in (ROOT / addon).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                relative = path.relative_to(ROOT).as_posix()
                assert f"odoo/addons/{relative}" in names

    python = make_virtual_environment(tmp_path)
    run([python, "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)])
    site_addons = (
        Path(
            run(
                [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
            ).strip()
        )
        / "odoo"
        / "addons"
    )
    config_file = odoo_config_without_the_repository(tmp_path)
    located = run(
        [python, "-c", LOCATE_ADDONS, str(config_file), *addons], cwd=tmp_path
    ).split()
    assert located == [str(site_addons / addon) for addon in addons]

    database = f"{config['db_name']}_wheel_{uuid.uuid4().hex[:8]}"
    connection = harness.Connection(
        host=config["db_host"] or "",
        port=str(config["db_port"] or ""),
        user=config["db_user"] or "",
        password=config["db_password"] or "",
    )
    try:
        create_database(connection, database, tmp_path / "data")
        run(
            [
                python,
                "-m",
                "odoo",
                f"--config={config_file}",
                f"--database={database}",
                f"--init={','.join(addons)}",
                "--stop-after-init",
                "--no-http",
                "--log-level=warn",
            ],
            cwd=tmp_path,
        )
        assert installed_states(connection, database, addons) == {
            addon: "installed" for addon in addons
        }
    finally:
        harness.drop_database(connection, database)


# Run by the virtual environment's Python: where Odoo finds each addon.
LOCATE_ADDONS = """
import sys
import odoo
odoo.tools.config.parse_config(["--config", sys.argv[1]])
from odoo.modules.module import get_module_path
for addon in sys.argv[2:]:
    print(get_module_path(addon))
"""


def build_wheel(tmp_path):
    """The wheel of a copy of the repository (the build writes next to the
    sources), built offline."""
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_COPIED)
    dist = tmp_path / "dist"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            f"--wheel-dir={dist}",
            str(source),
        ]
    )
    [wheel] = dist.glob("*.whl")
    return wheel


def make_virtual_environment(tmp_path):
    """A new virtual environment whose Python imports the same Odoo, and
    the same pip (installing into the environment): copying pip into it
    took 2.5 of the test's 11 s."""
    venv = tmp_path / "venv"
    run(
        [
            sys.executable,
            "-m",
            "venv",
            "--system-site-packages",
            "--without-pip",
            str(venv),
        ]
    )
    return venv / "bin" / "python"


def odoo_config_without_the_repository(tmp_path):
    """The test run's Odoo configuration, less the repository in the addons
    path, with a data folder of its own."""
    parser = ConfigParser(interpolation=None)
    parser.read(config.rcfile)
    addons_path = [
        folder
        for folder in parser["options"]["addons_path"].split(",")
        if Path(folder).resolve() != ROOT
    ]
    assert addons_path, "Odoo's own addons folders"
    parser["options"]["addons_path"] = ",".join(addons_path)
    parser["options"]["data_dir"] = str(tmp_path / "data")
    config_file = tmp_path / "odoo.conf"
    with config_file.open("w", encoding="utf-8") as stream:
        parser.write(stream)
    return config_file


def create_database(connection, database, data_dir):
    """A copy of the dependencies template when the test command made one;
    otherwise nothing: Odoo creates the database when installing."""
    template = os.environ.get(run_tests.DEPENDENCIES_TEMPLATE_VARIABLE)
    if not template:
        return
    templates.copy_database(connection, template, database)
    filestore = (
        Path(os.environ[run_tests.TEMPLATES_DATA_DIR_VARIABLE]) / "filestore" / template
    )
    if filestore.is_dir():
        shutil.copytree(filestore, data_dir / "filestore" / database)


def installed_states(connection, database, addons):
    with closing(connection.connect(database)) as db, db.cursor() as cursor:
        cursor.execute(
            "SELECT name, state FROM ir_module_module WHERE name = ANY(%s)", [addons]
        )
        return dict(cursor.fetchall())


def run(command, cwd=None):
    """Run `command` (outside the repository by default); its output."""
    completed = subprocess.run(
        [str(part) for part in command],
        cwd=cwd or Path(os.environ.get("TMPDIR", "/tmp")),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout
