"""Faults in the middle of a rollout, on the lab (stack ``x-faults``, every lab host).

Each test rolls an ``environment`` change of a published-port service one host
per batch, breaks something while a batch runs (found from the apply's own
progress lines and the host's containers, not from blind sleeps), and then
checks what the hosts really run against what ``apply --json`` said, and that
the next apply converges.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from clirun import ROOT

from fleetform.lab.config import LabConfig

from .onhost import lab_host, remove_stack, sh

pytestmark = pytest.mark.e2e

STACK = "x-faults"
NAME = f"{STACK}-web-1"
HOSTS = (lab_host(1), lab_host(2), lab_host(3))
INVENTORY = "inventory/lab.py"
#: short lock timings, so a holder that vanished is stale within seconds
#: long enough that a fault injected a moment after the health wait lands inside it
MONITOR = "8s"
ENV = {"FLEETFORM_LOCK_HEARTBEAT": "1s", "FLEETFORM_LOCK_STALE_AFTER": "3s"}
#: no apply of these tests may take longer: a hang is a failure, not a stuck suite
APPLY_TIMEOUT = 180


def write_stack(path: Path, mark: str) -> Path:
    doc = {
        "version": 1,
        "name": STACK,
        "services": {
            "web": {
                "image": "registry.lab:5000/fleetform/demo:1",
                "ports": ["18183:8080"],
                "environment": {"MARK": mark},
                "healthcheck": {
                    "test": "wget -q -O- http://127.0.0.1:8080/healthz",
                    "interval": "1s",
                    "timeout": "1s",
                    "retries": 3,
                    "start_period": "1s",
                },
                "restart": "unless-stopped",
                "stop_grace_period": "1s",
                "deploy": {"update_config": {"parallelism": 1, "monitor": MONITOR}},
            }
        },
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def containers(host: str, everything: bool = False) -> dict[str, tuple[str, str, str]]:
    """name -> (id, status, MARK) of every container of the stack on ``host``, but the
    previous container a rollout keeps, stopped, as ``<name>.fleetform-old`` (a rollback
    starts it again; a running one would be a leftover, and is listed), unless
    ``everything``."""
    fmt = "{{.Name}} {{.Id}} {{.State.Status}} {{json .Config.Env}}"
    out = sh(
        host,
        f"docker ps -aq --filter label=fleetform.stack={STACK} | "
        f"xargs -r docker inspect --format '{fmt}'",
    )
    found = {}
    for line in out.splitlines():
        name, cid, status, env = line.split(" ", 3)
        mark = next((e[5:] for e in json.loads(env) if e.startswith("MARK=")), "")
        if name.endswith(".fleetform-old") and status != "running" and not everything:
            continue
        found[name.lstrip("/")] = (cid, status, mark)
    return found


def serving(host: str) -> bool:
    """The published port answers on ``host`` (a lab address: the probe stays in the lab)."""
    address = LabConfig.from_env().host_address(HOSTS.index(host) + 1)
    try:
        with urllib.request.urlopen(f"http://{address}:18183/healthz", timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def wait_serving(host: str, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if serving(host):
            return True
        time.sleep(0.5)
    return False


def start_apply(path: Path) -> subprocess.Popen[str]:
    """``apply --yes --json`` in the background: its progress lines come on stderr."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fleetform.cli",
            *("apply", "-i", INVENTORY, str(path)),
            "--yes",
            "--json",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **ENV},
    )


