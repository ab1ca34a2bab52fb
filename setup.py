"""Package every addon of the repository as `odoo-addons-consumer_preferences`.

An addon is a top-level folder with a `__manifest__.py` that is installable;
each becomes the package `odoo.addons.<addon>`, with all its files (XML, CSV,
static assets, translations, migrations, readme). Nothing is listed by hand,
so an addon added to the repository is packaged too.

Read from the manifests: the Odoo requirement (the series their versions start
with, `18.0` for `18.0.1.1.0`, which all addons must share), the Python
requirements (`external_dependencies`) and the version: the addons' versions
added up component by component after the series, so that with one addon it
is that addon's version, and it grows whenever any addon's version does (pip
then upgrades).
"""

import ast
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
NAME = "odoo-addons-consumer_preferences"
# Neither packaged nor part of an addon, even inside an addon folder.
SKIPPED = ("__pycache__", ".pyc", ".pyo")


def addons(root=ROOT):
    """{addon name: manifest} of the installable addons in `root`."""
    found = {}
    for manifest_file in sorted(root.glob("*/__manifest__.py")):
        manifest = ast.literal_eval(manifest_file.read_text(encoding="utf-8"))
        if manifest.get("installable", True):
            found[manifest_file.parent.name] = manifest
    if not found:
        raise SystemExit(f"No installable addon in {root}.")
    return found


def odoo_series(manifests):
    """The Odoo series ("18.0") of every addon's version; exactly one."""
    series = {
        ".".join(manifest["version"].split(".")[:2]) for manifest in manifests.values()
    }
    if len(series) != 1:
        raise SystemExit(f"The addons are for different Odoo series: {sorted(series)}.")
    return series.pop()


def distribution_version(manifests, series):
    """The series, then the sum of the addons' version components after it."""
    parts = [
        [int(number) for number in manifest["version"].split(".")[2:]]
        for manifest in manifests.values()
    ]
    width = max(len(numbers) for numbers in parts)
    padded = [numbers + [0] * (width - len(numbers)) for numbers in parts]
    sums = [sum(column) for column in zip(*padded, strict=True)]
    return ".".join([series, *map(str, sums)])


def odoo_requirement(series):
    """Any release of the series, pre-releases ("18.0a") included."""
    major, minor = series.split(".")
    return f"odoo>={series}a,<{major}.{int(minor) + 1}dev"


def python_requirements(manifests):
    """The Python packages the addons' manifests require."""
    return sorted(
        {
            requirement
            for manifest in manifests.values()
            for requirement in manifest.get("external_dependencies", {}).get(
                "python", []
            )
        }
    )


def packages_and_files(names, root=ROOT):
    """setuptools' `packages`, `package_dir` and `package_data` for `names`:
    each folder of an addon that holds Python files is a package, and every
    file is data of its addon's package (Python files outside packages, such
    as migration scripts, included)."""
    packages, package_dir, package_data = [], {}, {}
    for name in names:
        addon_dir = root / name
        package = f"odoo.addons.{name}"
        package_dir[package] = name
        files = [
            path
            for path in sorted(addon_dir.rglob("*"))
            if path.is_file()
            and not any(part in SKIPPED for part in path.parts)
            and path.suffix not in SKIPPED
        ]
        package_data[package] = [str(path.relative_to(addon_dir)) for path in files]
        folders = {path.parent for path in files if path.name == "__init__.py"}
        packages += sorted(
            ".".join([package, *folder.relative_to(addon_dir).parts])
            for folder in folders
        )
    return packages, package_dir, package_data


def main():
    manifests = addons()
    series = odoo_series(manifests)
    packages, package_dir, package_data = packages_and_files(manifests)
    setup(
        name=NAME,
        version=distribution_version(manifests, series),
        description="Odoo addons: "
        + "; ".join(
            f"{name}: {manifest['summary']}" for name, manifest in manifests.items()
        ),
        author=", ".join(
            sorted({manifest["author"] for manifest in manifests.values()})
        ),
        url=manifests[next(iter(manifests))]["website"],
        license=", ".join(
            sorted({manifest["license"] for manifest in manifests.values()})
        ),
        python_requires=">=3.10",
        install_requires=[odoo_requirement(series), *python_requirements(manifests)],
        packages=packages,
        package_dir=package_dir,
        package_data=package_data,
        include_package_data=False,
        classifiers=[
            "Programming Language :: Python",
            "Framework :: Odoo",
            f"Framework :: Odoo :: {series}",
        ],
    )


if __name__ == "__main__":
    main()
