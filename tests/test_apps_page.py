"""The addon's Odoo Apps store presence: manifest keys, icon and Apps page.

Plain pytest functions: they need neither Odoo's registry nor a database. The
Apps page is rendered in the real headless Chromium the browser tests use.
"""

import ast
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import run_tests  # noqa: E402  (tools/ is a folder of scripts, not a package)
import screenshots  # noqa: E402

ADDON_DIR = ROOT / "consumer_preferences"
DESCRIPTION_DIR = ADDON_DIR / "static" / "description"
# The values OCA's tools and pylint-odoo accept for `development_status`.
DEVELOPMENT_STATUSES = {"Alpha", "Beta", "Production/Stable", "Mature"}


def manifest():
    return ast.literal_eval((ADDON_DIR / "__manifest__.py").read_text("utf-8"))


def test_manifest_has_the_apps_store_keys():
    values = manifest()
    maintainers = values["maintainers"]
    assert isinstance(maintainers, list) and maintainers
    assert all(isinstance(login, str) and login for login in maintainers)
    assert values["development_status"] in DEVELOPMENT_STATUSES
    assert values["images"], "the Apps store shows the first image as the main one"
    for image in values["images"]:
        assert image.startswith("static/description/"), image
        with Image.open(ADDON_DIR / image) as picture:
            assert picture.format == "PNG"
            assert picture.width >= 800, f"{image} is too small for the Apps store"


def test_icon_is_a_square_png():
    with Image.open(DESCRIPTION_DIR / "icon.png") as icon:
        assert icon.format == "PNG"
        assert icon.width == icon.height == 128


def test_apps_page_renders_in_chromium(tmp_path):
    output = tmp_path / "apps_page.png"
    with screenshots.chromium(str(run_tests.find_browser())) as browser:
        shown = screenshots.render_apps_page(
            browser, DESCRIPTION_DIR / "index.html", output
        )
    assert {
        "Consumer Preferences",
        "What it does",
        "Screenshots",
        "Configuration",
    } <= set(shown["headings"])
    sources = {image["src"] for image in shown["images"]}
    # The page shows the icon and the main image the manifest names.
    main_image = Path(manifest()["images"][0]).name
    assert {"icon.png", main_image} <= sources
    assert all(image["width"] > 0 for image in shown["images"])
    # Every image comes from the addon's own description folder, which the
    # Apps store publishes: no link outside it.
    assert all((DESCRIPTION_DIR / source).is_file() for source in sources)
    with Image.open(output) as screenshot:
        assert screenshot.width == screenshots.VIEWPORT["width"]
        assert screenshot.height > screenshots.VIEWPORT["height"]
