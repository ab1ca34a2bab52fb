"""The test command's template databases (tools/templates.py): what names,
and so invalidates, a template.

Plain pytest functions on a small repository made here; the command's own
runs build and copy the real templates.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import harness  # noqa: E402  (tools/ is a folder of scripts, not a package)
import templates  # noqa: E402

ODOO = "18.0 /opt/odoo/odoo /opt/odoo/addons 1755817188000000000"


def make_repository(root):
    addon_dir = root / "shop"
    (addon_dir / "static" / "src").mkdir(parents=True)
    (addon_dir / "__manifest__.py").write_text("{'name': 'Shop'}", encoding="utf-8")
    (addon_dir / "views.xml").write_text("<odoo/>", encoding="utf-8")
    (addon_dir / "static" / "src" / "shop.js").write_text("// 1", encoding="utf-8")
    return addon_dir


def name(root, addons=("shop",), source="deps"):
    return templates.template_name("addons", ODOO, source, addons, root=root)


def test_any_change_to_an_addon_file_names_another_template(tmp_path):
    addon_dir = make_repository(tmp_path)
    original = name(tmp_path)
    assert original.startswith(templates.PREFIX + "addons_")
    assert len(original) <= 63, "PostgreSQL's longest name"

    script = addon_dir / "static" / "src" / "shop.js"
    script.write_text("// 2", encoding="utf-8")
    changed = name(tmp_path)
    assert changed != original
    script.write_text("// 1", encoding="utf-8")
    assert name(tmp_path) == original

    (addon_dir / "i18n").mkdir()
    (addon_dir / "i18n" / "fr.po").write_text("", encoding="utf-8")
    assert name(tmp_path) not in {original, changed}
    (addon_dir / "i18n" / "fr.po").unlink()
    assert name(tmp_path) == original

    (addon_dir / "views.xml").rename(addon_dir / "views_renamed.xml")
    assert name(tmp_path) != original


def test_the_script_preparing_the_test_data_counts(tmp_path):
    make_repository(tmp_path)
    script = tmp_path / harness.PREPARE_TEST_DATA
    script.parent.mkdir()
    script.write_text("# 1", encoding="utf-8")
    prepared = ("shop", harness.ADDON)
    original = name(tmp_path, addons=prepared)
    script.write_text("# 2", encoding="utf-8")
    assert name(tmp_path, addons=prepared) != original
    # A template without the addon is not prepared: the script does not count.
    unprepared = name(tmp_path)
    script.write_text("# 3", encoding="utf-8")
    assert name(tmp_path) == unprepared


def test_bytecode_does_not_count(tmp_path):
    addon_dir = make_repository(tmp_path)
    original = name(tmp_path)
    (addon_dir / "__pycache__").mkdir()
    (addon_dir / "__pycache__" / "models.cpython-311.pyc").write_bytes(b"\0")
    assert name(tmp_path) == original


def test_odoo_dependencies_and_source_count(tmp_path):
    make_repository(tmp_path)
    original = name(tmp_path)
    assert name(tmp_path, source="other deps") != original
    assert name(tmp_path, addons=("shop", "account")) != original
    assert (
        templates.template_name(
            "addons", Path("/other/odoo"), "deps", ["shop"], tmp_path
        )
        != original
    )


def test_odoo_fingerprint_follows_odoo_files():
    odoo = harness.find_odoo()
    fingerprint = templates.odoo_fingerprint(odoo)
    assert str(odoo.package_dir) in fingerprint
    assert str(harness.ROOT) not in fingerprint.split()
    newest = int(fingerprint.split()[-1])
    assert newest >= (odoo.package_dir / "release.py").stat().st_mtime_ns


def test_external_dependencies_leave_out_the_repository_addons():
    assert "consumer_preferences" not in templates.external_dependencies(
        ["consumer_preferences"]
    )
    assert "account" in templates.external_dependencies(["consumer_preferences"])
