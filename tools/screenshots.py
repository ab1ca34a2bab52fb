"""Take the documentation screenshots from a running demo (`tools/demo.py`).

    python3 tools/demo.py --port 8071 &
    python3 tools/screenshots.py --url http://127.0.0.1:8071

Headless Chromium logs in through the login page, then saves under `docs/`:
- `preferences_tab.png`: the Preferences tab of the demo customer with the
  most purchase history, its profile summary above the lists;
- `preferences_graph.png`: the graph view of all customers' preferences
  (Invoicing > Customers > Preferences);
- `preferences_suggestions.png`: the end of that tab: its history, and the
  products suggested to it and its reorder reminders when it has some;
- `sales_by_year.png`: that customer's sales by year, opened from the tab;
- `segments_graph.png`: the company's customers by segment (Customer
  Segments), after the nightly scheduled actions ran once;
- `quotation_wizard.png`: **Add from Preferences** on a new quotation for
  that customer (with the Sales bridge installed);
- `portal_preferences.png`: `/my/preferences` as the demo portal user.

With `--lang fr_FR`, the language is installed and the user switched to it
first, and the files are named `preferences_tab_fr.png` and so on.

    python3 tools/screenshots.py --apps-page

needs no server: it renders the addon's Apps store page
(`static/description/index.html`), fails when an image of it does not load,
and saves the whole page as `docs/apps_page.png`.

Chromium is driven over the DevTools protocol with `websocket-client`.
"""

import argparse
import base64
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import closing, contextmanager
from pathlib import Path

import websocket

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)
VIEWPORT = {"width": 1366, "height": 1000}
APPS_PAGE = ROOT / "consumer_preferences" / "static" / "description" / "index.html"
TIMEOUT = 60  # seconds to wait for a page or an element
NIGHTLY_ACTIONS = (
    "ir_cron_consumer_preference_segment",
    "ir_cron_consumer_preference_affinity",
    "ir_cron_consumer_preference_reorder",
)


class ScreenshotError(Exception):
    """A step that did not happen in time, told in one sentence."""


