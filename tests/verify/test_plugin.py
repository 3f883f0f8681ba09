"""The checks as plain pytest tests: the plugin run by pytest in a subprocess.

The host is ``local://``, but its state comes from the recorded output (a
tiny plugin replaces the gathering), so these tests need no engine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import DATA

STACK = Path(__file__).parent / "stacks" / "ffverify.yml"

FAKE_GATHER = f"""
import fleetform.verify.runner as runner
from fleetform.verify.state import parse_state

calls = []


def gather(host, needs):
    calls.append(host)
    with open({str(DATA / "local_host.txt")!r}) as f:
        return parse_state(f.read(), needs)


runner.gather = gather


def pytest_sessionfinish(session):
    print(f"gathered {{len(calls)}} time(s)")
"""


def run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "fake_gather.py").write_text(FAKE_GATHER)
    module = subprocess.run(
        [sys.executable, "-m", "fleetform.verify.pytest_module"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", module, "-p", "fake_gather", "-rf", "-q", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )


def test_exported_module_path_is_printed() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "fleetform.verify.pytest_module"], capture_output=True, text=True
    ).stdout.strip()
    assert out.endswith("pytest_module.py") and Path(out).is_file()


def test_each_check_is_a_test_and_failures_name_host_resource_and_values(tmp_path: Path) -> None:
    proc = run_pytest(
        tmp_path, "--fleetform-stack", str(STACK), "--hosts", "local://", "--fleetform-groups", "x"
    )
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "gathered 1 time(s)" in out, "the host's state is read once for all its tests"
    failed = {
        line.split("test_fleetform[", 1)[1].split("@", 1)[0]
        for line in out.splitlines()
        if line.startswith("FAILED")
    }
    # The recorded host differs from the stack in exactly these ways.
    assert failed == {
        "engine::containerd enabled",
        "ffverify-web-1::config hash",
        "ffverify-job-1::config hash",
        "ffverify-job-1::network ffverify_default",
        "network ffverify_default::exists",
        "stack ffverify::no orphaned containers",
    }
    assert (
        "local  stack ffverify  no orphaned containers  expected none, got ffverify-stray-1" in out
    )
    summary = out.strip().splitlines()[-1]
    assert " passed" in summary and " failed" in summary
    assert "s3cret" not in out


def test_a_bad_stack_file_is_a_usage_error_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\nname: bad\nservices:\n  web:\n    image: 5\n    portz: []\n")
    proc = run_pytest(tmp_path, "--fleetform-stack", str(bad), "--hosts", "local://")
    assert proc.returncode == 4  # pytest's usage error
    assert "problems in the stack files" in proc.stderr
    assert "portz" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_plugin_is_inert_without_its_options(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_ok():\n    assert True\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", str(tmp_path / "test_plain.py")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0 and "1 passed" in proc.stdout


@pytest.mark.parametrize("option", ["--fleetform-stack", "--fleetform-inventory"])
def test_options_are_listed_in_pytest_help(option: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"], capture_output=True, text=True
    )
    assert option in proc.stdout
