"""End to end: a recreate keeps anonymous volumes' data; a rejected one leaves the old container.

On the lab's last host (group ``db``).  Everything read back with the docker
CLI inside the lab host.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .onhost import sh

pytestmark = pytest.mark.e2e

REG = "registry.lab:5000/fleetform"
KEEP = "a-keep"
SWAP = "a-swap"


def _service(**kw: Any) -> dict[str, Any]:
    return {
        "image": f"{REG}/busybox:1",
        "hosts": ["db"],
        "command": ["sleep", "100000"],
        "stop_grace_period": "1s",
        **kw,
    }


def keep_stack(mode: str) -> dict[str, Any]:
    """``data`` declares an anonymous volume; ``db``'s image declares ``VOLUME /var/lib/db``."""
    return {
        "version": 1,
        "name": KEEP,
        "services": {
            "data": _service(volumes=["/data"], environment={"MODE": mode}),
            "db": _service(
                image=f"{KEEP}-db:1",
                build={"context": "db"},
                environment={"MODE": mode},
            ),
        },
    }


def swap_stack(**web: Any) -> dict[str, Any]:
    return {"version": 1, "name": SWAP, "services": {"web": _service(**web)}}


@pytest.fixture(scope="module")
def host(lab: Any) -> str:
    return str(lab.hosts[-1].name)


def _ours(host: str, stack: str) -> list[str]:
    """Names of every container labelled with ``stack`` (temporary ones included)."""
    out = sh(host, f"docker ps -a --filter label=fleetform.stack={stack} --format '{{{{.Names}}}}'")
    return sorted(out.split())


def cleanup(host: str) -> None:
    """Remove this module's containers, the anonymous volumes they made, its networks
    and its image."""
    for stack in (KEEP, SWAP):
        ids = sh(host, f"docker ps -aq --filter label=fleetform.stack={stack}", check=False)
        if not ids:
            continue
        ids = " ".join(ids.split())
        vols = sh(
            host, f"docker inspect --format '{{{{range .Mounts}}}}{{{{.Name}}}} {{{{end}}}}' {ids}"
        )
        sh(host, f"docker rm -f {ids} >/dev/null", check=False)
        if vols.split():
            sh(host, f"docker volume rm {' '.join(vols.split())}", check=False)
    for stack in (KEEP, SWAP):
        # Networks too: a later run's stack file lives elsewhere (another identity).
        nets = sh(host, f"docker network ls -q --filter label=fleetform.stack={stack}", check=False)
        if nets.split():
            sh(host, f"docker network rm {' '.join(nets.split())}", check=False)
    sh(host, f"docker image rm {KEEP}-db:1 2>/dev/null; true", check=False)


@pytest.fixture(scope="module")
def stackfile(tmp_path_factory: pytest.TempPathFactory, host: str) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("stacks")
    (folder / "db").mkdir()
    (folder / "db" / "Dockerfile").write_text(f"FROM {REG}/busybox:1\nVOLUME /var/lib/db\n")
    cleanup(host)

    def write(doc: dict[str, Any]) -> Path:
        path = folder / f"{doc['name']}.yml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    yield write
    cleanup(host)


def _id(host: str, name: str) -> str:
    return sh(host, f"docker inspect --format '{{{{.Id}}}}' {name}")


def test_a_recreate_keeps_the_data_of_anonymous_and_image_volumes(
    fleetform: Any, stackfile: Any, host: str
) -> None:
    first = fleetform("apply", "-i", "inventory/lab.py", str(stackfile(keep_stack("one"))), "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    sh(host, f"docker exec {KEEP}-data-1 sh -c 'echo kept-data > /data/f'")
    sh(host, f"docker exec {KEEP}-db-1 sh -c 'echo kept-db > /var/lib/db/f'")
    before = {n: _id(host, f"{KEEP}-{n}-1") for n in ("data", "db")}

    path = stackfile(keep_stack("two"))
    plan = fleetform("plan", "-i", "inventory/lab.py", str(path))
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "recreate container a-keep-data-1" in plan.stdout
    assert "warning" not in plan.stdout
    result = fleetform("apply", "-i", "inventory/lab.py", str(path), "--yes")
    assert result.returncode == 0, result.stdout + result.stderr

    for name, target in (("data", "/data"), ("db", "/var/lib/db")):
        container = f"{KEEP}-{name}-1"
        assert _id(host, container) != before[name], f"{container} was not recreated"
        assert sh(host, f"docker exec {container} cat {target}/f") == f"kept-{name}"
    # The replaced containers stay, stopped, as the previous containers (a rollback
    # starts them again); they mount the same anonymous volumes, none was removed.
    assert _ours(host, KEEP) == [
        f"{KEEP}-data-1",
        f"{KEEP}-data-1.fleetform-old",
        f"{KEEP}-db-1",
        f"{KEEP}-db-1.fleetform-old",
    ]

    again = fleetform("plan", "-i", "inventory/lab.py", str(path), "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes" in again.stdout


def test_a_value_docker_rejects_leaves_the_old_container_running(
    fleetform: Any, stackfile: Any, host: str
) -> None:
    first = fleetform("apply", "-i", "inventory/lab.py", str(stackfile(swap_stack())), "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    name = f"{SWAP}-web-1"
    before = _id(host, name)

    bad = stackfile(swap_stack(cap_add=["NOT_A_CAPABILITY"]))
    result = fleetform("apply", "-i", "inventory/lab.py", str(bad), "--yes")
    # The recreate rolls (deploy.update_config): a failed batch rolls back, exit 3.
    assert result.returncode == 3, result.stdout + result.stderr
    assert "unknown capability" in result.stdout + result.stderr
    assert sh(host, f"docker inspect --format '{{{{.Id}}}} {{{{.State.Status}}}}' {name}") == (
        f"{before} running"
    )
    assert _ours(host, SWAP) == [name]