def main(argv=None):
    arguments = parse_arguments(argv)
    output_dir = Path(arguments.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if arguments.apps_page:
        with chromium(arguments.chromium) as browser:
            render_apps_page(browser, APPS_PAGE, output_dir / "apps_page.png")
        return 0
    with chromium(arguments.chromium) as browser:
        browser.log_in(
            arguments.url, arguments.database, arguments.login, arguments.password
        )
        suffix = ""
        if arguments.lang:
            browser.use_language(arguments.url, arguments.lang)
            suffix = "_" + arguments.lang.split("_")[0]
        partner_id = most_profiled_customer(browser)
        print(f"Customer: {partner_id}")
        run_nightly_actions(browser)

        browser.open(
            f"{arguments.url}/odoo/action-account.res_partner_action_customer/{partner_id}"
        )
        browser.wait_for(".o_form_view .o_notebook")
        browser.click('.o_notebook a.nav-link[name="consumer_preferences"]')
        browser.wait_for('div[name="consumer_profile"]')
        browser.evaluate(
            "document.querySelector('.o_notebook').scrollIntoView({block: 'start'})"
        )
        browser.screenshot(output_dir / f"preferences_tab{suffix}.png")
        # Further down the tab: what customers like this one also buy, and
        # the reorder reminders.
        browser.evaluate(
            "(() => { const content = document.querySelector('.o_content');"
            " content.scrollTop = content.scrollHeight; })()"
        )
        browser.screenshot(output_dir / f"preferences_suggestions{suffix}.png")

        browser.click('button[name="action_view_consumer_sales_by_year"]')
        browser.wait_for(".o_graph_renderer canvas")
        browser.screenshot(output_dir / f"sales_by_year{suffix}.png")

        browser.open(
            f"{arguments.url}/odoo/action-consumer_preferences.consumer_preference_action"
        )
        browser.wait_for(".o_list_view")
        browser.click(".o_switch_view.o_graph")
        browser.wait_for(".o_graph_renderer canvas")
        browser.screenshot(output_dir / f"preferences_graph{suffix}.png")

        browser.open(
            f"{arguments.url}/odoo/action-"
            "consumer_preferences.consumer_preference_segment_action"
        )
        browser.wait_for(".o_graph_renderer canvas")
        browser.screenshot(output_dir / f"segments_graph{suffix}.png")

        order_id = browser.call(
            "sale.order", "create", {"partner_id": partner_id, "order_line": []}
        )
        browser.open(f"{arguments.url}/odoo/action-sale.action_quotations/{order_id}")
        browser.click('button[name="action_add_from_preferences"]')
        browser.wait_for(".modal .o_form_view .o_list_renderer")
        browser.screenshot(output_dir / f"quotation_wizard{suffix}.png")

        browser.open(f"{arguments.url}/web/session/logout")
        browser.log_in(
            arguments.url,
            arguments.database,
            arguments.portal_login,
            arguments.portal_password,
            home="/my",
        )
        browser.open(f"{arguments.url}/my/preferences")
        browser.wait_for(".o_consumer_preference_row")
        browser.screenshot(output_dir / f"portal_preferences{suffix}.png")
    return 0


def run_nightly_actions(browser):
    """Run the scheduled actions that score customers and remind of
    reorders, as the night would, so the pages have something to show."""
    for xml_id in NIGHTLY_ACTIONS:
        _model, cron_id = browser.call(
            "ir.model.data", "check_object_reference", "consumer_preferences", xml_id
        )
        browser.call("ir.cron", "method_direct_trigger", [cron_id])


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--url", default="http://127.0.0.1:8069", help="demo server")
    parser.add_argument("--database", default="consumer_preferences_demo")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--portal-login", default="portal")
    parser.add_argument("--portal-password", default="portal")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument("--output-dir", default=str(ROOT / "docs"))
    parser.add_argument("--lang", help="a language code, e.g. fr_FR")
    parser.add_argument(
        "--apps-page",
        action="store_true",
        help="render static/description/index.html into apps_page.png instead",
    )
    return parser.parse_args(argv)


def render_apps_page(browser, page, output):
    """Open the Apps store page `page` from disk, check that every image of
    it loaded, and save the whole page, not only the viewport, as `output`;
    return what the page shows: its headings and its images' natural sizes."""
    browser.open(page.resolve().as_uri())
    browser.wait_until(
        "Array.from(document.images).every((image) => image.complete)",
        "the Apps page's images",
    )
    shown = browser.evaluate(
        "({headings: Array.from(document.querySelectorAll('h1, h2, h3'),"
        " (heading) => heading.textContent.trim()),"
        " images: Array.from(document.images, (image) => ({"
        "src: image.getAttribute('src'), width: image.naturalWidth,"
        " height: image.naturalHeight}))})"
    )
    broken = [image["src"] for image in shown["images"] if not image["width"]]
    if broken:
        raise ScreenshotError(f"{page.name} has images that do not load: {broken}")
    height = browser.evaluate("document.documentElement.scrollHeight")
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        deviceScaleFactor=1,
        mobile=False,
        width=VIEWPORT["width"],
        height=height,
    )
    browser.screenshot(output)
    return shown


def most_profiled_customer(browser):
    """The id of the customer with the most history lines."""
    groups = browser.rpc(
        "/web/dataset/call_kw",
        {
            "model": "consumer.preference",
            "method": "read_group",
            "args": [
                [["preference_type", "=", "history"]],
                ["partner_id"],
                ["partner_id"],
            ],
            "kwargs": {"orderby": "partner_id_count desc", "lazy": True},
        },
    )
    if not groups:
        raise ScreenshotError("The demo database has no purchase history.")
    return max(groups, key=lambda group: group["partner_id_count"])["partner_id"][0]


