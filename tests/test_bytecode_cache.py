"""The test command's processes keep Python's compiled modules in
`.local/pycache/`, even where PYTHONDONTWRITEBYTECODE is set, and never next
to the sources."""

import subprocess
import sys
from pathlib import Path

TOOLS_DIR = Path(__file__).resolve().parent.parent / "tools"
sys.path.insert(0, str(TOOLS_DIR))
import run_tests  # noqa: E402  (tools/ is a folder of scripts, not a package)


def test_a_child_process_compiles_into_the_cache(tmp_path):
    (tmp_path / "cached_module.py").write_text("VALUE = 42\n")
    env = run_tests.with_bytecode_cache({"PYTHONDONTWRITEBYTECODE": "1"})
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert Path(env["PYTHONPYCACHEPREFIX"]) == run_tests.BYTECODE_DIR

    completed = subprocess.run(
        [sys.executable, "-c", "import cached_module; print(cached_module.VALUE)"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert completed.stdout == "42\n"
    # The prefix mirrors the source's absolute path.
    cache_dir = run_tests.BYTECODE_DIR / tmp_path.resolve().relative_to("/")
    assert list(cache_dir.glob("cached_module.*.pyc"))
    assert not (tmp_path / "__pycache__").exists()
