"""The tools' wrapper passes SIGINT and SIGTERM on to the program it runs.

`tools/demo.py` serves Odoo through `harness.run_child`: stopping the wrapper
with `kill -INT` (not only Ctrl-C at the terminal) or `kill -TERM` must stop
Odoo, then the database server.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TOOLS_DIR = Path(__file__).resolve().parent.parent / "tools"

# Exits with 3 on SIGINT, 4 on SIGTERM, 0 when nobody stops it in 60 s;
# creates the file named by its argument once its handlers are in place.
CHILD = """
import pathlib, signal, sys, time
signal.signal(signal.SIGINT, lambda *_: sys.exit(3))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(4))
pathlib.Path(sys.argv[1]).touch()
time.sleep(60)
"""
# The wrapper, as tools/demo.py runs Odoo: exits with the child's code.
WRAPPER = """
import sys
import harness
sys.exit(harness.run_child([sys.executable, "-c", sys.argv[1], sys.argv[2]]))
"""


@pytest.mark.parametrize(
    ("signum", "expected_code"), [(signal.SIGINT, 3), (signal.SIGTERM, 4)]
)
def test_signal_to_wrapper_reaches_child(tmp_path, signum, expected_code):
    ready_file = tmp_path / "ready"
    wrapper = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, CHILD, str(ready_file)],
        cwd=TOOLS_DIR,
        env=dict(os.environ, PYTHONPATH=str(TOOLS_DIR)),
    )
    try:
        deadline = time.monotonic() + 30
        while not ready_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready_file.exists(), "the child did not start"
        wrapper.send_signal(signum)
        assert wrapper.wait(timeout=30) == expected_code
    finally:
        wrapper.kill()
        wrapper.wait()
