"""The test command lints once per state of the files: a second run on the
very same files skips the hooks, and says so; any change runs them again."""

import subprocess
import sys
from pathlib import Path

TOOLS_DIR = Path(__file__).resolve().parent.parent / "tools"
sys.path.insert(0, str(TOOLS_DIR))
import run_tests  # noqa: E402  (tools/ is a folder of scripts, not a package)

# A hook of pre-commit's own `pygrep` language (nothing to install): it fails
# on any text file holding the word.
CONFIG = """
repos:
  - repo: local
    hooks:
      - id: no-forbidden-word
        name: no forbidden word
        entry: FORBIDDEN
        language: pygrep
        files: \\.txt$
"""


def git(repository, *arguments):
    subprocess.run(["git", *arguments], cwd=repository, check=True)


def lint(repository, capfd):
    """Lint ``repository`` as the test command does: its exit code, and
    whether the hooks ran."""
    code = run_tests.lint(repository)
    output = capfd.readouterr().out
    return code, "no forbidden word" in output


def test_second_lint_of_the_same_files_is_skipped(tmp_path, capfd):
    git(tmp_path, "init", "--quiet")
    (tmp_path / ".pre-commit-config.yaml").write_text(CONFIG)
    (tmp_path / "notes.txt").write_text("all good\n")
    git(tmp_path, "add", ".")

    assert lint(tmp_path, capfd) == (0, True)
    assert lint(tmp_path, capfd) == (0, False)

    # A changed file: the hooks run again, and fail.
    (tmp_path / "notes.txt").write_text("FORBIDDEN\n")
    assert lint(tmp_path, capfd) == (1, True)
    assert lint(tmp_path, capfd) == (1, True)

    # A new file git lists, even with content that passed before.
    (tmp_path / "notes.txt").write_text("all good\n")
    (tmp_path / "more.txt").write_text("all good\n")
    git(tmp_path, "add", ".")
    assert lint(tmp_path, capfd) == (0, True)
    assert lint(tmp_path, capfd) == (0, False)

    # Other settings of the hooks.
    (tmp_path / ".pre-commit-config.yaml").write_text(
        CONFIG.replace("FORBIDDEN", "good")
    )
    assert lint(tmp_path, capfd) == (1, True)


def test_lint_outside_a_git_work_tree_leaves_the_error_to_pre_commit(
    tmp_path, capfd, monkeypatch
):
    # The test command keeps its temporary files inside the repository: git
    # must not look above the folder for a work tree.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    (tmp_path / ".pre-commit-config.yaml").write_text(CONFIG)
    assert run_tests.lint(tmp_path) != 0
    assert not (tmp_path / run_tests.LINT_PASSED_DIR).exists()
    assert "git" in "".join(capfd.readouterr())
