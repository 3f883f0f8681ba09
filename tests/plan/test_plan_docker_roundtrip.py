"""Plan -> commands -> real Docker -> observe -> plan is empty (on this machine's engine).

Everything created is labelled fleetform.test=1, named fftest3*, and removed at the end.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetform.executor.steps import host_commands, secret_env_file
from fleetform.model import (
    Dependency,
    Healthcheck,
    Mount,
    Network,
    NetworkAttachment,
    Resources,
    RestartPolicy,
    Service,
    Stack,
    Volume,
)
from fleetform.observe import observe_command, parse_observed
from fleetform.plan import HostPlan, plan_host
from fleetform.plan.desired import desired_for_host

pytestmark = pytest.mark.e2e

S = 1_000_000_000
T = (("fleetform.test", "1"),)
IMAGE = "fleetform-test/busybox:rt"


def _sh(cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/bin/sh", "-c", cmd], capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # `make test` starts the engine (make engine-local) and installs
    # busybox-static (make apt) before the suite runs: missing either is a
    # broken set-up, and a failure says so.
    assert _sh("docker info").returncode == 0, "no Docker engine answers: run `make engine-local`"
    assert Path("/bin/busybox").exists(), "busybox-static is not installed: run `make apt`"
    ctx = tmp_path_factory.mktemp("image")
    shutil.copy("/bin/busybox", ctx / "busybox")
    (ctx / "Dockerfile").write_text(
        "FROM scratch\n"
        + "".join(f"COPY busybox /bin/{n}\n" for n in ("busybox", "sh", "test", "sleep", "true"))
        + 'ENV PATH=/bin\nLABEL fleetform.test=1\nCMD ["sleep", "3600"]\n'
    )
    assert _sh(f"docker build -q -t {IMAGE} {ctx}").returncode == 0
    try:
        yield
    finally:
        _sh("docker rm -f -v $(docker ps -aq --filter label=fleetform.stack=fftest3) 2>/dev/null")
        _sh("docker network rm fftest3_back fftest3_front 2>/dev/null")
        _sh("docker volume rm fftest3_data 2>/dev/null")
        _sh(f"docker image rm {IMAGE} 2>/dev/null")


def _stack(log_level: str = "info", replicas: int = 2) -> Stack:
    db = Service(
        "db",
        IMAGE,
        labels=T,
        volumes=(Mount("volume", "/data", "data"),),
        networks=(NetworkAttachment("back"),),
        healthcheck=Healthcheck(("CMD", "test", "-d", "/data"), 1 * S, 1 * S, 3),
        restart=RestartPolicy("unless-stopped"),
        resources=Resources(memory=64 << 20),
    )
    web = Service(
        "web",
        IMAGE,
        labels=T,
        replicas=replicas,
        entrypoint=("/bin/busybox", "sleep"),
        command=("3600",),
        environment=(("API_TOKEN", "s3 cr'et"), ("LOG_LEVEL", log_level)),
        secret_keys=frozenset({"API_TOKEN"}),
        networks=(NetworkAttachment("back", ("api",)), NetworkAttachment("front")),
        volumes=(Mount("tmpfs", "/tmp", tmpfs_size=1 << 20),),
        depends_on=(
            Dependency("db", "service_healthy"),
            Dependency("job", "service_completed_successfully"),
        ),
        stop_grace_period=1 * S,
        init=True,
    )
    job = Service("job", IMAGE, labels=T, command=("true",))
    return Stack(
        "fftest3",
        Path("fftest3.yml"),
        networks=(
            Network("back", "fftest3_back", labels=T),
            Network("front", "fftest3_front", labels=T),
        ),
        volumes=(Volume("data", "fftest3_data", labels=T),),
        services=(db, web, job),
    )


def _plan(stack: Stack) -> HostPlan:
    want = desired_for_host([stack], "local", frozenset({"local"}))
    out = _sh(observe_command(want))
    assert out.returncode == 0, out.stderr
    return plan_host(want, parse_observed(out.stdout))


def _apply(stack: Stack) -> HostPlan:
    # What plan_commands does over SSH: each secret env file is written just
    # before the command that uses (and removes) it.
    env_dir = Path(tempfile.mkdtemp(prefix="fftest3-env-"))
    plan = _plan(stack)
    for action, cmd in zip(plan.actions, host_commands(plan, env_dir=str(env_dir)), strict=True):
        env_file = secret_env_file(action, str(env_dir))
        if env_file is not None:
            Path(env_file[0]).write_text(env_file[1])
        done = _sh(cmd)
        assert done.returncode == 0, done.stderr
    assert list(env_dir.iterdir()) == []
    env_dir.rmdir()
    return _plan(stack)


def _ids() -> dict[str, str]:
    out = _sh("docker ps -a --filter label=fleetform.stack=fftest3 --format '{{.Names}} {{.ID}}'")
    return dict(line.split() for line in out.stdout.splitlines())


def test_a_second_plan_after_apply_is_empty(engine: None) -> None:
    assert _apply(_stack()).actions == ()
    assert sorted(_ids()) == ["fftest3-db-1", "fftest3-job-1", "fftest3-web-1", "fftest3-web-2"]


def test_an_env_change_recreates_exactly_that_service_and_keeps_volume_data(engine: None) -> None:
    _apply(_stack())
    assert _sh("docker exec fftest3-db-1 sh -c 'echo kept > /data/f'").returncode == 0
    before = _ids()
    assert _apply(_stack(log_level="debug")).actions == ()
    after = _ids()
    assert after["fftest3-db-1"] == before["fftest3-db-1"]
    assert after["fftest3-web-1"] != before["fftest3-web-1"]
    env = _sh("docker exec fftest3-web-1 busybox env").stdout
    assert "LOG_LEVEL=debug" in env and "API_TOKEN=s3 cr'et" in env
    _sh("docker rm -f fftest3-db-1")
    assert _apply(_stack(log_level="debug")).actions == ()
    assert _sh("docker exec fftest3-db-1 busybox cat /data/f").stdout == "kept\n"


def test_stopped_removed_and_surplus_containers_are_repaired(engine: None) -> None:
    _apply(_stack())
    _sh("docker stop -t 1 fftest3-web-1 && docker rm -f fftest3-web-2")
    kinds = sorted(a.kind for a in _plan(_stack(replicas=1)).actions)
    assert kinds == ["start"]  # web-2 is gone already, and no longer declared
    assert _apply(_stack(replicas=1)).actions == ()
    assert _sh("docker inspect -f '{{.State.Status}}' fftest3-web-1").stdout.strip() == "running"
