"""Compose's `docker run` keys through real Docker: plan -> commands -> observe -> the
plan is empty; a recreated `network_mode: service:` peer recreates its dependent.

Uses this machine's engine as tests/plan/test_plan_docker_roundtrip.py does.
Everything created is labelled fleetform.test=1, stack fftest4, and removed at the end.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from test_plan_docker_roundtrip import _apply, _plan, _sh

from fleetform.model import Dependency, Mount, Port, Service, Stack, Volume

pytestmark = pytest.mark.e2e

T = (("fleetform.test", "1"),)
IMAGE = "fleetform-test/busybox:rk"
MiB = 1 << 20


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    assert _sh("docker info").returncode == 0, "no Docker engine answers: run `make engine-local`"
    assert Path("/bin/busybox").exists(), "busybox-static is not installed: run `make apt`"
    ctx = tmp_path_factory.mktemp("image")
    shutil.copy("/bin/busybox", ctx / "busybox")
    (ctx / "Dockerfile").write_text(
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY busybox /bin/sleep\n"
        'ENV PATH=/bin\nLABEL fleetform.test=1\nEXPOSE 9999\nCMD ["sleep", "3600"]\n'
    )
    assert _sh(f"docker build -q -t {IMAGE} {ctx}").returncode == 0
    try:
        yield
    finally:
        _sh("docker rm -f $(docker ps -aq --filter label=fleetform.stack=fftest4) 2>/dev/null")
        _sh("docker network rm fftest4_default 2>/dev/null")
        _sh("docker volume rm fftest4_data 2>/dev/null")
        _sh(f"docker image rm {IMAGE} 2>/dev/null")


def _stack(vpn_env: str = "1") -> Stack:
    vpn = Service(
        "vpn",
        IMAGE,
        labels=T,
        environment=(("GEN", vpn_env),),
        expose=("8080/tcp",),
        ports=(Port(80, 18400, "127.0.0.1", published_last=18410),),
        volumes=(Mount("volume", "/data", "data", nocopy=True),),
    )
    app = Service(
        "app",
        IMAGE,
        labels=T,
        network_mode="service:vpn",
        networks=(),
        depends_on=(Dependency("vpn", restart=True),),
    )
    db = Service(
        "db",
        IMAGE,
        labels=T,
        fixed_name="fftest4-ckeys-postgres",
        expose=("5432/tcp", "53/udp"),
        platform="linux/amd64",
        runtime="runc",
        stdin_open=True,
        tty=True,
        ipc="shareable",
        shm_size=128 * MiB,
        tmpfs=("/run", "/x:size=1m"),
        devices=("/dev/null:/dev/xnull:r",),
        security_opt=("no-new-privileges",),
        group_add=("100",),
    )
    lonely = Service("lonely", IMAGE, labels=T, network_mode="none", networks=())
    idle = Service("idle", IMAGE, labels=T, replicas=0)
    return Stack(
        "fftest4",
        Path("fftest4.yml"),
        services=(vpn, app, db, lonely, idle),
        volumes=(Volume("data", "fftest4_data", labels=T),),
    )


def _id(name: str) -> str:
    return _sh(f"docker inspect -f '{{{{.Id}}}}' {name}").stdout.strip()


def test_every_run_key_converges_and_a_peer_recreate_takes_its_dependent(engine: None) -> None:
    assert _apply(_stack()).actions == ()
    db = _sh("docker inspect -f '{{.HostConfig.ShmSize}} {{.Config.Tty}}' fftest4-ckeys-postgres")
    assert db.stdout.split() == [str(128 * MiB), "true"]
    bound = _sh("docker port fftest4-vpn-1 80/tcp").stdout.strip()
    assert bound.startswith("127.0.0.1:") and 18400 <= int(bound.rsplit(":", 1)[1]) <= 18410
    assert "fftest4-idle-1" not in _sh("docker ps -a --format '{{.Names}}'").stdout
    vpn, app = _id("fftest4-vpn-1"), _id("fftest4-app-1")
    mode = _sh("docker inspect -f '{{.HostConfig.NetworkMode}}' fftest4-app-1").stdout.strip()
    assert mode == f"container:{vpn}"

    plan = _plan(_stack(vpn_env="2"))
    assert [(a.kind, a.resource, a.reason_code) for a in plan.actions] == [
        ("recreate", "fftest4-vpn-1", "field_changed"),
        ("recreate", "fftest4-app-1", "dependency_recreated"),
    ]
    assert _apply(_stack(vpn_env="2")).actions == ()
    new_vpn = _id("fftest4-vpn-1")
    assert new_vpn != vpn and _id("fftest4-app-1") != app
    mode = _sh("docker inspect -f '{{.HostConfig.NetworkMode}}' fftest4-app-1").stdout.strip()
    assert mode == f"container:{new_vpn}"


def test_a_run_key_changed_by_hand_is_drift(engine: None) -> None:
    assert _apply(_stack()).actions == ()
    # Recreate db by hand without its tmpfs /x: the plan names the key.
    stack = _stack()
    db = stack.service("db")
    without_x = replace(db, tmpfs=("/run",))
    changed = replace(stack, services=(*stack.services[:2], without_x, *stack.services[3:]))
    assert _apply(changed).actions == ()
    plan = _plan(_stack())
    assert [(a.kind, a.resource) for a in plan.actions] == [("recreate", "fftest4-ckeys-postgres")]
    assert [str(c) for a in plan.actions for c in a.changes] == ["tmpfs: + /x:size=1m"]