@contextmanager
def chromium(executable):
    """A headless Chromium with a throw-away profile, stopped on exit."""
    # Chromium may still write to its profile while it exits.
    with tempfile.TemporaryDirectory(
        prefix="cp-screenshots-", ignore_cleanup_errors=True
    ) as profile_dir:
        log_file = Path(profile_dir) / "chromium.log"
        with log_file.open("w", encoding="utf-8") as log:
            process = subprocess.Popen(
                [
                    executable,
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={profile_dir}",
                    "about:blank",
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                preexec_fn=without_memory_limit,
            )
        try:
            port = wait_for_devtools_port(
                Path(profile_dir) / "DevToolsActivePort", process, log_file
            )
            with closing(Browser(page_websocket_url(port))) as browser:
                yield browser
        finally:
            process.terminate()
            process.wait(timeout=30)


def without_memory_limit():
    """Lift the address space limit in Chromium's process, as Odoo does for
    its browser tests: Chromium reserves more than 8 GiB of virtual memory
    and dies at once (SIGTRAP) under the limit a process that started Odoo's
    server inherits (`limit_memory_hard`), e.g. a pytest-odoo test."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def wait_for_devtools_port(port_file, process, log_file):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        if port_file.exists() and port_file.read_text().strip():
            return int(port_file.read_text().split()[0])
        time.sleep(0.2)
    output = log_file.read_text(encoding="utf-8", errors="replace").strip()
    raise ScreenshotError(
        f"Chromium did not open its DevTools port (exit code {process.poll()}); "
        f"its output: {output[-2000:] or 'none'}"
    )


def page_websocket_url(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json") as response:
        targets = json.load(response)
    return next(
        target["webSocketDebuggerUrl"] for target in targets if target["type"] == "page"
    )


class Browser:
    """One page, driven over the DevTools protocol."""

    def __init__(self, websocket_url):
        self.connection = websocket.create_connection(
            websocket_url, timeout=TIMEOUT, suppress_origin=True
        )
        self.message_id = 0
        self.send("Page.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            deviceScaleFactor=1,
            mobile=False,
            **VIEWPORT,
        )

    def close(self):
        self.connection.close()

    def send(self, method, **params):
        self.message_id += 1
        self.connection.send(
            json.dumps({"id": self.message_id, "method": method, "params": params})
        )
        while True:
            message = json.loads(self.connection.recv())
            if message.get("id") == self.message_id:
                if "error" in message:
                    raise ScreenshotError(f"{method} failed: {message['error']}")
                return message["result"]

    def evaluate(self, expression):
        """The value of a JavaScript expression (promises awaited)."""
        result = self.send(
            "Runtime.evaluate",
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise ScreenshotError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url):
        self.send("Page.navigate", url=url)
        self.wait_until("document.readyState === 'complete'", f"{url} to load")

    def wait_until(self, expression, what):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.evaluate(expression):
                return
            time.sleep(0.3)
        raise ScreenshotError(f"Timed out waiting for {what}.")

    def wait_for(self, selector):
        """Wait until an element is shown, then for the page to settle
        (pending requests, chart animations)."""
        self.wait_until(
            f"(() => {{ const element = document.querySelector({json.dumps(selector)});"
            " return !!element && element.offsetParent !== null; })()",
            selector,
        )
        time.sleep(1.5)

    def click(self, selector):
        self.wait_for(selector)
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")

    def log_in(self, url, database, login, password, home="/odoo"):
        self.open(f"{url}/web/login?db={database}")
        self.evaluate(
            "(() => { const form = document.querySelector('form.oe_login_form');"
            f"form.querySelector('input[name=login]').value = {json.dumps(login)};"
            "form.querySelector('input[name=password]').value ="
            f" {json.dumps(password)};"
            "form.submit(); })()"
        )
        self.wait_until(f"location.pathname.startsWith('{home}')", "the login")
        if home == "/odoo":
            self.wait_for(".o_main_navbar")

    def call(self, model, method, *args):
        """Call a public model method over JSON-RPC as the logged-in user."""
        return self.rpc(
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": list(args), "kwargs": {}},
        )

    def use_language(self, url, lang):
        """Install ``lang`` with Odoo's own wizard and switch the user to it."""

        def call(model, method, *args):
            return self.rpc(
                "/web/dataset/call_kw",
                {"model": model, "method": method, "args": list(args), "kwargs": {}},
            )

        lang_ids = call(
            "res.lang",
            "search",
            [["code", "=", lang], ["active", "in", [True, False]]],
        )
        if not lang_ids:
            raise ScreenshotError(f"Odoo does not know the language {lang}.")
        wizard_id = call(
            "base.language.install", "create", {"lang_ids": [[6, 0, lang_ids]]}
        )
        call("base.language.install", "lang_install", [wizard_id])
        user_id = self.rpc("/web/session/get_session_info", {})["uid"]
        call("res.users", "write", [user_id], {"lang": lang})
        self.open(f"{url}/odoo")
        self.wait_for(".o_main_navbar")

    def rpc(self, route, params):
        """Call Odoo's JSON-RPC from the logged-in page."""
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": params})
        response = self.evaluate(
            f"fetch({json.dumps(route)}, {{method: 'POST',"
            " headers: {'Content-Type': 'application/json'},"
            f" body: {json.dumps(body)}}}).then((response) => response.json())"
        )
        if "error" in response:
            raise ScreenshotError(
                f"{route} failed: {response['error']['data']['message']}"
            )
        return response["result"]

    def screenshot(self, path):
        image = self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(image["data"]))
        print(f"Saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ScreenshotError as error:
        sys.exit(f"error: {error}")
