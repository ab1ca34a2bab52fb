"""The lint's translation check (`tools/check_translations.py`), on small files.

Plain pytest functions: they need neither Odoo's registry nor a database.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import check_translations as checker  # noqa: E402  (tools/ is a folder of scripts, not a package)

I18N_DIR = ROOT / "consumer_preferences" / "i18n"

HEADER = """msgid ""
msgstr ""
"Project-Id-Version: Odoo Server 18.0\\n"
"Language: fr\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Content-Transfer-Encoding: \\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\\n"
"""
TEMPLATE = (
    HEADER
    + """
#. module: consumer_preferences
msgid "Invoice"
msgstr ""

#. module: consumer_preferences
msgid "Credit Note for %(customer)s"
msgstr ""
"""
)
COMPLETE = (
    HEADER
    + """
msgid "Invoice"
msgstr "Facture"

msgid "Credit Note for %(customer)s"
msgstr "Avoir pour %(customer)s"
"""
)


@pytest.fixture(params=["msgfmt", "babel"])
def i18n_dir(request, tmp_path, monkeypatch):
    """A folder holding the template; the check runs with gettext's msgfmt,
    then with Babel alone, as where gettext is not installed."""
    if request.param == "msgfmt":
        if not checker.shutil.which("msgfmt"):
            pytest.skip("gettext's msgfmt is not installed")
    else:
        monkeypatch.setattr(checker.shutil, "which", lambda _name: None)
    (tmp_path / "consumer_preferences.pot").write_text(TEMPLATE, encoding="utf-8")
    return tmp_path


def test_complete_translation_passes(i18n_dir):
    (i18n_dir / "fr.po").write_text(COMPLETE, encoding="utf-8")
    assert checker.check_translations(i18n_dir) == []


def test_missing_msgid_fails(i18n_dir):
    po = COMPLETE.replace('msgid "Invoice"\nmsgstr "Facture"\n', "")
    (i18n_dir / "fr.po").write_text(po, encoding="utf-8")
    [problem] = checker.check_translations(i18n_dir)
    assert "fr.po lacks msgids of consumer_preferences.pot" in problem
    assert "'Invoice'" in problem


def test_empty_and_fuzzy_translations_fail(i18n_dir):
    po = COMPLETE.replace('msgstr "Facture"', 'msgstr ""').replace(
        'msgid "Credit', '#, fuzzy\nmsgid "Credit'
    )
    (i18n_dir / "es.po").write_text(po, encoding="utf-8")
    untranslated, fuzzy = checker.check_translations(i18n_dir)
    assert untranslated.endswith("es.po leaves msgids untranslated: 'Invoice'")
    assert "es.po has fuzzy translations" in fuzzy
    assert "'Credit Note for %(customer)s'" in fuzzy


def test_translation_that_does_not_compile_fails(i18n_dir):
    po = COMPLETE.replace('msgstr "Facture"', 'msgstr "Facture"\nFacture')
    (i18n_dir / "fr.po").write_text(po, encoding="utf-8")
    [problem] = checker.check_translations(i18n_dir)
    assert "fr.po does not compile: " in problem


def test_wrong_placeholder_does_not_compile(i18n_dir):
    po = COMPLETE.replace('msgid "Credit', '#, python-format\nmsgid "Credit').replace(
        "pour %(customer)s", "pour %(client)s"
    )
    (i18n_dir / "fr.po").write_text(po, encoding="utf-8")
    [problem] = checker.check_translations(i18n_dir)
    assert "fr.po does not compile: " in problem
    assert "client" in problem


def test_shipped_translations_are_complete():
    shipped = {path.name for path in I18N_DIR.glob("*.po")}
    assert {"fr.po", "es.po"} <= shipped
    assert I18N_DIR in checker.addon_i18n_dirs()
    assert checker.check_translations(I18N_DIR) == []
    assert checker.main([]) == 0


def test_command_names_the_problems(tmp_path, capsys):
    (tmp_path / "consumer_preferences.pot").write_text(TEMPLATE, encoding="utf-8")
    po = COMPLETE.replace('msgstr "Facture"', 'msgstr ""')
    (tmp_path / "fr.po").write_text(po, encoding="utf-8")
    assert checker.main([str(tmp_path)]) == 1
    assert "fr.po leaves msgids untranslated: 'Invoice'" in capsys.readouterr().err
