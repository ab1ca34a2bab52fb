"""Posting under load: a multi-worker Odoo with and without the addon, same run.

    python3 benchmarks/bench_load.py [--clients 8] [--invoices 100] [--rounds 2]
        [--customers 2] [--products 5] [--port 8079]
        [--server-per-database | --servers-per-database N] [--reset]

The first run creates, in a private PostgreSQL cluster in
``.local/bench-load/``, the databases ``bench_plain`` (``account`` with demo
data) and ``bench_addon`` (consumer_preferences with demo data); later runs
reuse them, updating the addon to the code checked out (``--reset`` deletes
them first; each install takes a minute or two). One stock Odoo server
(``--workers=4``, two cron workers, log level info, log in
``.local/bench-load/odoo-server.log``) serves both on 127.0.0.1; it is started
like odoo-bin, through a small launcher that keeps its websocket process from
restarting in a loop where gevent mode cannot start (see ``LAUNCHER``). With
``--server-per-database``, two such servers (ports PORT and PORT+1) serve one
database each, as production servers do: a server with several databases
closes its cron workers' connections after each of their wake-ups, so that
every wake-up (each trigger of a scheduled action) opens new PostgreSQL
sessions, which a single-database server does not. With
``--servers-per-database N``, N servers share each database (ports PORT to
PORT+2N-1), the clients spread over them, as several Odoo servers behind one
load balancer: their cron workers all hear the scheduled action's triggers
and take turns at it.

Each round measures both databases, in alternating order (plain, addon, then
addon, plain, ...) so that the machine's noise hits both alike. A measurement
creates CUSTOMERS new customers and PRODUCTS new products, then CLIENTS
threads each create INVOICES customer invoices over XML-RPC as admin (one of
those customers, 1 to 3 lines of those products, price 10, random quantities
and invoice dates over the last four months; the same seeded workload in both
databases) and post each one with ``action_post``, whose latency is timed.
Beforehand, each database is warmed up (every client posts a few invoices) and
the script waits until Odoo's processes are idle. Each measurement reports:

- posted (the invoices whose state is ``posted`` afterwards) and failed (the
  ``action_post`` calls that raised, by message);
- retries: the server log's "tries left" lines of that database written during
  the measurement (Odoo retrying a request after a serialization failure or a
  lock not available), by PostgreSQL error;
- the p50 and p95 of ``action_post``, every call counted;
- the CPU time Odoo's processes and PostgreSQL's used per posting (create and
  post), less sensitive than latencies to a busy machine;
- with the addon: the keys queued for the scheduled action, the time it took to
  drain the queue and the action's runs until then, then the invariant,
  checked in SQL for every key (company, commercial partner, product) of the
  measurement's customers: the history
  line's invoice and refund counts, quantity and amount equal the aggregate of
  the posted customer invoice and credit note lines.

The summary sums the rounds (medians for the latencies) and checks the targets:
no failure, retries with the addon at most those of plain Odoo plus 1 % of the
postings, p95 with the addon at most 1.1 times plain Odoo's, every key exact.
Ctrl-C stops Odoo and the cluster.
"""

import argparse
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import xmlrpc.client
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import harness  # noqa: E402

FOLDER = harness.LOCAL_DIR / "bench-load"
PLAIN, ADDON = "plain", "addon"
DATABASES = {PLAIN: "bench_plain", ADDON: "bench_addon"}
MODULES = {PLAIN: "account", ADDON: harness.ADDON}
LOGIN = PASSWORD = "admin"
WORKERS = 4
WARM_UP_INVOICES = 3
PRICE = 10.0
MAX_LINES = 3
MAX_QUANTITY = 10
DATE_SPREAD_DAYS = 120
DRAIN_TIMEOUT = 180
SERVER_START_TIMEOUT = 180
IDLE_TIMEOUT = 120
IDLE_WINDOW = 3.0
IDLE_CPU_SHARE = 0.1
QUEUE_TABLE = "consumer_preference_history_queue"
QUEUE_CRON = ("consumer_preferences", "ir_cron_consumer_preference_history_queue")

TARGET_FAILURES = 0
TARGET_EXTRA_RETRIES_PERCENT = 1.0
TARGET_P95_RATIO = 1.1

