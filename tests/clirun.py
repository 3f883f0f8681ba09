"""Run the ``fleetform`` command line as a user does: a separate process, no TTY.

An uncaught exception there prints a real traceback on stderr (and exits 1,
like a handled error), so "no traceback" is only a meaningful check on the
output of such a process, not on an in-process ``main()`` call.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str, env: Mapping[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    """``fleetform ARGS`` from the repository root, stdin from /dev/null; ``env`` is added."""
    return subprocess.run(
        [sys.executable, "-m", "fleetform.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
