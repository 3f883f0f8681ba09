"""End to end: deploy locks between concurrent applies, a killed apply's stale
lock, and the audit log that records it all (stacks ``s-...``, lab host 1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from clirun import ROOT

from .onhost import remove_stack, sh

pytestmark = pytest.mark.e2e

STACK = "s-lock"
#: short lock timings, so a dead holder is stale within seconds
ENV = {"FLEETFORM_LOCK_HEARTBEAT": "1s", "FLEETFORM_LOCK_STALE_AFTER": "3s"}


def slow_stack(path: Path, marker: str, seconds: int = 6) -> Path:
    """A container that turns healthy only after ``seconds``: apply waits that long.

    Every run of a test writes the same path (a stack file's path is its
    identity); a run has read it by the time it holds the lock."""
    path.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "name": STACK,
                "services": {
                    "slow": {
                        "image": "registry.lab:5000/fleetform/busybox:1",
                        "command": [
                            "sh",
                            "-c",
                            f"sleep {seconds}; touch /tmp/ready; exec sleep 100000 # {marker}",
                        ],
                        "healthcheck": {
                            "test": ["CMD", "test", "-f", "/tmp/ready"],
                            "interval": "1s",
                            "timeout": "1s",
                            "retries": 3,
                            "start_period": "60s",
                        },
                    }
                },
            }
        )
    )
    return path


def start_apply(path: Path, host: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "fleetform.cli", "apply", "-i", "inventory/lab.py"),
            *(str(path), "--limit", host, "--yes", *extra),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **ENV},
    )


def wait_for_lock(host: str, timeout: float = 60) -> str:
    """The run id holding the stack's lock, once the lock exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = sh(host, f"cat /var/lib/fleetform/locks/{STACK}/holder.json", check=False)
        if record:
            return str(json.loads(record)["run_id"])
        time.sleep(0.2)
    raise AssertionError("the first apply never took the lock")


def container_id(host: str) -> str:
    return sh(host, f"docker inspect -f '{{{{.Id}}}}' {STACK}-slow-1 2>/dev/null", check=False)


def audit_entries(fleetform: Any, host: str, run_ids: set[str]) -> list[dict[str, Any]]:
    result = fleetform(
        "audit", "-i", "inventory/lab.py", "--limit", host, "--since", "10m", "--json"
    )
    assert result.returncode == 0, result.stderr
    return [e for e in json.loads(result.stdout)["entries"] if e["run_id"] in run_ids]


@pytest.fixture
def host(lab: Any) -> Any:
    name = lab.hosts[0].name
    remove_stack(name, STACK, f"rm -rf /var/lib/fleetform/locks/{STACK}")
    yield name
    remove_stack(name, STACK, f"rm -rf /var/lib/fleetform/locks/{STACK}")


def test_a_second_apply_on_a_locked_stack_fails_at_once_naming_the_holder_and_changes_nothing(
    fleetform: Any, host: str, tmp_path: Path
) -> None:
    first = start_apply(slow_stack(tmp_path / "a.yml", "first"), host)
    try:
        holder = wait_for_lock(host)
        t0 = time.monotonic()
        second = start_apply(slow_stack(tmp_path / "a.yml", "second"), host, "--json")
        out, err = second.communicate(timeout=60)
        assert second.returncode == 1, out + err
        assert time.monotonic() - t0 < 10  # at once, not after the first one's health wait
        assert f"stack {STACK} on {host} is locked by run {holder}" in err
        assert "Traceback" not in err and out == ""
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, out + err
    finally:
        first.kill()
    # the second run changed nothing: the container is the first run's
    assert "# first" in sh(host, f"docker inspect -f '{{{{.Args}}}}' {STACK}-slow-1")
    entries = audit_entries(fleetform, host, {holder})
    actions = [e["action"] for e in entries]
    assert actions[0] == "lock" and actions[-1] == "unlock" and "create" in actions
    create = next(e for e in entries if e["action"] == "create")
    assert create["stack"] == STACK and create["service"] == "slow"
    assert create["container_ids"]["new"] == container_id(host)
    assert not sh(host, f"ls /var/lib/fleetform/locks/{STACK} 2>/dev/null || true")


def test_lock_wait_waits_for_the_holder_then_applies(
    fleetform: Any, host: str, tmp_path: Path
) -> None:
    first = start_apply(slow_stack(tmp_path / "a.yml", "first"), host)
    try:
        wait_for_lock(host)
        second = start_apply(slow_stack(tmp_path / "a.yml", "second"), host, "--lock-wait", "90s")
        out2, err2 = second.communicate(timeout=180)
        out1, err1 = first.communicate(timeout=60)
    finally:
        first.kill()
    assert first.returncode == 0, out1 + err1
    assert second.returncode == 0, out2 + err2
    assert "waiting" in err2
    assert "# second" in sh(host, f"docker inspect -f '{{{{.Args}}}}' {STACK}-slow-1")


def test_a_killed_apply_leaves_a_lock_that_the_next_apply_breaks_once_stale_and_converges(
    fleetform: Any, host: str, tmp_path: Path
) -> None:
    first = start_apply(slow_stack(tmp_path / "a.yml", "killed", seconds=20), host)
    try:
        dead = wait_for_lock(host)
        time.sleep(2)  # inside the health wait
        first.send_signal(signal.SIGKILL)  # no finally, no release: the lock stays
        first.communicate(timeout=30)
    finally:
        first.kill()
    assert sh(host, f"cat /var/lib/fleetform/locks/{STACK}/holder.json", check=False)
    plan = fleetform("plan", "-i", "inventory/lab.py", str(tmp_path / "a.yml"), "--limit", host)
    assert f"is locked by run {dead}" in plan.stdout

    time.sleep(4)  # past FLEETFORM_LOCK_STALE_AFTER without a heartbeat
    path = slow_stack(tmp_path / "a.yml", "after", seconds=1)
    again = start_apply(path, host)
    out, err = again.communicate(timeout=180)
    assert again.returncode == 0, out + err
    assert f"{host}: broke the stale lock of stack {STACK}" in err
    replan = fleetform("plan", "-i", "inventory/lab.py", str(path), "--limit", host)
    assert "No changes" in replan.stdout, replan.stdout

    result = fleetform("audit", "-i", "inventory/lab.py", "--limit", host, "--json")
    assert result.returncode == 0, result.stderr
    (broken,) = [
        e
        for e in json.loads(result.stdout)["entries"]
        if e["action"] == "lock-broken" and json.loads(e["details"]["holder"])["run_id"] == dead
    ]
    assert broken["stack"] == STACK and broken["details"]["heartbeat_age"] > 3
    assert broken["run_id"] != dead  # the run that broke it
