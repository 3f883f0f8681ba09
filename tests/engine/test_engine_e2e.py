"""End to end: the engine deploy on real hosts, checked with testinfra.

- Every lab host (systemd as PID 1) gets the default engine; testinfra then
  reads packages, units, the socket, runc and a container's process tree.
- Mutating tests (daemon.json changes, restarts) use one lab host only.  One
  turns ``live-restore`` off: the restart step then starts again the
  containers that ran before (other suites' too), and the test leaves the
  neutral daemon.json (live-restore on) behind.
- The start path for hosts without an init system runs in a throwaway
  container from the lab's base image whose PID 1 is ``sleep``.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fleetform.engine.settings import EngineSettings, canonical_daemon_json, engine_for_host
from fleetform.model import Engine, Stack

from .conftest import changed_ops, op_results, run_engine

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
OWNER_LABEL = "fleetform.test=engine"  # everything these tests create carries it
NOINIT = "ffengine-noinit"
REG = "registry.lab:5000/fleetform"
#: the neutral daemon.json mutating tests leave behind (what stacks/engine.yml asks)
NEUTRAL = canonical_daemon_json(
    {"live-restore": True, "log-driver": "json-file", "log-opts": {"max-size": "10m"}}
)
LOCAL_LOGS = canonical_daemon_json({"live-restore": True, "log-driver": "local"})


def _discover() -> dict[str, dict[str, Any]]:
    from fleetform.lab.inventory import discover

    hosts: dict[str, dict[str, Any]] = {}
    for members in discover(warn=False).values():
        for name, data in members:
            hosts[name] = data
    return hosts


@pytest.fixture(scope="module")
def lab() -> dict[str, dict[str, Any]]:
    """name -> pyinfra host data of the running lab (started when down)."""
    hosts = _discover()
    if not hosts:
        subprocess.run(
            [sys.executable, "-m", "fleetform.cli", "lab", "up", "--hosts", "3"],
            cwd=ROOT,
            check=True,
            timeout=900,
        )
        hosts = _discover()
    assert hosts, "no lab hosts"
    return dict(sorted(hosts.items()))


@pytest.fixture(scope="module")
def engine_runs(lab: dict[str, dict[str, Any]]) -> list[Any]:
    """The default engine deploy on every lab host, run twice."""
    first = run_engine(list(lab.items()), {})
    second = run_engine(list(lab.items()), {})
    return [first, second]


@pytest.fixture(scope="module")
def testinfra_hosts(lab: dict[str, dict[str, Any]], tmp_path_factory: Any) -> dict[str, Any]:
    from fleetform.verify.connection import Connection, ssh_config_text

    conns = [Connection.from_data(name, data) for name, data in lab.items()]
    config = tmp_path_factory.mktemp("ssh") / "ssh_config"
    config.write_text(ssh_config_text(conns))
    return {c.name: c.testinfra_host(str(config)) for c in conns}


@pytest.fixture(scope="module")
def target(lab: dict[str, dict[str, Any]]) -> str:
    """The one lab host mutating tests use."""
    return next(iter(lab))


def test_every_lab_host_gets_packages_units_socket_and_runc(
    engine_runs: list[Any], testinfra_hosts: dict[str, Any]
) -> None:
    for name, host in testinfra_hosts.items():
        for package in ("docker.io", "containerd", "runc"):
            assert host.package(package).is_installed, f"{name}: {package}"
        for unit in ("docker", "containerd"):
            service = host.service(unit)
            assert service.is_running and service.is_enabled, f"{name}: {unit}"
        assert host.file("/var/run/docker.sock").is_socket, name
        assert host.run("runc --version").stdout.startswith("runc version"), name
        assert host.run("docker info --format '{{.ServerVersion}}'").rc == 0, name


def test_a_second_run_changes_nothing_on_any_host(
    engine_runs: list[Any], lab: dict[str, dict[str, Any]]
) -> None:
    second = engine_runs[1]
    assert {name: changed_ops(second, name) for name in lab} == {name: [] for name in lab}


def test_plain_pyinfra_runs_the_deploy_file_against_the_lab_inventory(
    engine_runs: list[Any],
) -> None:
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "pyinfra"),
            "-y",
            "inventory/lab.py",
            "deploys/engine.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_a_container_runs_under_containerd_shim_and_runc(
    engine_runs: list[Any], testinfra_hosts: dict[str, Any], target: str
) -> None:
    host = testinfra_hosts[target]
    name = "ffengine-probe"
    host.run(f"docker rm -f {name}")  # a leftover of an interrupted run: ours by name and label
    run = host.run(f"docker run -d --name {name} --label {OWNER_LABEL} {REG}/busybox:1 sleep 600")
    assert run.rc == 0, run.stderr
    try:
        cid = run.stdout.strip()
        pid = host.run(f"docker inspect -f '{{{{.State.Pid}}}}' {cid}").stdout.strip()
        parent = host.run(f"ps -o ppid= -p {pid}").stdout.strip()
        shim = host.run(f"ps -o args= -p {parent}").stdout
        assert "containerd-shim-runc-v2" in shim and cid in shim
        # runc created it: runc's own state lists it.  dockerd 20.10 gives runc the
        # root /run/docker/runtime-runc; containerd's default is /run/containerd/runc.
        states = {}
        for root in ("/run/docker/runtime-runc/moby", "/run/containerd/runc/moby"):
            listed = host.run(f"runc --root {root} list --format json").stdout
            states.update({c["id"]: c["status"] for c in json.loads(listed or "null") or []})
        assert states.get(cid) == "running"
    finally:
        host.run(f"docker rm -f {name}")


def _dockerd_starts(host: Any, since: float) -> int:
    out = host.run(f"journalctl -u docker.service --since @{int(since)} -o cat --no-pager").stdout
    return out.count("Daemon has completed initialization")


def _main_pid(host: Any) -> str:
    return host.run("systemctl show docker.service -p MainPID --value").stdout.strip()


def _apply_daemon(lab: dict[str, dict[str, Any]], target: str, daemon_json: str) -> list[str]:
    stack = Stack(name="e2e", source=Path("e2e.yml"), engine=Engine(daemon_json=daemon_json))
    settings = engine_for_host([stack], target, [])
    return changed_ops(run_engine([(target, lab[target])], {target: settings}), target)


def test_a_daemon_json_change_restarts_dockerd_exactly_once_and_a_rerun_not_at_all(
    engine_runs: list[Any],
    lab: dict[str, dict[str, Any]],
    testinfra_hosts: dict[str, Any],
    target: str,
) -> None:
    host = testinfra_hosts[target]
    _apply_daemon(lab, target, NEUTRAL)
    try:
        time.sleep(1.1)  # journal --since has one-second resolution
        since, pid = time.time(), _main_pid(host)

        t0 = time.monotonic()
        assert _apply_daemon(lab, target, LOCAL_LOGS) == ["Docker daemon.json"]
        seconds = time.monotonic() - t0
        assert host.run("docker info --format '{{.LoggingDriver}}'").stdout.strip() == "local"
        assert json.loads(host.file("/etc/docker/daemon.json").content_string) == json.loads(
            LOCAL_LOGS
        )
        restarted_pid = _main_pid(host)
        assert restarted_pid != pid
        assert _dockerd_starts(host, since) == 1
        print(f"daemon.json change with restart on {target}: {seconds:.1f} s")

        assert _apply_daemon(lab, target, LOCAL_LOGS) == []
        assert _main_pid(host) == restarted_pid
        assert _dockerd_starts(host, since) == 1
    finally:
        _apply_daemon(lab, target, NEUTRAL)
    assert host.run("docker info --format '{{.LoggingDriver}}'").stdout.strip() == "json-file"


# -- live-restore off: containers back, a refused daemon.json restored ------------

#: live-restore off: a restart stops every container on the host
NO_LIVE = canonical_daemon_json(
    {"live-restore": False, "log-driver": "json-file", "log-opts": {"max-size": "10m"}}
)
#: passes fleetform's checks (btrfs is a storage driver) but dockerd refuses to
#: start on it here: /var/lib/docker is not on btrfs
REFUSED = canonical_daemon_json({"live-restore": False, "storage-driver": "btrfs"})
#: exits on SIGTERM, so a dockerd shutdown does not wait for its stop timeout
LOOP = "trap 'exit 0' TERM; while :; do sleep 1; done"


def _try_daemon(lab: dict[str, dict[str, Any]], target: str, daemon_json: str) -> Any:
    """The engine deploy with ``daemon_json``; the pyinfra state, failed or not."""
    from pyinfra.api import Config, Inventory, State
    from pyinfra.api.connect import connect_all, disconnect_all
    from pyinfra.api.deploy import add_deploy
    from pyinfra.api.exceptions import PyinfraError
    from pyinfra.api.operations import run_ops

    from fleetform.engine.deploy import docker_engine_by_host

    stack = Stack(name="e2e", source=Path("e2e.yml"), engine=Engine(daemon_json=daemon_json))
    state = State(Inventory(([(target, lab[target])], {})), Config())
    connect_all(state)
    try:
        add_deploy(state, docker_engine_by_host, {target: engine_for_host([stack], target, [])})
        with contextlib.suppress(PyinfraError):  # "No hosts remaining!": the host failed
            run_ops(state)
    finally:
        disconnect_all(state)
    return state


def _container_states(host: Any, *names: str) -> dict[str, tuple[str, str]]:
    """name -> (id, status) of our own containers."""
    out = {}
    for name in names:
        line = host.run(f"docker inspect -f '{{{{.Id}}}} {{{{.State.Status}}}}' {name}").stdout
        cid, _, status = line.strip().partition(" ")
        out[name] = (cid, status)
    return out


def test_without_live_restore_containers_come_back_and_a_refused_daemon_json_is_rolled_back(
    lab: dict[str, dict[str, Any]], testinfra_hosts: dict[str, Any], target: str
) -> None:
    host = testinfra_hosts[target]
    _apply_daemon(lab, target, NEUTRAL)  # the engine, on this host only
    up, down = "ffengine-up", "ffengine-down"
    host.run(f"docker rm -f {up} {down}")  # leftovers of an interrupted run: ours by name
    image = f"{REG}/busybox:1"
    for name in (up, down):
        run = host.run(f"docker run -d --name {name} --label {OWNER_LABEL} {image} sh -c {LOOP!r}")
        assert run.rc == 0, run.stderr
    assert host.run(f"docker stop {down}").rc == 0
    before = _container_states(host, up, down)
    assert [s for _, s in before.values()] == ["running", "exited"]
    try:
        assert changed_ops(_try_daemon(lab, target, NO_LIVE), target) == ["Docker daemon.json"]
        assert host.run("docker info --format '{{.LiveRestoreEnabled}}'").stdout.strip() == "false"
        # the same container runs again, the stopped one stays stopped
        assert _container_states(host, up, down) == before

        pid = _main_pid(host)
        refused = _try_daemon(lab, target, REFUSED)
        assert target in {h.name for h in refused.failed_hosts}
        (meta,) = [m for n, m in op_results(refused, target) if n == "Docker daemon.json"]
        assert "did not come back with the new /etc/docker/daemon.json" in meta.stderr
        assert "the new one was not applied" in meta.stderr
        assert "error initializing graphdriver" in meta.stderr  # dockerd's own reason
        # the previous file is back, dockerd runs with it, and so does the container
        assert json.loads(host.file("/etc/docker/daemon.json").content_string) == json.loads(
            NO_LIVE
        )
        assert host.file("/etc/docker/daemon.json.fleetform-backup").exists
        assert _main_pid(host) not in ("0", pid)
        assert host.run("docker info --format '{{.Driver}}'").stdout.strip() == "overlay2"
        assert _container_states(host, up, down) == before
    finally:
        _apply_daemon(lab, target, NEUTRAL)
        host.run(f"docker rm -f {up} {down}")
    assert host.run("docker info --format '{{.LiveRestoreEnabled}}'").stdout.strip() == "true"


# -- no init system ------------------------------------------------------------


def _docker(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {proc.stderr}")
    return proc.stdout.strip()


def _remove_noinit() -> None:
    # Only objects carrying our label, found by that label.
    for cid in _docker("ps", "-aq", "--filter", f"label={OWNER_LABEL}").split():
        _docker("rm", "-f", "-v", cid)
    for vol in _docker("volume", "ls", "-q", "--filter", f"label={OWNER_LABEL}").split():
        _docker("volume", "rm", vol)


@pytest.fixture(scope="module")
def noinit(lab: dict[str, dict[str, Any]]) -> Iterator[str]:
    """A container from the lab base image whose PID 1 is ``sleep``: no init system."""
    from fleetform.lab.hosts import RUN_FLAGS  # the flags that let dockerd run nested
    from fleetform.lab.image import BaseRecipe

    _remove_noinit()
    _docker("volume", "create", "--label", OWNER_LABEL, f"{NOINIT}-lib")
    _docker(
        "run", "-d", "--name", NOINIT, "--label", OWNER_LABEL, *RUN_FLAGS,
        "-v", f"{NOINIT}-lib:/var/lib/docker", "--entrypoint", "sleep",
        BaseRecipe.current().tag, "infinity",
    )  # fmt: skip
    try:
        yield NOINIT
    finally:
        _remove_noinit()


def test_without_an_init_system_dockerd_is_started_in_the_background_once(noinit: str) -> None:
    spec = [(f"@docker/{noinit}", {})]
    first = run_engine(spec, {})
    assert "dockerd and containerd running" in changed_ops(first, spec[0][0])
    assert _docker("exec", noinit, "cat", "/proc/1/comm") == "sleep"
    procs = _docker("exec", noinit, "ps", "-eo", "args")
    assert "/usr/sbin/dockerd" in procs and "containerd --config" in procs
    assert _docker("exec", noinit, "docker", "info", "--format", "{{.Driver}}") == "overlay2"
    assert changed_ops(run_engine(spec, {}), spec[0][0]) == []


def test_without_an_init_system_daemon_json_changes_and_removal_restart_dockerd(
    noinit: str,
) -> None:
    spec = [(f"@docker/{noinit}", {})]
    name = spec[0][0]
    run_engine(spec, {})

    def pid() -> str:
        return _docker("exec", noinit, "cat", "/var/run/docker.pid")

    before = pid()
    assert changed_ops(run_engine(spec, {name: EngineSettings(daemon_json=LOCAL_LOGS)}), name) == [
        "Docker daemon.json"
    ]
    assert _docker("exec", noinit, "docker", "info", "--format", "{{.LoggingDriver}}") == "local"
    changed = pid()
    assert changed != before
    assert changed_ops(run_engine(spec, {name: EngineSettings(daemon_json=LOCAL_LOGS)}), name) == []
    assert pid() == changed

    emptied = EngineSettings(daemon_json="{}")
    assert changed_ops(run_engine(spec, {name: emptied}), name) == ["Docker daemon.json"]
    gone = subprocess.run(["docker", "exec", noinit, "test", "-e", "/etc/docker/daemon.json"])
    assert gone.returncode == 1
    assert _docker("exec", noinit, "docker", "info", "--format", "{{.LoggingDriver}}") == (
        "json-file"
    )
    assert pid() != changed
