"""Template databases that spare the test command a fresh install each run.

Two templates for each set of the repository's addons the test command
installs (all of them, or one addon with those it depends on: see
addon_sets), each a database plus its filestore, are kept in the test
cluster (`.local/test-cluster/`), named by a hash of what they hold:

- the *dependencies* template: the addons' dependencies outside the
  repository (e.g. `account`) with their demo data; its hash covers Odoo
  (version, folders, and the newest modification time of its files, so
  that an update of Odoo builds the templates again) and the names of those
  dependencies;
- the *addons* template: a copy of the first with the set's addons
  installed, then the companies and users the test classes
  would each create (``consumer_preferences/tests/companies.py``) and the
  web client's asset bundles the browser tests load (both made by
  ``tools/prepare_test_data.py``); its hash adds every file under each
  addon's folder and that script, so that any change to them builds it
  again (from the first, which is the long part of an install).

Each run clones the addons template of the set it tests (`CREATE DATABASE
... TEMPLATE`, and a copy of the filestore) into a database of its own, and
the templates this checkout made that no set of addons names now (older
code, another Odoo) are dropped: a run of one set keeps the others'. A lock
file serialises the building, cloning and dropping of templates between
concurrent runs; marker files tell a complete template from an interrupted
build, and which templates of a shared server (PGHOST) are this checkout's.
"""

import fcntl
import hashlib
import os
import shutil
from contextlib import closing, contextmanager
from pathlib import Path

import harness

PREFIX = f"{harness.ADDON}_template_"
# Bump when what a template holds changes in a way no hashed input shows.
FORMAT = (
    "5: installed with demo data, the addons' with the test data of "
    "prepare_test_data.py, whose contents count"
)
# Neither part of an addon nor an input of its install.
SKIPPED = ("__pycache__", ".pyc", ".pyo")


