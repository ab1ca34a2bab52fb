"""Package consumer_preferences as `odoo-addon-consumer_preferences`.

The addon folder becomes the `odoo.addons.consumer_preferences` package, with
its data files (XML, CSV, static assets, readme) listed in MANIFEST.in. The
version is the manifest's.
"""

import ast
from pathlib import Path

from setuptools import find_packages, setup

ADDON = "consumer_preferences"
ADDON_DIR = Path(__file__).resolve().parent / ADDON
PACKAGE = f"odoo.addons.{ADDON}"


def read_manifest():
    """The addon's manifest, read without importing Odoo."""
    manifest_file = ADDON_DIR / "__manifest__.py"
    return ast.literal_eval(manifest_file.read_text(encoding="utf-8"))


def addon_packages():
    """The addon package and its sub-packages (models, tests, ...)."""
    subpackages = find_packages(str(ADDON_DIR))
    return [PACKAGE, *(f"{PACKAGE}.{name}" for name in subpackages)]


manifest = read_manifest()

setup(
    name=f"odoo-addon-{ADDON}",
    version=manifest["version"],
    description=manifest["summary"],
    author=manifest["author"],
    url=manifest["website"],
    license=manifest["license"],
    python_requires=">=3.10",
    install_requires=["odoo>=18.0a,<18.1dev"],
    package_dir={PACKAGE: ADDON},
    packages=addon_packages(),
    include_package_data=True,
    classifiers=[
        "Programming Language :: Python",
        "Framework :: Odoo",
        "Framework :: Odoo :: 18.0",
    ],
)
