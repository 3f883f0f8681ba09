"""SELinux relabelling (`z`/`Z`) through real Docker: a relabelled bind is created with
`--volume`, read back from `HostConfig.Binds`, and converges with no drift; changing
`z` to `Z` is a recreate that names the mount.

Uses this machine's engine as tests/plan/test_plan_docker_roundtrip.py does (on a
host without SELinux Docker accepts the options and relabels nothing).
Everything created is labelled fleetform.test=1, stack fftest-selinux, and removed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_plan_docker_roundtrip import _apply, _plan, _sh

from fleetform.model import Mount, Service, Stack

pytestmark = pytest.mark.e2e

T = (("fleetform.test", "1"),)
IMAGE = "fleetform-test/busybox:selinux"
STACK = "fftest-selinux"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    assert _sh("docker info").returncode == 0, "no Docker engine answers: run `make engine-local`"
    assert Path("/bin/busybox").exists(), "busybox-static is not installed: run `make apt`"
    ctx = tmp_path_factory.mktemp("image")
    shutil.copy("/bin/busybox", ctx / "busybox")
    (ctx / "Dockerfile").write_text(
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY busybox /bin/sleep\n"
        'ENV PATH=/bin\nLABEL fleetform.test=1\nCMD ["sleep", "3600"]\n'
    )
    assert _sh(f"docker build -q -t {IMAGE} {ctx}").returncode == 0
    shared = tmp_path_factory.mktemp("relabel")
    (shared / "app.conf").write_text("x=1\n")
    try:
        yield shared
    finally:
        _sh(f"docker rm -f $(docker ps -aq --filter label=fleetform.stack={STACK}) 2>/dev/null")
        _sh(f"docker network rm {STACK}_default 2>/dev/null")
        _sh(f"docker image rm {IMAGE} 2>/dev/null")


def _stack(folder: Path, option: str) -> Stack:
    web = Service(
        "web",
        IMAGE,
        labels=T,
        volumes=(
            Mount("bind", "/conf", str(folder), True, selinux=option),
            Mount("bind", "/plain", str(folder)),
        ),
    )
    return Stack(STACK, Path(f"{STACK}.yml"), services=(web,))


def test_a_relabelled_bind_converges_and_a_changed_label_is_drift(engine: Path) -> None:
    assert _apply(_stack(engine, "z")).actions == ()
    binds = _sh(f"docker inspect -f '{{{{json .HostConfig.Binds}}}}' {STACK}-web-1").stdout
    assert f'"{engine}:/conf:ro,z"' in binds
    assert _plan(_stack(engine, "z")).actions == ()

    plan = _plan(_stack(engine, "Z"))
    assert [(a.kind, a.resource, a.reason_code) for a in plan.actions] == [
        ("recreate", f"{STACK}-web-1", "field_changed")
    ]
    changes = [str(c) for a in plan.actions for c in a.changes]
    assert changes == [
        f"volumes: - bind {engine}:/conf:ro:z",
        f"volumes: + bind {engine}:/conf:ro:Z",
    ]
    assert _apply(_stack(engine, "Z")).actions == ()
    assert _plan(_stack(engine, "Z")).actions == ()