# "2025-01-01 12:00:00,123 4242 INFO bench_addon odoo.service.model: message"
LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (?P<level>\w+) (?P<db>\S+) "
    r"(?P<logger>\S+): (?P<message>.*)$"
)


def main(argv=None):
    arguments = parse_arguments(argv)
    odoo = harness.find_odoo()
    cluster = harness.EmbeddedCluster(
        FOLDER / "postgres", harness.find_postgres_bindir()
    )
    if arguments.reset:
        print(f"Deleting {FOLDER} ...", flush=True)
        if cluster.is_running():
            cluster._stop()
        shutil.rmtree(FOLDER, ignore_errors=True)
    FOLDER.mkdir(parents=True, exist_ok=True)
    with cluster.running() as connection:
        config_file = harness.write_odoo_config(
            FOLDER / "odoo.conf",
            odoo=odoo,
            connection=connection,
            data_dir=FOLDER / "data",
        )
        env = odoo.environment()
        for kind in (PLAIN, ADDON):
            prepare_database(odoo, config_file, env, connection, kind)
        with ExitStack() as stack:
            if arguments.servers_per_database:
                # Each database served by its own servers, on ports from PORT.
                ports = iter(range(arguments.port, arguments.port + 100))
                servers = {
                    kind: [
                        stack.enter_context(
                            odoo_server(
                                odoo,
                                config_file,
                                env,
                                next(ports),
                                FOLDER / f"odoo-server-{kind}-{number}.log",
                                database=DATABASES[kind],
                            )
                        )
                        for number in range(1, arguments.servers_per_database + 1)
                    ]
                    for kind in (PLAIN, ADDON)
                }
            else:
                server = stack.enter_context(
                    odoo_server(
                        odoo,
                        config_file,
                        env,
                        arguments.port,
                        FOLDER / "odoo-server.log",
                    )
                )
                servers = {PLAIN: [server], ADDON: [server]}
            bench = LoadBench(servers, postmaster_pid(cluster), connection, arguments)
            measurements = bench.run()
    report(measurements, arguments)
    return 0


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--clients", type=int, default=8, help="parallel clients")
    parser.add_argument(
        "--invoices", type=int, default=100, help="invoices each client posts"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds of plain + addon measurements"
    )
    parser.add_argument("--customers", type=int, default=2, help="customers a round")
    parser.add_argument("--products", type=int, default=5, help="products a round")
    parser.add_argument("--port", type=int, default=8079, help="default: 8079")
    parser.add_argument(
        "--server-per-database",
        dest="servers_per_database",
        action="store_const",
        const=1,
        default=0,
        help="one Odoo server per database (ports PORT and PORT+1), as in "
        "production, instead of one serving both",
    )
    parser.add_argument(
        "--servers-per-database",
        type=int,
        metavar="N",
        default=0,
        help="N Odoo servers share each database (ports PORT to PORT+2N-1), "
        "the clients spread over them",
    )
    parser.add_argument(
        "--reset", action="store_true", help="delete the databases and cluster first"
    )
    arguments = parser.parse_args(argv)
    if arguments.servers_per_database < 0:
        parser.error("--servers-per-database takes a number of servers, 1 or more")
    return arguments


# Databases and server ----------------------------------------------------------


def prepare_database(odoo, config_file, env, connection, kind):
    """Install the database's module with demo data, unless a previous run did;
    update the addon when reusing its database."""
    database, module = DATABASES[kind], MODULES[kind]
    start = time.perf_counter()
    if module_installed(connection, database, module):
        if kind == PLAIN:
            return
        print(f"Updating {module} in {database} ...", flush=True)
        options = [f"--update={module}"]
    else:
        print(f"Installing {module} with demo data into {database} ...", flush=True)
        harness.drop_database(connection, database)
        options = [f"--init={module}"]
    command = odoo.command(
        config_file,
        f"--database={database}",
        *options,
        "--stop-after-init",
        "--log-level=warn",
    )
    if harness.run_child(command, env=env):
        raise harness.HarnessError(f"Odoo could not prepare {database}.")
    print(f"  done in {time.perf_counter() - start:.0f} s", flush=True)


