"""End to end: where ``reconcile`` runs on the hosts themselves (docs/gitops-agents.md).

* **Pull mode** on lab-2 and lab-3 (``deploys/agent.py``): each host installs
  fleetform from a wheelhouse built from this checkout, and its timer's
  ``reconcile --once`` converges the host to a repository served by
  ``git daemon`` on the lab's gateway.  A stack that names the hosts selects
  them; commit 2 reaches both; ``fleetform status`` run from here reads each
  host's commit in one round trip.
* **A controller** on lab-2 (``deploys/reconciler.py``, reusing its install)
  converges lab-3 over SSH from the repository's own inventory, with host key
  checking on.

Both deploys run twice (the second changes nothing) and are removed at the end.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from gitrepo import Repo

from fleetform.lab.config import LabConfig
from fleetform.revisions import REVISIONS_DIR

from .onhost import lab_host, remove_stack, sh

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PULL = "gitops-pull"
CTL = "gitops-ctl"
IMAGE = "registry.lab:5000/fleetform/busybox:1"


def _stack(name: str, hosts: list[str], wave: str) -> str:
    app = {
        "image": IMAGE,
        "command": ["sleep", "100000"],
        "environment": {"WAVE": wave},
        "stop_grace_period": "1s",
    }
    return yaml.safe_dump({"version": 1, "name": name, "hosts": hosts, "services": {"app": app}})


def _controller_inventory(cfg: LabConfig) -> str:
    # the controller's view of the fleet: lab-3 by address, through the key and
    # known_hosts the reconciler deploy uploads (host key checking stays on)
    data = {
        "ssh_hostname": cfg.host_address(3),
        "ssh_user": "root",
        "ssh_key": "/etc/fleetform/gitops/ssh_key",
        "ssh_known_hosts_file": "/etc/fleetform/gitops/known_hosts",
    }
    return f"fleet = [({lab_host(3)!r}, {data!r})]\n"


def _free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, lab: Any) -> Iterator[tuple[Repo, str]]:
    """A bare repository served read-only by ``git daemon`` on the lab's gateway."""
    root = tmp_path_factory.mktemp("gitops-agents")
    repo = Repo(root)
    gateway = LabConfig.from_env().gateway
    port = _free_port(gateway)
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            f"--base-path={root}",
            f"--listen={gateway}",
            f"--port={port}",
            str(root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while socket.socket().connect_ex((gateway, port)) != 0:
            assert daemon.poll() is None and time.monotonic() < deadline, "git daemon did not start"
            time.sleep(0.2)
        yield repo, f"git://{gateway}:{port}/fleet.git"
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fleetform and its dependencies as wheels, built from this checkout."""
    out = tmp_path_factory.mktemp("wheelhouse")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


def _pyinfra(deploy: str, limit: str, data: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [str(BIN / "pyinfra"), "-y", "inventory/lab.py", f"deploys/{deploy}"]
    for name in limit.split(","):  # pyinfra's --limit takes one name each
        argv += ["--limit", name]
    for key, value in data.items():
        argv += ["--data", f"{key}={value}"]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)


def _no_change(done: subprocess.CompletedProcess[str]) -> bool:
    # pyinfra writes its results table to stderr
    grand = [line for line in done.stderr.splitlines() if "Grand total" in line]
    # "Grand total  OPS  SUCCESS  ERROR  NO-CHANGE": operations ran, none changed or failed
    return bool(grand) and all(
        line.split()[2] != "-" and line.split()[3:5] == ["-", "-"] for line in grand
    )


def _env(host: str, stack: str) -> list[str]:
    out = sh(
        host,
        f"docker ps --filter label=fleetform.stack={stack} --format '{{{{.ID}}}}' "
        "| xargs -r docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}'",
    )
    return sorted(line for line in out.splitlines() if line.startswith("WAVE="))


def _status(fleetform: Any, hosts: list[str], stack: str) -> dict[str, Any]:
    done = fleetform("status", "-i", "inventory/lab.py", "--limit", ",".join(hosts), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {h["host"]: h["stacks"] for h in json.loads(done.stdout)["hosts"]}
    return {host: next(r for r in rows[host] if r["stack"] == stack) for host in hosts}


def _clean(hosts: list[str]) -> None:
    for host in hosts:
        for stack in (PULL, CTL):
            remove_stack(host, stack, f"rm -rf {REVISIONS_DIR}/{stack}")


def test_pull_mode_and_controller(
    served: tuple[Repo, str], wheelhouse: Path, fleetform: Any
) -> None:
    repo, url = served
    cfg = LabConfig.from_env()
    h2, h3 = lab_host(2), lab_host(3)
    ctl = h2  # the controller reuses lab-2's install
    _clean([h2, h3])
    c1 = repo.commit(
        {
            "stacks/pull.yml": _stack(PULL, [h2, h3], "1"),
            "controller/ctl.yml": _stack(CTL, [h3], "ctl-1"),
            "inventory/fleet.py": _controller_inventory(cfg),
        },
        "pull and controller stacks",
    )
    agent = {
        "fleetform_gitops_repo": url,
        "fleetform_gitops_ref": "main",
        "fleetform_gitops_every": "1h",
        "fleetform_gitops_delay": "1s",
        "fleetform_wheelhouse": str(wheelhouse),
    }
    try:
        # --- pull mode on two hosts --------------------------------------------
        done = _pyinfra("agent.py", f"{h2},{h3}", agent)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "Grand total" in done.stderr and not _no_change(done), done.stderr[-2000:]
        again = _pyinfra("agent.py", f"{h2},{h3}", agent)
        assert again.returncode == 0 and _no_change(again), again.stderr[-2000:]
        for host in (h2, h3):
            assert sh(host, "systemctl is-enabled fleetform-agent.timer") == "enabled"
            # the URL stays in the root-only env file, out of the unit and argv
            unit = sh(host, "systemctl cat fleetform-agent.service")
            assert url not in next(line for line in unit.splitlines() if "ExecStart=" in line)
            assert sh(host, "stat -c %a /etc/fleetform/gitops/fleetform-agent.env") == "600"
            # the timer's first run may still be going: start joins it, or runs again
            sh(host, "systemctl start fleetform-agent.service", timeout=300)
            assert _env(host, PULL) == ["WAVE=1"]
        rows = _status(fleetform, [h2, h3], PULL)
        assert {r["commit"] for r in rows.values()} == {c1}, rows
        assert all(r["verify"] and r["verify"].get("ok") for r in rows.values()), rows

        c2 = repo.commit({"stacks/pull.yml": _stack(PULL, [h2, h3], "2")}, "wave 2")
        for host in (h2, h3):
            sh(host, "systemctl start fleetform-agent.service", timeout=300)
            assert _env(host, PULL) == ["WAVE=2"]
        rows = _status(fleetform, [h2, h3], PULL)
        assert {r["commit"] for r in rows.values()} == {c2}, rows

        # --- a controller on lab-1 converging lab-2 over SSH ---------------------
        controller = {
            **agent,
            "fleetform_gitops_inventory": "inventory/fleet.py",
            "fleetform_gitops_stacks": "controller/ctl.yml",
            "fleetform_gitops_ssh_key": str(cfg.ssh_key),
            "fleetform_gitops_known_hosts": str(cfg.known_hosts),
        }
        done = _pyinfra("reconciler.py", ctl, controller)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        deadline = time.monotonic() + 240
        while _env(h3, CTL) != ["WAVE=ctl-1"]:
            state = sh(ctl, "systemctl is-active fleetform-reconciler.service", check=False)
            assert time.monotonic() < deadline, sh(
                ctl, "journalctl -u fleetform-reconciler --no-pager | tail -30", check=False
            )
            assert state in ("active", "activating"), state
            time.sleep(2)
        assert _status(fleetform, [h3], CTL)[h3]["commit"] == c2
    finally:
        for deploy, limit in (("agent.py", f"{h2},{h3}"), ("reconciler.py", ctl)):
            gone = _pyinfra(deploy, limit, {"fleetform_gitops_state": "absent"})
            assert gone.returncode == 0, gone.stderr[-2000:]
        for host in (h2, h3):
            # nothing of the agent or the controller is left failed (the host "degraded")
            assert "fleetform-" not in sh(host, "systemctl --failed --no-legend", check=False)
            sh(host, "rm -rf /opt/fleetform /var/lib/fleetform/gitops", check=False)
        _clean([h2, h3])
