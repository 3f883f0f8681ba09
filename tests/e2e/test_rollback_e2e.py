"""``fleetform rollback`` on the lab: back to the previous revision, and a failed rollback.

The stack's healthcheck of revision 1 needs a marker file on the host (a bind
mount), the one of revision 2 does not: removing the marker on one host makes
revision 1's kept container fail its health gate there, on the way back.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleetform.lab.config import LabConfig

from .onhost import lab_host, remove_stack, sh

pytestmark = pytest.mark.e2e

STACK = "v-rollback"
HOSTS = (lab_host(1), lab_host(2), lab_host(3))
INVENTORY = "inventory/lab.py"
PORT = 18183
STATE = "/var/lib/fleetform-e2e-rollback"


def _write(path: Path, tag: str, marker: bool) -> None:
    # Revision 1 (marker=True) is healthy only while the host has the marker file.
    check = "test -e /state/ok" if marker else "wget -q -O- http://127.0.0.1:8080/healthz"
    doc = {
        "version": 1,
        "name": STACK,
        "services": {
            "web": {
                "image": f"registry.lab:5000/fleetform/demo:{tag}",
                "ports": [f"{PORT}:8080"],
                "volumes": [f"{STATE}:/state:ro"],
                "healthcheck": {
                    "test": check,
                    "interval": "1s",
                    "timeout": "1s",
                    "retries": 2,
                    "start_period": "1s",
                },
                "restart": "unless-stopped",
                "stop_grace_period": "1s",
                "deploy": {
                    "update_config": {"parallelism": 1, "monitor": "1s"},
                    "rollback_config": {"parallelism": 1, "monitor": "1s"},
                },
            }
        },
    }
    path.write_text(yaml.safe_dump(doc))


def _serving(host: str) -> str:
    """What the host's published port answers (the demo image says its version)."""
    address = LabConfig.from_env().host_address(HOSTS.index(host) + 1)
    with urllib.request.urlopen(f"http://{address}:{PORT}/", timeout=5) as answer:
        return str(answer.read().decode().strip())


def _ids(host: str) -> dict[str, str]:
    fmt = "{{.Name}} {{.Id}}"
    out = sh(
        host,
        f"docker ps -aq --filter label=fleetform.stack={STACK} | "
        f"xargs -r docker inspect --format '{fmt}'",
    )
    return dict(line.lstrip("/").split() for line in out.splitlines())


def _current(fleetform: Callable[..., Any], host: str) -> list[dict[str, Any]]:
    proc = fleetform("history", "-i", INVENTORY, STACK, "--limit", host, "--json")
    (entry,) = json.loads(proc.stdout)["hosts"]
    return list(entry["revisions"])


@pytest.fixture
def stack_file(tmp_path: Path) -> Iterator[Path]:
    def clean(host: str) -> None:
        remove_stack(host, STACK, f"rm -rf {STATE} /var/lib/fleetform/revisions/{STACK}")

    for host in HOSTS:
        clean(host)
        sh(host, f"mkdir -p {STATE} && touch {STATE}/ok")
    yield tmp_path / f"{STACK}.yml"
    for host in HOSTS:
        clean(host)


def _apply(fleetform: Callable[..., Any], path: Path) -> dict[str, Any]:
    proc = fleetform("apply", "-i", INVENTORY, str(path), "--yes", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dict(json.loads(proc.stdout))


def test_rollback_goes_back_to_the_previous_revision_and_a_failed_one_changes_nothing(
    fleetform: Callable[..., Any], stack_file: Path
) -> None:
    _write(stack_file, "1", marker=True)
    _apply(fleetform, stack_file)
    _write(stack_file, "2", marker=False)
    _apply(fleetform, stack_file)
    assert {h: _serving(h) for h in HOSTS} == {h: "demo 2" for h in HOSTS}

    # Without a terminal and without --yes: refused before any host is touched.
    proc = fleetform("rollback", "-i", INVENTORY, STACK)
    assert proc.returncode == 1 and "--yes" in proc.stderr

    # A failed rollback: revision 1's kept container is unhealthy on lab-2 now.
    sh(HOSTS[1], f"rm -f {STATE}/ok")
    before = {h: _ids(h) for h in HOSTS}
    proc = fleetform("rollback", "-i", INVENTORY, STACK, "--yes", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["outcome"] == "reverted" and not doc["ok"]
    assert [e["host"] for e in doc["errors"]] == [HOSTS[1]]
    # lab-1 had switched and went back; lab-3 was never touched: the same containers,
    # in the same places, each host still serving revision 2, no revision recorded.
    assert {h: _ids(h) for h in HOSTS} == before
    assert {h: _serving(h) for h in HOSTS} == {h: "demo 2" for h in HOSTS}
    assert [r["revision"] for r in _current(fleetform, HOSTS[0])] == [2, 1]

    # With the marker back, the rollback goes through, host by host.
    sh(HOSTS[1], f"touch {STATE}/ok")
    proc = fleetform("rollback", "-i", INVENTORY, STACK, "--yes", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["outcome"] == "done", doc
    assert {
        (s["host"], s["from_revision"], s["to_revision"], s["recorded_revision"])
        for s in doc["stacks"]
    } == {(h, 2, 1, 3) for h in HOSTS}
    assert {h: _serving(h) for h in HOSTS} == {h: "demo 1" for h in HOSTS}
    for host in HOSTS:
        ids = _ids(host)
        # The containers swapped places: revision 1's runs, revision 2's is kept.
        assert ids[f"{STACK}-web-1"] == before[host][f"{STACK}-web-1.fleetform-old"]
        assert ids[f"{STACK}-web-1.fleetform-old"] == before[host][f"{STACK}-web-1"]
        (top, *_) = _current(fleetform, host)
        assert top["revision"] == 3 and top["current"]

    # The audit log says who rolled back what, from which revision to which.
    proc = fleetform("audit", "-i", INVENTORY, "--json", "--since", "10m")
    lines = [
        e
        for e in json.loads(proc.stdout)["entries"]
        if e["stack"] == STACK and e["action"] == "rollback" and e["result"] == "ok"
    ]
    assert {(e["host"], e["from_revision"], e["to_revision"]) for e in lines} >= {
        (h, "2", "1") for h in HOSTS
    }

    # A stack file at revision 2 sees the rollback as a change to make, and nothing else.
    plan = fleetform("plan", "-i", INVENTORY, str(stack_file), "--json")
    kinds = {(h["host"], a["kind"]) for h in json.loads(plan.stdout)["hosts"] for a in h["actions"]}
    assert kinds == {(h, "recreate") for h in HOSTS}, plan.stdout