def module_installed(connection, database, module):
    if not harness.database_exists(connection, database):
        return False
    with closing(connection.connect(database)) as odoo_db, odoo_db.cursor() as cursor:
        cursor.execute("SELECT to_regclass('ir_module_module') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return False
        cursor.execute("SELECT state FROM ir_module_module WHERE name = %s", [module])
        return cursor.fetchone() == ("installed",)


# Odoo's command line, as odoo-bin. Multi-worker Odoo also starts
# `sys.argv[0] gevent ...`, its websocket server, and starts it again whenever
# it exits: under `python -m odoo` (sys.argv[0] is odoo/__main__.py, which
# cannot run as a script), or without psycogreen, it exits at once, and the
# loop burns about a core. This launcher runs it, or when gevent mode cannot
# start, a stand-in that sleeps until Odoo stops it (XML-RPC needs no
# websocket).
LAUNCHER = """\
import signal
import sys

if sys.argv[1:2] == ["gevent"]:
    try:
        import gevent  # noqa: F401
        import psycogreen.gevent  # noqa: F401
    except ImportError:
        while True:
            signal.pause()

from odoo.cli.command import main

main()
"""


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    log_file: Path


@contextmanager
def odoo_server(odoo, config_file, env, port, log_file, database=None):
    """Run a multi-worker Odoo on 127.0.0.1:``port`` until the block ends; yield
    it once ``/web/login`` answers. With ``database``, it serves that one
    database only (as a production server does: its cron workers then keep
    their connections)."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise harness.HarnessError(f"Port {port} is taken: pass another --port.")
    log_file.unlink(missing_ok=True)
    launcher = FOLDER / "odoo_launcher.py"
    launcher.write_text(LAUNCHER, encoding="utf-8")
    command = [
        sys.executable,
        str(launcher),
        f"--config={config_file}",
        f"--workers={WORKERS}",
        f"--http-port={port}",
        f"--logfile={log_file}",
    ]
    if database:
        command += [f"--database={database}", f"--db-filter=^{database}$"]
    with open(log_file.with_suffix(".out"), "w", encoding="utf-8") as output:
        # Its own session: Ctrl-C reaches this script only, which then stops
        # Odoo with SIGTERM like any other ending.
        process = subprocess.Popen(
            command,
            env=env,
            cwd=harness.ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_server(process, url, log_file)
        print(
            f"Odoo serves {database or 'both databases'} at {url} (pid {process.pid})",
            flush=True,
        )
        yield Server(url, process.pid, log_file)
    finally:
        stop_server(process)


def wait_for_server(process, url, log_file):
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise harness.HarnessError(
                f"Odoo exited with code {process.returncode}: see {log_file}."
            )
        try:
            with urllib.request.urlopen(f"{url}/web/login", timeout=10):
                return
        except urllib.error.HTTPError:
            return  # it answers, if not with the login page
        except OSError:
            time.sleep(0.5)
    raise harness.HarnessError(f"Odoo did not answer within {SERVER_START_TIMEOUT} s.")


def wait_until_idle(pid):
    """Wait until Odoo's processes (the server, its HTTP and cron workers) use
    less than a tenth of a core: workers loading registries, crons running
    every past-due job of a fresh start, would weigh on a measurement."""
    start = time.perf_counter()
    previous = process_tree_cpu(pid)
    while time.perf_counter() - start < IDLE_TIMEOUT:
        time.sleep(IDLE_WINDOW)
        current = process_tree_cpu(pid)
        if current - previous < IDLE_WINDOW * IDLE_CPU_SHARE:
            return
        previous = current
    print(f"  (Odoo still busy after {IDLE_TIMEOUT} s: measuring anyway)")


def process_tree_cpu(pid):
    """CPU seconds used so far by ``pid`` and its children, living or ended
    (Odoo's workers, PostgreSQL's backends)."""
    ticks = 0
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        # fields[1] is the parent's pid; [11] and [12] the user and system
        # ticks, [13] and [14] those of its children that ended.
        if stat_file.parent.name == str(pid):
            ticks += sum(int(value) for value in fields[11:15])
        elif fields[1] == str(pid):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def postmaster_pid(cluster):
    pid_file = cluster.data_dir / "postmaster.pid"
    return int(pid_file.read_text().split("\n", 1)[0])


def stop_server(process):
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    print("Odoo stopped.", flush=True)


# The measurements -----------------------------------------------------------------


@dataclass
class Measurement:
    round_number: int
    kind: str
    postings: int = 0
    posted: int = 0
    failures: Counter = field(default_factory=Counter)
    retries: Counter = field(default_factory=Counter)
    gave_up: int = 0
    server_errors: Counter = field(default_factory=Counter)
    post_seconds: list = field(default_factory=list)
    create_seconds: list = field(default_factory=list)
    wall_seconds: float = 0.0
    odoo_cpu: float = 0.0
    postgres_cpu: float = 0.0
    queued_keys: int | None = None
    queue_runs: int | None = None
    drain_seconds: float | None = None
    drained: bool | None = None
    keys_checked: int | None = None
    mismatches: list = field(default_factory=list)

    @property
    def failed(self):
        return sum(self.failures.values())

    @property
    def retry_count(self):
        return sum(self.retries.values())

    @property
    def p50(self):
        return percentile(self.post_seconds, 50)

    @property
    def p95(self):
        return percentile(self.post_seconds, 95)


class LoadBench:
    def __init__(self, servers, postgres_pid, connection, arguments):
        self.servers = servers
        self.postgres_pid = postgres_pid
        self.connection = connection
        self.arguments = arguments
        self.uids = {}

    def run(self):
        arguments = self.arguments
        print(
            f"{arguments.clients} clients x {arguments.invoices} invoices on "
            f"{arguments.customers} customers and {arguments.products} products, "
            f"{arguments.rounds} round(s); {WORKERS} HTTP workers",
            flush=True,
        )
        for kind in (PLAIN, ADDON):
            self.warm_up(kind)
        measurements = []
        for round_number in range(1, arguments.rounds + 1):
            order = (PLAIN, ADDON) if round_number % 2 else (ADDON, PLAIN)
            for kind in order:
                measurement = self.measure(round_number, kind)
                print_measurement(measurement)
                measurements.append(measurement)
        return measurements

    def rpc(self, kind, model, method, *args, proxy=None, **kwargs):
        proxy = proxy or xmlrpc.client.ServerProxy(
            f"{self.servers[kind][0].url}/xmlrpc/2/object", allow_none=True
        )
        return proxy.execute_kw(
            DATABASES[kind], self.uid(kind), PASSWORD, model, method, list(args), kwargs
        )

    def uid(self, kind):
        if kind not in self.uids:
            common = xmlrpc.client.ServerProxy(
                f"{self.servers[kind][0].url}/xmlrpc/2/common"
            )
            uid = common.authenticate(DATABASES[kind], LOGIN, PASSWORD, {})
            if not uid:
                raise harness.HarnessError(f"{LOGIN} cannot log in {DATABASES[kind]}")
            self.uids[kind] = uid
        return self.uids[kind]

    def create_partners_and_products(self, kind, tag, customers, products):
        customer_ids = self.rpc(
            kind,
            "res.partner",
            "create",
            [
                {"name": f"Load {tag} customer {index}", "is_company": True}
                for index in range(1, customers + 1)
            ],
        )
        product_ids = self.rpc(
            kind,
            "product.product",
            "create",
            [
                {"name": f"Load {tag} product {index}", "list_price": PRICE}
                for index in range(1, products + 1)
            ],
        )
        return customer_ids, product_ids

    def warm_up(self, kind):
        """Every worker loads the database's registry and fills its caches
        before anything is timed."""
        print(f"Warming up {DATABASES[kind]} ...", flush=True)
        customer_ids, product_ids = self.create_partners_and_products(
            kind, f"warm-up {time.strftime('%H:%M:%S')}", 1, 1
        )
        plans = workload("warm-up", self.arguments.clients, WARM_UP_INVOICES, 1, 1)
        outcomes, _wall = self.post_in_parallel(kind, plans, customer_ids, product_ids)
        failures = [outcome.error for outcome in outcomes if outcome.error]
        if failures:
            print(f"  warm-up failures: {Counter(failures).most_common(3)}")
        if kind == ADDON:
            self.wait_for_drain()

    def measure(self, round_number, kind):
        arguments = self.arguments
        database = DATABASES[kind]
        print(f"Round {round_number}, {kind} ({database}) ...", flush=True)
        tag = f"round {round_number} {kind} {time.strftime('%H:%M:%S')}"
        customer_ids, product_ids = self.create_partners_and_products(
            kind, tag, arguments.customers, arguments.products
        )
        plans = workload(
            round_number,
            arguments.clients,
            arguments.invoices,
            arguments.customers,
            arguments.products,
        )
        servers = self.servers[kind]
        for server in servers:
            wait_until_idle(server.pid)
        measurement = Measurement(round_number, kind)
        queued_before = self.queued_so_far() if kind == ADDON else 0
        runs_before = self.queue_runs_so_far() if kind == ADDON else 0
        log_starts = [server.log_file.stat().st_size for server in servers]
        cpu_start = self.cpu_seconds(servers)
        outcomes, measurement.wall_seconds = self.post_in_parallel(
            kind, plans, customer_ids, product_ids
        )
        log_ends = [server.log_file.stat().st_size for server in servers]
        move_ids = [outcome.move_id for outcome in outcomes if outcome.move_id]
        measurement.postings = len(outcomes)
        measurement.posted = self.count_posted(database, move_ids)
        measurement.failures.update(
            outcome.error for outcome in outcomes if outcome.error
        )
        measurement.post_seconds = [
            outcome.post_seconds for outcome in outcomes if outcome.post_seconds
        ]
        measurement.create_seconds = [
            outcome.create_seconds for outcome in outcomes if outcome.create_seconds
        ]
        for server, log_start, log_end in zip(
            servers, log_starts, log_ends, strict=True
        ):
            self.read_log(measurement, server, database, log_start, log_end)
        if kind == ADDON:
            measurement.queued_keys = self.queued_so_far() - queued_before
            measurement.drained, measurement.drain_seconds = self.wait_for_drain()
            measurement.queue_runs = self.queue_runs_so_far() - runs_before
        # With the addon, the scheduled action's work until the queue is empty
        # is counted too.
        cpu_end = self.cpu_seconds(servers)
        measurement.odoo_cpu, measurement.postgres_cpu = (
            end - start for start, end in zip(cpu_start, cpu_end, strict=True)
        )
        if kind == ADDON:
            self.check_invariant(measurement, customer_ids)
        return measurement

    def cpu_seconds(self, servers):
        """CPU seconds used so far by the processes of ``servers`` and by
        PostgreSQL's."""
        return (
            sum(process_tree_cpu(server.pid) for server in servers),
            process_tree_cpu(self.postgres_pid),
        )

    def post_in_parallel(self, kind, plans, customer_ids, product_ids):
        """Run one client thread per plan; return every outcome and the wall
        time from the common start to the last client's end."""
        barrier = threading.Barrier(len(plans) + 1)
        with ThreadPoolExecutor(max_workers=len(plans)) as executor:
            futures = [
                executor.submit(
                    self.client,
                    kind,
                    # the clients spread over the database's servers
                    self.servers[kind][number % len(self.servers[kind])],
                    plan,
                    customer_ids,
                    product_ids,
                    barrier,
                )
                for number, plan in enumerate(plans)
            ]
            barrier.wait()
            start = time.perf_counter()
            outcomes = [outcome for future in futures for outcome in future.result()]
            wall_seconds = time.perf_counter() - start
        return outcomes, wall_seconds

    def client(self, kind, server, plan, customer_ids, product_ids, barrier):
        proxy = xmlrpc.client.ServerProxy(
            f"{server.url}/xmlrpc/2/object", allow_none=True
        )
        self.uid(kind)
        barrier.wait()
        outcomes = []
        for customer_index, days_ago, lines in plan:
            values = {
                "move_type": "out_invoice",
                "partner_id": customer_ids[customer_index],
                "invoice_date": (date.today() - timedelta(days=days_ago)).isoformat(),
                "invoice_line_ids": [
                    (
                        0,
                        0,
                        {
                            "product_id": product_ids[product_index],
                            "quantity": quantity,
                            "price_unit": PRICE,
                        },
                    )
                    for product_index, quantity in lines
                ],
            }
            outcome = Outcome()
            start = time.perf_counter()
            try:
                outcome.move_id = self.rpc(
                    kind, "account.move", "create", values, proxy=proxy
                )
            except (xmlrpc.client.Error, OSError) as error:
                outcome.error = f"create: {error_line(error)}"
                outcomes.append(outcome)
                continue
            outcome.create_seconds = time.perf_counter() - start
            start = time.perf_counter()
            try:
                self.rpc(
                    kind, "account.move", "action_post", [outcome.move_id], proxy=proxy
                )
            except (xmlrpc.client.Error, OSError) as error:
                # A method that returns None is done, but XML-RPC cannot say
                # so: whether it posted is read from the database afterwards.
                if "cannot marshal None" not in str(error):
                    outcome.error = error_line(error)
            outcome.post_seconds = time.perf_counter() - start
            outcomes.append(outcome)
        return outcomes

    # SQL and the server log ---------------------------------------------------

    def count_posted(self, database, move_ids):
        with closing(self.connection.connect(database)) as db, db.cursor() as cr:
            cr.execute(
                "SELECT COUNT(*) FROM account_move "
                "WHERE id = ANY(%s) AND state = 'posted'",
                [move_ids],
            )
            return cr.fetchone()[0]

    def read_log(self, measurement, server, database, start, end):
        """Count the retries of ``database``'s requests logged between two
        offsets of ``server``'s log, and its errors."""
        with open(server.log_file, "rb") as log:
            log.seek(start)
            text = log.read(end - start).decode("utf-8", errors="replace")
        for line in text.splitlines():
            match = LOG_LINE.match(line)
            if not match or match["db"] != database:
                continue
            message = match["message"]
            if "tries left" in message:
                measurement.retries[message.split(",", 1)[0]] += 1
            elif "maximum number of tries reached" in message:
                measurement.gave_up += 1
            elif match["level"] in ("ERROR", "CRITICAL"):
                measurement.server_errors[message[:120]] += 1

    def queued_so_far(self):
        """How many keys the addon ever queued (its queue's id sequence)."""
        with (
            closing(self.connection.connect(DATABASES[ADDON])) as db,
            db.cursor() as cr,
        ):
            cr.execute(
                "SELECT COALESCE(pg_sequence_last_value(%s::regclass), 0)",
                [f"{QUEUE_TABLE}_id_seq"],
            )
            return cr.fetchone()[0]

    def queue_runs_so_far(self):
        """How many times the queue's scheduled action ran so far: Odoo
        records each run's progress (``ir.cron.progress``, kept a week)."""
        with (
            closing(self.connection.connect(DATABASES[ADDON])) as db,
            db.cursor() as cr,
        ):
            cr.execute(
                "SELECT COUNT(*) FROM ir_cron_progress progress"
                "  JOIN ir_model_data data ON data.model = 'ir.cron'"
                "   AND data.res_id = progress.cron_id"
                " WHERE data.module = %s AND data.name = %s",
                QUEUE_CRON,
            )
            return cr.fetchone()[0]

    def wait_for_drain(self):
        """Wait until the scheduled action emptied the queue; return whether it
        did and how long it took."""
        start = time.perf_counter()
        with (
            closing(self.connection.connect(DATABASES[ADDON])) as db,
            db.cursor() as cr,
        ):
            while True:
                cr.execute(f"SELECT COUNT(*) FROM {QUEUE_TABLE}")
                waiting = cr.fetchone()[0]
                seconds = time.perf_counter() - start
                if not waiting or seconds > DRAIN_TIMEOUT:
                    return not waiting, seconds
                time.sleep(0.25)

    def check_invariant(self, measurement, customer_ids):
        """Compare the history line of every key of ``customer_ids`` with the
        aggregate of its posted customer invoice and credit note lines."""
        with (
            closing(self.connection.connect(DATABASES[ADDON])) as db,
            db.cursor() as cr,
        ):
            cr.execute(INVARIANT_SQL, {"partners": customer_ids})
            rows = cr.fetchall()
        measurement.keys_checked = len(rows)
        for key, expected, actual in ((row[0:3], row[3:7], row[7:12]) for row in rows):
            line_count, *figures = actual
            exact = (
                line_count == 1
                and expected[0:2] == tuple(figures[0:2])
                and abs(float(expected[2]) - float(figures[2])) < 1e-6
                and abs(float(expected[3]) - float(figures[3])) < 0.005
            )
            if not exact:
                measurement.mismatches.append((key, expected, line_count, figures))


INVARIANT_SQL = """
WITH expected AS (
    SELECT line.company_id, move.commercial_partner_id AS partner_id,
           line.product_id,
           COUNT(DISTINCT move.id) FILTER (WHERE move.move_type = 'out_invoice')
               AS invoice_count,
           COUNT(DISTINCT move.id) FILTER (WHERE move.move_type = 'out_refund')
               AS refund_count,
           SUM(CASE WHEN move.move_type = 'out_refund' THEN -1 ELSE 1 END
               * line.quantity) AS quantity,
           -SUM(line.balance) AS amount
      FROM account_move_line line
      JOIN account_move move ON move.id = line.move_id
     WHERE move.state = 'posted'
       AND move.move_type IN ('out_invoice', 'out_refund')
       AND line.display_type = 'product'
       AND line.product_id IS NOT NULL
       AND move.commercial_partner_id = ANY(%(partners)s)
     GROUP BY 1, 2, 3
),
actual AS (
    SELECT company_id, partner_id, product_id, COUNT(*) AS line_count,
           SUM(invoice_count) AS invoice_count, SUM(refund_count) AS refund_count,
           SUM(quantity) AS quantity, SUM(amount) AS amount
      FROM consumer_preference
     WHERE preference_type = 'history' AND partner_id = ANY(%(partners)s)
     GROUP BY 1, 2, 3
)
SELECT company_id, partner_id, product_id,
       COALESCE(expected.invoice_count, 0), COALESCE(expected.refund_count, 0),
       COALESCE(expected.quantity, 0), COALESCE(expected.amount, 0),
       COALESCE(actual.line_count, 0), COALESCE(actual.invoice_count, 0),
       COALESCE(actual.refund_count, 0), COALESCE(actual.quantity, 0),
       COALESCE(actual.amount, 0)
  FROM expected FULL JOIN actual USING (company_id, partner_id, product_id)
 ORDER BY 1, 2, 3
"""


@dataclass
class Outcome:
    move_id: int | None = None
    create_seconds: float | None = None
    post_seconds: float | None = None
    error: str | None = None


def workload(seed, clients, invoices, customers, products):
    """Each client's invoices: (customer index, days ago, [(product index,
    quantity)]), the same for a given seed in both databases."""
    plans = []
    for client in range(clients):
        rng = random.Random(f"{seed}/{client}")
        plan = []
        for _invoice in range(invoices):
            line_count = rng.randint(1, min(MAX_LINES, products))
            lines = [
                (product_index, rng.randint(1, MAX_QUANTITY))
                for product_index in rng.sample(range(products), line_count)
            ]
            plan.append(
                (rng.randrange(customers), rng.randint(0, DATE_SPREAD_DAYS), lines)
            )
        plans.append(plan)
    return plans


def error_line(error):
    """The telling line of an XML-RPC error: a fault's message, or the last
    line of the server's traceback."""
    if isinstance(error, xmlrpc.client.Fault):
        lines = [line for line in error.faultString.splitlines() if line.strip()]
        if lines and lines[0].startswith("Traceback"):
            return lines[-1].strip()[:160]
        return (lines[0] if lines else repr(error))[:160]
    return f"{type(error).__name__}: {error}"[:160]


def percentile(values, percent):
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


# Report ------------------------------------------------------------------------


def print_measurement(m):
    line = (
        f"  posted {m.posted}/{m.postings}, failed {m.failed}, retries "
        f"{m.retry_count}{format_counter(m.retries)}, p50 {m.p50 * 1000:.0f} ms, "
        f"p95 {m.p95 * 1000:.0f} ms (create p50 "
        f"{percentile(m.create_seconds, 50) * 1000:.0f} ms), "
        f"{m.wall_seconds:.0f} s, {m.postings / m.wall_seconds:.1f} postings/s"
    )
    print(line)
    print(
        f"  CPU per posting (create + post, background jobs included): Odoo "
        f"{m.odoo_cpu / m.postings * 1000:.0f} ms, PostgreSQL "
        f"{m.postgres_cpu / m.postings * 1000:.0f} ms"
    )
    if m.kind == ADDON:
        drained = "drained" if m.drained else "NOT drained"
        print(
            f"  keys queued {m.queued_keys}, queue {drained} in "
            f"{m.drain_seconds:.1f} s, in {m.queue_runs} runs of the scheduled "
            f"action; keys exact "
            f"{m.keys_checked - len(m.mismatches)}/{m.keys_checked}"
        )
        for key, expected, line_count, actual in m.mismatches:
            print(
                f"    MISMATCH key {key}: expected (invoices, refunds, quantity, "
                f"amount) {expected}, {line_count} history line(s) with {actual}"
            )
    if m.gave_up:
        print(f"  requests that ran out of retries: {m.gave_up}")
    for message, count in m.failures.most_common(5):
        print(f"  failed {count}x: {message}")
    for message, count in m.server_errors.most_common(5):
        print(f"  server log error {count}x: {message}")
    sys.stdout.flush()


def format_counter(counter):
    if not counter:
        return ""
    return " (" + ", ".join(f"{name} {count}" for name, count in counter.items()) + ")"


def report(measurements, arguments):
    by_kind = {
        kind: [m for m in measurements if m.kind == kind] for kind in (PLAIN, ADDON)
    }

    def total(kind, attribute):
        return sum(getattr(m, attribute) for m in by_kind[kind])

    def median_ms(kind, attribute):
        return statistics.median(getattr(m, attribute) for m in by_kind[kind]) * 1000

    postings = {kind: total(kind, "postings") for kind in by_kind}
    failed = {kind: total(kind, "failed") for kind in by_kind}
    retries = {kind: total(kind, "retry_count") for kind in by_kind}
    p50 = {kind: median_ms(kind, "p50") for kind in by_kind}
    p95 = {kind: median_ms(kind, "p95") for kind in by_kind}
    cpu = {
        kind: (total(kind, "odoo_cpu") + total(kind, "postgres_cpu"))
        / postings[kind]
        * 1000
        for kind in by_kind
    }
    keys_checked = total(ADDON, "keys_checked")
    keys_exact = keys_checked - sum(len(m.mismatches) for m in by_kind[ADDON])
    extra_retries = (retries[ADDON] - retries[PLAIN]) / postings[ADDON] * 100
    p95_ratio = p95[ADDON] / p95[PLAIN]

    print()
    print(
        f"Summary: {arguments.rounds} round(s) of {arguments.clients} clients x "
        f"{arguments.invoices} invoices per database; latencies are the medians of "
        "the rounds' action_post percentiles, CPU is Odoo's and PostgreSQL's per "
        "posting"
    )
    print(
        f"{'':>11} {'posted':>8} {'failed':>7} {'retries':>8}"
        f" {'p50 ms':>8} {'p95 ms':>8} {'CPU ms':>8}"
    )
    for kind in (PLAIN, ADDON):
        print(
            f"{kind:>11} {total(kind, 'posted'):>8} {failed[kind]:>7} "
            f"{retries[kind]:>8} {p50[kind]:>8.0f} {p95[kind]:>8.0f}"
            f" {cpu[kind]:>8.0f}"
        )
    print(
        f"{'addon/plain':>11} {'':>8} {'':>7} {'':>8} "
        f"{p50[ADDON] / p50[PLAIN]:>8.2f} {p95_ratio:>8.2f}"
        f" {cpu[ADDON] / cpu[PLAIN]:>8.2f}"
    )
    print("Targets:")
    print_target(
        f"failures: plain {failed[PLAIN]}, addon {failed[ADDON]} "
        f"(target {TARGET_FAILURES})",
        failed[PLAIN] <= TARGET_FAILURES and failed[ADDON] <= TARGET_FAILURES,
    )
    print_target(
        f"retries with addon - plain: {retries[ADDON] - retries[PLAIN]} = "
        f"{extra_retries:.2f} % of {postings[ADDON]} postings "
        f"(target <= {TARGET_EXTRA_RETRIES_PERCENT:g} %)",
        extra_retries <= TARGET_EXTRA_RETRIES_PERCENT,
    )
    print_target(
        f"p95 addon/plain: {p95_ratio:.2f} (target <= {TARGET_P95_RATIO:g})",
        p95_ratio <= TARGET_P95_RATIO,
    )
    print_target(
        f"keys exact after the queue drained: {keys_exact}/{keys_checked} "
        "(target: all)",
        keys_checked > 0
        and keys_exact == keys_checked
        and all(m.drained for m in by_kind[ADDON]),
    )


def print_target(text, met):
    print(f"  {'OK    ' if met else 'MISSED'} {text}")


if __name__ == "__main__":
    harness.run_command(main)
