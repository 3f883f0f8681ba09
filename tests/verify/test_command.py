"""`fleetform verify` on bad input: a message and exit code 1, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STACK = "tests/verify/stacks/verify.yml"


def verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fleetform.cli", "verify", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_bad_stack_file_is_reported_with_its_location(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\nname: x\nservices:\n  web:\n    image: 5\n")
    proc = verify("-i", "@local", str(bad))
    assert proc.returncode == 1
    assert f"{bad}:5:12 services.web.image: expected a string, got 5" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-i", "inventory/no-such.py", STACK], "inventory/no-such.py: inventory file not found"),
        (["-i", "@local", STACK, "--limit", "nohost"], "--limit nohost: no such host or group"),
        (["-i", "@local"], "no stack files given"),
    ],
)
def test_bad_targets_are_reported(args: list[str], message: str) -> None:
    proc = verify(*args)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