class Templates:
    """The templates of one cluster, built with Odoo's config `config_file`
    whose `data_dir` is `data_dir`, the templates' own."""

    def __init__(self, *, odoo, connection, config_file, data_dir, folder, env):
        self.odoo = odoo
        self.connection = connection
        self.config_file = config_file
        self.data_dir = data_dir
        self.folder = folder
        self.env = env
        self.odoo_fingerprint = odoo_fingerprint(odoo)

    @contextmanager
    def locked(self):
        """Hold the templates' lock, against concurrent test runs."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "templates.lock", "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def prepare(self, addons):
        """The names of the dependencies and addons templates of `addons`
        (addons of the repository, one of addon_sets), each built if
        missing; the templates no set of addons names are dropped."""
        dependencies, addons_template = template_names(self.odoo_fingerprint, addons)
        self._template(dependencies, None, external_dependencies(addons))
        self._template(addons_template, dependencies, addons)
        keep = {
            name
            for addon_set in addon_sets()
            for name in template_names(self.odoo_fingerprint, addon_set)
        }
        self._drop_others(keep)
        return dependencies, addons_template

    def _template(self, name, source, addons):
        """Build the template `name` of `addons` (on a copy of `source`)
        unless it is complete."""
        complete = self._marker(name, "complete").is_file()
        if not (complete and harness.database_exists(self.connection, name)):
            self._build(name, source, addons)

    def clone(self, template, database, data_dir):
        """Create `database` as a copy of `template`, filestore included,
        for an Odoo whose `data_dir` is `data_dir`."""
        copy_database(self.connection, template, database)
        filestore = self.data_dir / "filestore" / template
        if filestore.is_dir():
            shutil.copytree(filestore, data_dir / "filestore" / database)

    def _build(self, name, source, addons):
        """Install `addons` into `name`, a copy of `source` (or a new
        database); mark it complete once Odoo succeeded."""
        self._drop(name)
        self._marker(name, "building").touch()
        if source:
            self.clone(source, name, self.data_dir)
        code = harness.install_addon(
            self.odoo, self.config_file, name, self.env, addons=addons
        )
        if code:
            raise harness.HarnessError(
                f"Installing {', '.join(addons)} into the template {name} failed "
                f"(exit code {code}, Odoo's log above)."
            )
        check_repository_addons(self.connection, name, addons)
        if harness.ADDON in addons:
            code = harness.prepare_test_data(
                self.odoo, self.config_file, name, self.env
            )
            if code:
                raise harness.HarnessError(
                    f"Preparing the test data in the template {name} failed "
                    f"(exit code {code}, Odoo's log above)."
                )
        self._marker(name, "complete").touch()
        self._marker(name, "building").unlink()

    def _marker(self, name, state):
        return self.folder / f"{name}.{state}"

    def _drop(self, name):
        """Drop a template, its filestore and markers."""
        self._marker(name, "complete").unlink(missing_ok=True)
        harness.drop_database(self.connection, name)
        shutil.rmtree(self.data_dir / "filestore" / name, ignore_errors=True)
        self._marker(name, "building").unlink(missing_ok=True)

    def _drop_others(self, keep):
        """Drop this checkout's templates that `keep` does not name (older
        code, another Odoo), built or interrupted."""
        made = {marker.stem for marker in self.folder.glob(f"{PREFIX}*.*")}
        for name in sorted(made - keep):
            self._drop(name)


def odoo_fingerprint(odoo):
    """Odoo's version, folders and the newest modification time of its
    files: what changes when Odoo is updated (a stat of some 40,000 files,
    a few seconds at most)."""
    from odoo import release  # importable: `odoo` was found

    folders = [odoo.package_dir, *odoo.addons_path.split(",")]
    folders = [Path(folder) for folder in folders if Path(folder) != harness.ROOT]
    newest = max(
        os.stat(os.path.join(folder, name)).st_mtime_ns
        for top in folders
        for folder, _subfolders, names in os.walk(top)
        for name in names
    )
    return f"{release.version} {' '.join(map(str, folders))} {newest}"


def addon_sets(root=harness.ROOT):
    """Each set of the repository's addons the test command installs, as a
    sorted tuple: all of them (its default), and each addon with those it
    depends on (`--alone ADDON`)."""
    every_addon = harness.addon_names(root)
    return sorted(
        {tuple(every_addon)}
        | {tuple(harness.addon_with_dependencies(addon, root)) for addon in every_addon}
    )


def template_names(odoo_fingerprint, addons, root=harness.ROOT):
    """The names of the dependencies and addons templates of `addons`."""
    dependencies = template_name(
        "dependencies", odoo_fingerprint, None, external_dependencies(addons, root)
    )
    return dependencies, template_name(
        "addons", odoo_fingerprint, dependencies, addons, root
    )


def template_name(kind, odoo_fingerprint, source, addons, root=harness.ROOT):
    """A template's name: `kind` and a hash of `odoo_fingerprint`, the
    `source` template, the names of `addons` and, for those that are addons
    of the repository `root`, every file under their folders; when the
    template is prepared for the tests (it holds this repository's addon),
    the preparing script too."""
    digest = hashlib.sha256()
    for part in (FORMAT, odoo_fingerprint, source, *addons):
        digest.update(f"{part}\n".encode())
    prepare_script = root / harness.PREPARE_TEST_DATA
    if harness.ADDON in addons and prepare_script.is_file():
        digest.update(prepare_script.read_bytes())
    for addon in addons:
        addon_dir = root / addon
        if not (addon_dir / "__manifest__.py").is_file():
            continue  # an addon of Odoo's, such as `account`
        for path in sorted(addon_dir.rglob("*")):
            if path.is_file() and not _skipped(path):
                digest.update(f"\n{path.relative_to(root)}\n".encode())
                digest.update(path.read_bytes())
    return f"{PREFIX}{kind}_{digest.hexdigest()[:12]}"


def external_dependencies(addons, root=harness.ROOT):
    """The addons' dependencies that are not addons of the repository."""
    depends = {
        dependency
        for addon in addons
        for dependency in harness.read_manifest(root / addon).get("depends", [])
    }
    return sorted((depends - set(harness.addon_names(root))) or {"base"})


def check_repository_addons(connection, template, addons):
    """Fail unless the repository's addons installed in `template` are those
    of `addons`. Odoo also installs an `auto_install` addon once all its
    dependencies are: a template meant for an addon without the others would
    then hold them, and the run of `--alone` would not test what it says."""
    repository_addons = harness.addon_names()
    expected = sorted(set(addons) & set(repository_addons))
    installed = harness.installed_addons(connection, template, repository_addons)
    if installed != expected:
        raise harness.HarnessError(
            f"The template {template} should hold "
            f"{', '.join(expected) or 'none'} of the repository's addons, "
            f"but Odoo installed {', '.join(installed) or 'none'} (an "
            "auto_install addon whose dependencies are all installed?): "
            "that set of addons cannot be tested apart."
        )


def copy_database(connection, template, database):
    """CREATE DATABASE `database` TEMPLATE `template`."""
    from psycopg2 import sql  # importable once Odoo is

    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(database), sql.Identifier(template)
    )
    with closing(connection.connect()) as server, server.cursor() as cursor:
        cursor.execute(statement)


def _skipped(path):
    return path.suffix in SKIPPED or any(part in SKIPPED for part in path.parts)
