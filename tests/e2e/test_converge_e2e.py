"""End to end: plan and apply converge a multi-service stack on a 3-host lab.

Every assertion is about the hosts' real state, read from outside with the
docker CLI inside the lab hosts (``docker exec lab-N docker ...``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .onhost import remove_stack, sh

pytestmark = pytest.mark.e2e

STACK = "convt"
REG = "registry.lab:5000/fleetform"


def base_stack() -> dict[str, Any]:
    return {
        "version": 1,
        "name": STACK,
        "networks": {"backend": {}},
        "volumes": {"data": {}},
        "services": {
            "api": {
                "image": f"{REG}/demo:1",
                "hosts": ["web"],
                "environment": {"LOG_LEVEL": "info"},
                "ports": ["8081:8080"],
                "networks": ["backend"],
                "healthcheck": {
                    "test": ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/healthz"],
                    "interval": "1s",
                    "retries": 20,
                },
            },
            "worker": {
                "image": f"{REG}/busybox:1",
                "hosts": ["web"],
                "command": ["sleep", "100000"],
                "environment": {"MODE": "batch"},
                "volumes": ["data:/data"],
                "networks": ["backend"],
                "stop_grace_period": "1s",
                "depends_on": ["api"],
            },
            "cache": {
                "image": f"{REG}/busybox:1",
                "hosts": ["db"],
                "command": "sleep 100000",
                "networks": ["backend"],
                "stop_grace_period": "1s",
            },
        },
    }


def container_ids(host: str) -> dict[str, str]:
    """name -> id of the containers of our stack on ``host``."""
    out = sh(host, f"docker ps -a --filter label=fleetform.stack={STACK} --format '{{{{json .}}}}'")
    rows = [json.loads(line) for line in out.splitlines() if line]
    return {r["Names"]: r["ID"] for r in rows}


def state(host: str, name: str) -> str:
    return sh(host, f"docker inspect -f '{{{{.State.Status}}}}' {name}")


@pytest.fixture(scope="module")
def hosts(lab: Any) -> list[str]:
    names = [h.name for h in lab.hosts][:3]
    assert len(names) == 3, "the converge scenario needs a 3-host lab"
    return names


@pytest.fixture(scope="module")
def stackfile(tmp_path_factory: pytest.TempPathFactory, hosts: list[str]) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("stacks")
    cleanup(hosts)  # a run that was interrupted may have left our stack behind

    def write(doc: dict[str, Any], name: str = "convt.yml") -> Path:
        path = folder / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    yield write
    cleanup(hosts)


def cleanup(hosts: list[str]) -> None:
    """Remove what this module creates: only objects labelled with our stack."""
    for host in hosts:
        # The test's own named volume goes too: it was created by this test.
        remove_stack(
            host,
            STACK,
            "docker rm -f handmade 2>/dev/null; "
            f"docker volume rm $(docker volume ls -q --filter label=fleetform.stack={STACK})"
            " 2>/dev/null",
        )


def test_apply_converges_a_multi_service_stack_on_three_hosts(
    fleetform: Any, stackfile: Any, hosts: list[str]
) -> None:
    path = stackfile(base_stack())
    result = fleetform("apply", "-i", "inventory/lab.py", str(path), "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    last = hosts[-1]
    for host in hosts:
        ids = container_ids(host)
        expected = {f"{STACK}-api-1", f"{STACK}-worker-1"}
        if host == last:
            expected.add(f"{STACK}-cache-1")
        assert set(ids) == expected, host
        for name in expected:
            assert state(host, name) == "running"
        health = sh(host, f"docker inspect -f '{{{{.State.Health.Status}}}}' {STACK}-api-1")
        assert health == "healthy"
        page = sh(
            host,
            'python3 -c "import urllib.request as u;'
            "print(u.urlopen('http://127.0.0.1:8081/').read().decode())\"",
        )
        assert page == "demo 1"


def test_a_second_plan_is_empty(fleetform: Any, stackfile: Any) -> None:
    path = stackfile(base_stack())
    result = fleetform("plan", "-i", "inventory/lab.py", str(path), "--detailed-exitcode")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes" in result.stdout


def test_one_env_change_recreates_exactly_that_service(
    fleetform: Any, stackfile: Any, hosts: list[str]
) -> None:
    before = {h: container_ids(h) for h in hosts}
    doc = base_stack()
    doc["services"]["api"]["environment"]["LOG_LEVEL"] = "debug"
    path = stackfile(doc)
    plan = fleetform("plan", "-i", "inventory/lab.py", str(path), "--detailed-exitcode")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "environment.LOG_LEVEL: info -> debug" in plan.stdout
    result = fleetform("apply", "-i", "inventory/lab.py", str(path), "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    for host in hosts:
        after = container_ids(host)
        # The replaced api container stays, stopped, as the previous container.
        kept = f"{STACK}-api-1.fleetform-old"
        assert set(after) == set(before[host]) | {kept}
        assert after[kept] == before[host][f"{STACK}-api-1"]
        assert state(host, kept) == "exited"
        for name, cid in after.items():
            if name == kept:
                continue
            if name == f"{STACK}-api-1":
                assert cid != before[host][name], f"{host}: api was not recreated"
                env = sh(host, f"docker inspect -f '{{{{json .Config.Env}}}}' {name}")
                assert "LOG_LEVEL=debug" in json.loads(env)
            else:
                assert cid == before[host][name], f"{host}: {name} was touched"


def test_stopped_and_removed_containers_are_repaired(
    fleetform: Any, stackfile: Any, hosts: list[str]
) -> None:
    doc = base_stack()
    doc["services"]["api"]["environment"]["LOG_LEVEL"] = "debug"
    path = stackfile(doc)
    sh(hosts[0], f"docker stop -t 1 {STACK}-worker-1")
    sh(hosts[1], f"docker rm -f {STACK}-worker-1")
    plan = fleetform("plan", "-i", "inventory/lab.py", str(path), "--detailed-exitcode")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    result = fleetform("apply", "-i", "inventory/lab.py", str(path), "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    for host in hosts[:2]:
        assert state(host, f"{STACK}-worker-1") == "running"
    again = fleetform("plan", "-i", "inventory/lab.py", str(path), "--detailed-exitcode")
    assert again.returncode == 0, again.stdout


def test_a_container_started_by_hand_is_never_shown_or_touched(
    fleetform: Any, stackfile: Any, hosts: list[str]
) -> None:
    doc = base_stack()
    doc["services"]["api"]["environment"]["LOG_LEVEL"] = "debug"
    path = stackfile(doc)
    sh(hosts[0], f"docker run -d --name handmade {REG}/busybox:1 sleep 100000")
    hand_id = sh(hosts[0], "docker inspect -f '{{.Id}}' handmade")
    plan = fleetform("plan", "-i", "inventory/lab.py", str(path), "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout
    assert "handmade" not in plan.stdout
    result = fleetform("apply", "-i", "inventory/lab.py", str(path), "--yes")
    assert result.returncode == 0
    assert sh(hosts[0], "docker inspect -f '{{.Id}} {{.State.Status}}' handmade") == (
        f"{hand_id} running"
    )


def test_a_name_clash_with_an_unmanaged_container_is_an_error_not_a_removal(
    fleetform: Any, stackfile: Any, hosts: list[str]
) -> None:
    doc = base_stack()
    doc["services"]["api"]["environment"]["LOG_LEVEL"] = "debug"
    doc["services"]["extra"] = {"image": f"{REG}/busybox:1", "hosts": [hosts[0]]}
    # The same file as the other tests: another file with this stack name
    # would be another stack file's stack, an error of its own.
    path = stackfile(doc)
    sh(hosts[0], f"docker run -d --name {STACK}-extra-1 {REG}/busybox:1 sleep 100000")
    clash_id = sh(hosts[0], f"docker inspect -f '{{{{.Id}}}}' {STACK}-extra-1")
    try:
        plan = fleetform("plan", "-i", "inventory/lab.py", str(path))
        assert plan.returncode == 1
        assert f"{STACK}-extra-1" in plan.stdout + plan.stderr
        result = fleetform("apply", "-i", "inventory/lab.py", str(path), "--yes")
        assert result.returncode == 1
        assert sh(hosts[0], f"docker inspect -f '{{{{.Id}}}}' {STACK}-extra-1") == clash_id
    finally:
        sh(hosts[0], f"docker rm -f {STACK}-extra-1", check=False)


def test_named_volume_data_survives_an_image_change(
    fleetform: Any, stackfile: Any, hosts: list[str]
) -> None:
    sh(hosts[0], f"docker exec {STACK}-worker-1 sh -c 'echo precious > /data/keep.txt'")
    doc = base_stack()
    doc["services"]["api"]["environment"]["LOG_LEVEL"] = "debug"
    doc["services"]["worker"]["image"] = f"{REG}/demo:2"
    path = stackfile(doc)
    result = fleetform("apply", "-i", "inventory/lab.py", str(path), "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    image = sh(hosts[0], f"docker inspect -f '{{{{.Config.Image}}}}' {STACK}-worker-1")
    assert image == f"{REG}/demo:2"
    assert sh(hosts[0], f"docker exec {STACK}-worker-1 cat /data/keep.txt") == "precious"


def test_a_removed_service_loses_its_containers(
    fleetform: Any, stackfile: Any, hosts: list[str]
) -> None:
    doc = base_stack()
    doc["services"]["api"]["environment"]["LOG_LEVEL"] = "debug"
    doc["services"]["worker"]["image"] = f"{REG}/demo:2"
    del doc["services"]["cache"]
    path = stackfile(doc)
    result = fleetform("apply", "-i", "inventory/lab.py", str(path), "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{STACK}-cache-1" not in container_ids(hosts[-1])
    # the named volume is still there: removing a service never removes data
    volumes = sh(hosts[0], f"docker volume ls -q --filter label=fleetform.stack={STACK}")
    assert f"{STACK}_data" in volumes.split()
