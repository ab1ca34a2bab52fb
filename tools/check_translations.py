"""Check that every addon's translations are complete and compile.

    python3 tools/check_translations.py [I18N_DIR ...]

Without arguments, checks the `i18n/` folder of every addon of the repository
(a top-level folder with a `__manifest__.py`). Prints one line per problem and
exits with 1 when there is any. A hook of `.pre-commit-config.yaml`, so the
test command runs it too.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# How many msgids a translation problem lists before "and N more".
LISTED_MSGIDS = 10


def main(argv=None):
    """Check the folders named, or every addon's; return the exit code."""
    arguments = sys.argv[1:] if argv is None else argv
    i18n_dirs = [Path(argument) for argument in arguments] or addon_i18n_dirs()
    problems = [
        problem for folder in i18n_dirs for problem in check_translations(folder)
    ]
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


def addon_i18n_dirs(root=ROOT):
    """The `i18n/` folders of the repository's addons that have one."""
    return sorted(
        manifest.parent / "i18n"
        for manifest in root.glob("*/__manifest__.py")
        if (manifest.parent / "i18n").is_dir()
    )


def check_translations(i18n_dir):
    """The problems of an addon's translations, one sentence each.

    Every `.po` file of `i18n_dir` must compile (`msgfmt --check`, or Babel's
    parser and checks where gettext is not installed) and translate every
    msgid of the `.pot` template, none of them empty or fuzzy: Odoo shows
    the English text for whatever is missing.
    """
    [template_file] = i18n_dir.glob("*.pot")
    template = _read_catalog(template_file)
    template_ids = [message.id for message in template if message.id]
    problems = []
    for po_file in sorted(i18n_dir.glob("*.po")):
        name = _display_path(po_file)
        compile_error = _compile_error(po_file)
        if compile_error:
            problems.append(f"{name} does not compile: {compile_error}")
            continue
        catalog = _read_catalog(po_file)
        missing = [msgid for msgid in template_ids if msgid not in catalog]
        empty, fuzzy = [], []
        for msgid in template_ids:
            message = catalog.get(msgid)
            if message is None:
                continue
            strings = message.string if message.pluralizable else [message.string]
            if not all(strings):
                empty.append(msgid)
            elif message.fuzzy:
                fuzzy.append(msgid)
        for msgids, what in (
            (missing, f"lacks msgids of {template_file.name}"),
            (empty, "leaves msgids untranslated"),
            (fuzzy, "has fuzzy translations, which Odoo ignores, of msgids"),
        ):
            if msgids:
                problems.append(f"{name} {what}: {_list_msgids(msgids)}")
    return problems


def _read_catalog(path):
    """A `.po` or `.pot` file read by Babel (which comes with Odoo)."""
    from babel.messages.pofile import read_po

    with path.open("rb") as po_file:
        return read_po(po_file, abort_invalid=True)


def _compile_error(po_file):
    """Why `po_file` does not compile, or an empty string."""
    if shutil.which("msgfmt"):
        result = subprocess.run(
            ["msgfmt", "--check", "-o", os.devnull, str(po_file)],
            capture_output=True,
            text=True,
            check=False,
        )
        if not result.returncode:
            return ""
        # The fatal errors only: a header field missing is a mere warning.
        lines = result.stderr.strip().splitlines()
        return "; ".join(line for line in lines if ": warning: " not in line)
    from babel.messages.pofile import PoFileError

    try:
        catalog = _read_catalog(po_file)
    except PoFileError as error:
        return str(error)
    return "; ".join(
        f"{message.id!r}: {error}"
        for message, errors in catalog.check()
        for error in errors
    )


def _display_path(path):
    """`path` relative to the project when inside it."""
    try:
        return path.relative_to(ROOT)
    except ValueError:
        return path


def _list_msgids(msgids):
    """The first msgids, quoted, and how many more there are."""
    listed = ", ".join(repr(msgid) for msgid in msgids[:LISTED_MSGIDS])
    more = len(msgids) - LISTED_MSGIDS
    return f"{listed} and {more} more" if more > 0 else listed


if __name__ == "__main__":
    sys.exit(main())
