"""Rollouts on the lab: a broken image rolls back everywhere; a good one rolls in batches."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .onhost import lab_host, remove_stack, sh

pytestmark = pytest.mark.e2e

STACK = "v-rollout"
HOSTS = (lab_host(1), lab_host(2), lab_host(3))
INVENTORY = "inventory/lab.py"


def _write(path: Path, tag: str) -> None:
    doc = {
        "version": 1,
        "name": STACK,
        "services": {
            "web": {
                "image": f"registry.lab:5000/fleetform/demo:{tag}",
                "ports": ["18182:8080"],
                "healthcheck": {
                    "test": "wget -q -O- http://127.0.0.1:8080/healthz",
                    "interval": "1s",
                    "timeout": "1s",
                    "retries": 3,
                    "start_period": "1s",
                },
                "restart": "unless-stopped",
                "stop_grace_period": "1s",
                "deploy": {"update_config": {"parallelism": 1, "monitor": "2s"}},
            }
        },
    }
    path.write_text(yaml.safe_dump(doc))


def _containers(host: str, kept: bool = False) -> list[str]:
    """``id name image running`` of the stack's containers on ``host``: the service's, or
    (``kept``) the previous containers a rollout kept."""
    fmt = "{{.Id}} {{.Name}} {{.Config.Image}} {{.State.Running}}"
    out = sh(
        host,
        f"docker ps -aq --filter label=fleetform.stack={STACK} | "
        f"xargs -r docker inspect --format '{fmt}'",
    )
    return sorted(line for line in out.splitlines() if (".fleetform-old " in line) == kept)


@pytest.fixture
def stack_file(tmp_path: Path) -> Iterator[Path]:
    for host in HOSTS:
        remove_stack(host, STACK, f"rm -rf /var/lib/fleetform/revisions/{STACK}")
    yield tmp_path / f"{STACK}.yml"
    for host in HOSTS:
        remove_stack(host, STACK, f"rm -rf /var/lib/fleetform/revisions/{STACK}")


def _apply(fleetform: Callable[..., Any], path: Path) -> tuple[int, dict[str, Any]]:
    proc = fleetform("apply", "-i", INVENTORY, str(path), "--yes", "--json")
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_a_broken_image_rolls_back_on_every_host_and_a_good_one_rolls_in_batches(
    fleetform: Callable[..., Any], stack_file: Path
) -> None:
    _write(stack_file, "1")
    code, _ = _apply(fleetform, stack_file)
    assert code == 0
    before = {h: _containers(h) for h in HOSTS}
    assert all(len(c) == 1 and c[0].endswith("demo:1 true") for c in before.values()), before

    # A broken image: the first batch fails its health gate, the fleet stays on demo:1.
    _write(stack_file, "broken")
    code, doc = _apply(fleetform, stack_file)
    assert code == 3, doc
    rollout = doc["rollout"]
    assert rollout["outcome"] == "rolled_back"
    states = {s["host"]: s["state"] for s in rollout["services"]}
    assert states == {
        lab_host(1): "rolled_back",
        lab_host(2): "untouched",
        lab_host(3): "untouched",
    }
    assert len(rollout["batches"]) == 1
    # The very same containers, running: the old one back on lab-1, no leftovers.
    assert {h: _containers(h) for h in HOSTS} == before

    # A good change rolls through one host at a time, then nothing is left to do.
    _write(stack_file, "2")
    code, doc = _apply(fleetform, stack_file)
    assert code == 0, doc
    assert doc["rollout"]["outcome"] == "done"
    assert [b["containers"] for b in doc["rollout"]["batches"]] == [
        [f"{h}/{STACK}-web-1"] for h in HOSTS
    ]
    for host in HOSTS:
        # The new container runs; the old one stays, stopped, as the previous container.
        new, kept = _containers(host), _containers(host, kept=True)
        assert len(new) == 1 and new[0].endswith("demo:2 true") and new[0] not in before[host]
        (old,) = before[host]
        assert kept == [
            old.replace(f"/{STACK}-web-1 ", f"/{STACK}-web-1.fleetform-old ")[:-4] + "false"
        ]
    revisions = {
        (s["host"], s["from_revision"], s["to_revision"]) for s in doc["rollout"]["services"]
    }
    assert revisions == {(h, 1, 2) for h in HOSTS}, doc["rollout"]["services"]
    proc = fleetform("audit", "-i", INVENTORY, "--json")
    entries = [
        e
        for e in json.loads(proc.stdout)["entries"]
        if e["stack"] == STACK
        and e["action"] == "rollout"
        and e["run_id"] == doc["rollout"]["run_id"]
    ]
    times = [e["time"] for e in sorted(entries, key=lambda e: e["details"]["batch"])]
    # One batch after the other: each batch's gate (health + 2s monitor) ends before the next.
    assert len(times) == 3 and times == sorted(times) and len(set(times)) == 3, entries
    plan = fleetform("plan", "-i", INVENTORY, str(stack_file), "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout


def _service(tag: str, env: str) -> dict[str, Any]:
    return {
        "image": f"registry.lab:5000/fleetform/demo:{tag}",
        "hosts": [lab_host(1)],
        "environment": {"MARK": env},
        "healthcheck": {
            "test": "wget -q -O- http://127.0.0.1:8080/healthz",
            "interval": "1s",
            "timeout": "1s",
            "retries": 3,
            "start_period": "1s",
        },
        "stop_grace_period": "1s",
        "deploy": {"update_config": {"parallelism": 1, "monitor": "1s"}},
    }


def test_a_failed_service_rolls_back_the_services_that_already_passed(
    fleetform: Callable[..., Any], stack_file: Path
) -> None:
    # `alpha` rolls first and passes; `beta` then fails: stack-wide rollback puts
    # alpha's old container back too (swap back of a container that had passed).
    def write(alpha: tuple[str, str], beta: tuple[str, str]) -> None:
        doc = {
            "version": 1,
            "name": STACK,
            "services": {"alpha": _service(*alpha), "beta": _service(*beta)},
        }
        stack_file.write_text(yaml.safe_dump(doc))

    write(("1", "old"), ("1", "old"))
    code, _ = _apply(fleetform, stack_file)
    assert code == 0
    before = _containers(lab_host(1))
    assert len(before) == 2 and all(c.endswith("demo:1 true") for c in before), before

    write(("1", "new"), ("broken", "new"))
    code, doc = _apply(fleetform, stack_file)
    assert code == 3, doc
    states = {s["service"]: s["state"] for s in doc["rollout"]["services"]}
    assert states == {"alpha": "rolled_back", "beta": "rolled_back"}, doc["rollout"]
    assert _containers(lab_host(1)) == before  # the same containers, running, nothing left over
    env = sh(lab_host(1), f"docker inspect --format '{{{{json .Config.Env}}}}' {STACK}-alpha-1")
    assert "MARK=old" in env


def test_start_first_starts_the_new_container_before_the_old_one_stops(
    fleetform: Callable[..., Any], stack_file: Path
) -> None:
    def write(mark: str) -> None:
        service = _service("1", mark)
        service.pop("hosts")
        service["deploy"] = {"update_config": {"order": "start-first", "monitor": "2s"}}
        doc = {"version": 1, "name": STACK, "services": {"web": service}}
        stack_file.write_text(yaml.safe_dump(doc))

    write("old")
    code, _ = _apply(fleetform, stack_file)
    assert code == 0
    since = {h: sh(h, "date +%s.%N") for h in HOSTS}
    old = {h: sh(h, f"docker inspect --format '{{{{.Id}}}}' {STACK}-web-1") for h in HOSTS}
    write("new")
    code, doc = _apply(fleetform, stack_file)
    assert code == 0, doc
    assert doc["rollout"]["outcome"] == "done"
    for host in HOSTS:
        until = sh(host, "date +%s.%N")
        events = sh(
            host,
            f"docker events --since {since[host]} --until {until} "
            f"--filter label=fleetform.stack={STACK} --filter type=container "
            "--format '{{.Action}} {{.Actor.ID}}'",
        ).splitlines()
        new = sh(host, f"docker inspect --format '{{{{.Id}}}}' {STACK}-web-1")
        actions = [(a, cid) for a, cid, *_ in (e.split() for e in events)]
        started = actions.index(("start", new))
        stopped = next(i for i, (a, cid) in enumerate(actions) if cid == old[host] and a == "die")
        # The new container ran (and passed its gate) while the old one still ran.
        assert started < stopped, actions
        state = sh(
            host, f"docker inspect --format '{{{{.State.Status}}}}' {STACK}-web-1.fleetform-old"
        )
        assert state == "exited"
