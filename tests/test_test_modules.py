"""Every test module of an addon is imported by its ``tests/__init__.py``.

pytest finds test files by name, Odoo's own runner (``--test-enable``) only
through that package: a module left out would pass here and never run there.
"""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import harness  # noqa: E402  (tools/ is a folder of scripts, not a package)


def imported_modules(package_file):
    tree = ast.parse(package_file.read_text("utf-8"))
    return {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names
    }


@pytest.mark.parametrize("addon", harness.addon_names())
def test_every_test_module_is_imported(addon):
    tests_dir = ROOT / addon / "tests"
    modules = {path.stem for path in tests_dir.glob("test_*.py")}
    assert modules, f"{addon} has no tests"
    assert modules - imported_modules(tests_dir / "__init__.py") == set()