class Progress:
    """The stderr lines of a running apply, read as they come (a thread keeps
    the pipe drained so the apply never blocks on a full pipe)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.proc.poll() is not None:
                self._thread.join(5)
                raise AssertionError(f"apply ended before {text!r}: {self.text()}")
            time.sleep(0.1)
        raise AssertionError(f"no {text!r} within {timeout}s: {self.text()}")

    def finish(self, timeout: float = APPLY_TIMEOUT) -> tuple[int, str, str]:
        """Exit code, stdout, stderr; a run that does not end in time fails the test."""
        try:
            out = self.proc.stdout.read() if self.proc.stdout else ""  # ends at exit
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"apply did not end within {timeout}s: {self.text()}") from None
        self._thread.join(5)
        return code, out, self.text()

    def text(self) -> str:
        return "\n".join(self.lines)


def in_batch(progress: Progress, number: int, host: str, timeout: float = 60) -> None:
    """Return once batch ``number`` runs on ``host`` and its new container is in its
    ``monitor`` window: the old one renamed aside (kept), the new one healthy."""
    progress.wait_for(f"batch {number}/3: {host} {NAME}")
    health = "{{if .State.Health}}{{.State.Health.Status}}{{end}}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kept = f"{NAME}.fleetform-old" in containers(host, everything=True)
        if kept and sh(host, f"docker inspect -f '{health}' {NAME}", check=False) == "healthy":
            # The kept container stays after the unit too: make sure the batch
            # still runs (the next one has not started, the apply not ended).
            later = f"batch {number + 1}/3" in progress.text() or progress.proc.poll() is not None
            assert not later, f"{host}: missed the monitor window: {progress.text()}"
            return
        time.sleep(0.2)
    raise AssertionError(f"{host}: the batch never got to its monitor window: {progress.text()}")


def apply(fleetform: Any, path: Path) -> tuple[int, dict[str, Any], str]:
    proc = fleetform("apply", "-i", INVENTORY, str(path), "--yes", "--json", env=ENV)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def converges(fleetform: Any, path: Path, mark: str) -> None:
    """The next apply converges on every host: one container each, running ``mark``,
    serving, nothing left aside but the kept previous container; then plan has no changes."""
    code, doc, err = apply(fleetform, path)
    assert code == 0, json.dumps(doc, indent=1) + err
    for host in HOSTS:
        found = containers(host)
        assert list(found) == [NAME], (host, found)
        assert found[NAME][1:] == ("running", mark), (host, found)
        assert wait_serving(host, 30), host
    plan = fleetform("plan", "-i", INVENTORY, str(path), "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr


def states(doc: dict[str, Any]) -> dict[str, str]:
    return {s["host"]: s["state"] for s in doc["rollout"]["services"]}


@pytest.fixture
def stack(fleetform: Any, lab: Any, tmp_path: Path) -> Iterator[Path]:
    def clean() -> None:
        for host in HOSTS:
            # An interrupted test may have left dockerd or sshd stopped.
            sh(host, "systemctl start docker ssh", check=False)
            remove_stack(
                host,
                STACK,
                f"rm -rf /var/lib/fleetform/locks/{STACK} /var/lib/fleetform/revisions/{STACK}",
            )

    clean()
    path = write_stack(tmp_path / f"{STACK}.yml", "a")
    code, doc, err = apply(fleetform, path)
    assert code == 0, json.dumps(doc) + err
    yield path
    clean()


def test_dockerd_restarted_on_one_host_mid_rollout(fleetform: Any, stack: Path) -> None:
    before = {h: containers(h) for h in HOSTS}
    assert all(list(c) == [NAME] and c[NAME][1:] == ("running", "a") for c in before.values())

    # Other tests may have given the host's engine live-restore (daemon.json):
    # then the containers survive a dockerd restart, else it stops them.
    live = sh(HOSTS[1], "docker info --format '{{.LiveRestoreEnabled}}'") == "true"
    progress = Progress(start_apply(write_stack(stack, "b")))
    in_batch(progress, 2, HOSTS[1])
    # The monitor takes its baseline (restart count, start time) just after the
    # health wait: restart dockerd once that is surely taken, well inside the window.
    time.sleep(1.5)
    started = sh(HOSTS[1], f"docker inspect --format '{{{{.State.StartedAt}}}}' {NAME}")
    sh(HOSTS[1], "systemctl restart docker")
    code, out, err = progress.finish()
    doc = json.loads(out)
    after = {h: containers(h) for h in HOSTS}
    report = json.dumps(doc.get("rollout"), indent=1) + err + json.dumps(after)

    # No host is left without the service, and no new container is left aside.
    for host in HOSTS:
        assert not any(n.endswith(".fleetform-new") for n in after[host]), report
        assert after[host].get(NAME, ("", "", ""))[1] == "running", report
        assert wait_serving(host), (host, report)
    if live:
        # The new container never stopped (same start time): the gate passed and
        # the rollout went on, exit 0, every host on the new value.
        assert sh(HOSTS[1], f"docker inspect --format '{{{{.State.StartedAt}}}}' {NAME}") == started
        assert code == 0, report
        assert states(doc) == {h: "updated" for h in HOSTS}, report
        assert all(after[h][NAME][1:] == ("running", "b") for h in HOSTS), report
        converges(fleetform, stack, "b")
        return
    # The batch on that host failed its gate (its engine stopped the new
    # container, and started it again: a restart): the design rolls the whole
    # stack back, exit 3, and the JSON says where.
    assert code == 3, report
    assert doc["rollout"]["outcome"] == "rolled_back", report
    assert states(doc) == {HOSTS[0]: "rolled_back", HOSTS[1]: "rolled_back", HOSTS[2]: "untouched"}
    assert [e["host"] for e in doc["rollout"]["errors"]] == [HOSTS[1]], report
    # What the JSON says is what the hosts run: the old containers, the old value.
    for host in HOSTS:
        assert list(after[host]) == [NAME], report
        assert after[host][NAME] == (before[host][NAME][0], "running", "a"), report

    converges(fleetform, stack, "b")


def test_a_host_unreachable_mid_rollout(fleetform: Any, stack: Path) -> None:
    before = {h: containers(h) for h in HOSTS}
    gone = HOSTS[2]
    progress = Progress(start_apply(write_stack(stack, "b")))
    in_batch(progress, 3, gone)
    # No new SSH connection, and the open ones cut (the session processes die).
    sh(gone, "systemctl stop ssh.socket ssh.service 2>/dev/null; pkill -KILL -x sshd; true")
    cut = time.monotonic()
    try:
        code, out, err = progress.finish()
        # It never waits on the lost host: it ends within seconds of losing it.
        assert time.monotonic() - cut < 30, progress.text()
        left = containers(gone)  # with docker exec: sshd is still down
    finally:
        sh(gone, "systemctl start ssh", check=False)
    doc = json.loads(out)
    report = json.dumps(doc.get("rollout"), indent=1) + err
    assert code != 0 and code in (1, 3), report
    assert gone in err, report  # the human lines name the host
    failed = [e for e in doc["rollout"]["errors"] if e["host"] == gone]
    # Its command ran on without the controller: the new or the old container
    # serves under the name, nothing is left half-created.
    assert left.get(NAME, ("", "", ""))[1] == "running", (left, report)
    assert not any(n.endswith(".fleetform-new") for n in left), (left, report)
    assert failed and "the connection was lost" in failed[0]["error"], report
    # The design: the unit without a word from its host counts as failed, so
    # the stack rolls back on the hosts that are reachable: they run the old
    # containers again.
    assert doc["rollout"]["outcome"] == "rolled_back", report
    assert states(doc)[HOSTS[0]] == "rolled_back" and states(doc)[HOSTS[1]] == "rolled_back"
    for host in HOSTS[:2]:
        found = containers(host)
        assert found == {NAME: (before[host][NAME][0], "running", "a")}, (host, found, report)
    # The unreachable host kept its lock (nobody could remove it): once the
    # host is back and the lock is stale, the next apply breaks it and converges.
    assert sh(gone, f"cat /var/lib/fleetform/locks/{STACK}/holder.json", check=False)
    time.sleep(4)  # past FLEETFORM_LOCK_STALE_AFTER
    converges(fleetform, stack, "b")


def test_a_controller_killed_in_a_batch_leaves_a_lock_the_next_apply_breaks(
    fleetform: Any, stack: Path
) -> None:
    progress = Progress(start_apply(write_stack(stack, "b")))
    in_batch(progress, 2, HOSTS[1])
    progress.proc.send_signal(signal.SIGKILL)  # no finally, no release: the locks stay
    progress.finish(timeout=30)
    # Past FLEETFORM_LOCK_STALE_AFTER without a heartbeat, and past the batch's
    # monitor window (8s): what the host's command did without its controller.
    time.sleep(10)
    for host in HOSTS:  # no host is left without the service, nothing half-created
        found = containers(host)
        assert found[NAME][1] == "running" and f"{NAME}.fleetform-new" not in found, found
    held = [h for h in HOSTS if sh(h, f"cat /var/lib/fleetform/locks/{STACK}/holder.json || true")]
    assert held == list(HOSTS)
    code, doc, err = apply(fleetform, stack)
    assert code == 0, json.dumps(doc, indent=1) + err
    for host in HOSTS:
        assert f"{host}: broke the stale lock of stack {STACK}" in err
    converges(fleetform, stack, "b")
