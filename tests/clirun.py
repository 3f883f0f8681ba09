"""Run the ``fleetform`` command line as a user does: a separate process, no TTY.

An uncaught exception there prints a real traceback on stderr (and exits 1,
like a handled error), so "no traceback" is only a meaningful check on the
output of such a process, not on an in-process ``main()`` call.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def run_cli(*args: str, cwd: Path = ROOT, timeout: int = 120) -> CliResult:
    proc = subprocess.run(
        [sys.executable, "-m", "fleetform.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
