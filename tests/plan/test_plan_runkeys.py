"""Compose's `docker run` keys in plans: drift of each is a reason, `network_mode: service:`
and `depends_on.restart` recreate a service with its peer (golden text)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from planbuilders import assert_plan_golden, converged, host_state, running, stack, svc, want

from fleetform.executor import argv as A
from fleetform.model import Dependency, Healthcheck, Port, Service, Stack
from fleetform.observe.docker import _shared_stacks_by_name
from fleetform.plan import plan_host
from fleetform.plan.desired import HostDesired, desired_for_host
from fleetform.plan.observed import Observed

MiB = 1 << 20


def runkeys_stack():
    return stack(
        svc(
            "vpn",
            cap_add=("NET_ADMIN",),
            devices=("/dev/net/tun:/dev/net/tun:rwm",),
            ports=(Port(8080, 8080),),
        ),
        svc("app", network_mode="service:vpn", depends_on=(Dependency("vpn", restart=True),)),
        svc(
            "db",
            fixed_name="postgres",
            expose=("5432/tcp",),
            tty=True,
            stdin_open=True,
            shm_size=256 * MiB,
            ipc="shareable",
            pid="host",
            tmpfs=("/run", "/tmp:size=64m"),
            security_opt=("no-new-privileges:true",),
            group_add=("999",),
            runtime="runc",
            platform="linux/amd64",
            healthcheck=Healthcheck(("CMD-SHELL", "pg_isready"), start_interval=1_000_000_000),
        ),
        svc("web", network_mode="host", depends_on=(Dependency("db", restart=True),)),
    )


def _drifted(**per_container: dict[str, object]) -> Callable[[], tuple[HostDesired, Observed]]:
    def build() -> tuple[HostDesired, Observed]:
        d = want([runkeys_stack()])
        containers = [running(c, **per_container.get(c.name, {})) for c in d.containers]
        return d, host_state(d, *containers)

    return build


case_run_keys_converged = _drifted()
case_run_keys_drift = _drifted(
    postgres={
        "tmpfs": ("/run",),
        "security_opt": (),
        "shm_size": 64 * MiB,
        "tty": False,
        "platform": "linux/arm64",
    }
)
#: vpn's image changed: vpn is recreated, and app, which shares its network
#: stack, after it; db (postgres) has no change but web depends on it: not recreated.
case_network_mode_service_recreates_with_its_peer = _drifted(
    **{"demo-vpn-1": {"image": "registry.lab:5000/fleetform/demo:0"}}
)
case_depends_on_restart_recreates_the_dependent = _drifted(postgres={"group_add": ()})

CASES = {
    name.removeprefix("case_"): fn
    for name, fn in sorted(globals().items())
    if name.startswith("case_") and callable(fn)
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan_text_matches_the_golden_file(name: str) -> None:
    assert_plan_golden(*CASES[name](), name)


def test_a_converged_host_with_every_run_key_plans_nothing() -> None:
    d = want([runkeys_stack()])
    assert not plan_host(d, converged(d)).actions


def test_docker_create_gets_each_run_key() -> None:
    d = want([runkeys_stack()])
    db = d.container("postgres")
    assert db is not None
    argv = A.container_create_argv(db)
    assert argv[:4] == ["docker", "create", "--name", "postgres"]
    joined = " ".join(argv)
    for option in (
        "--label fleetform.platform=linux/amd64",
        "--expose 5432/tcp",
        "--platform linux/amd64",
        "--runtime runc",
        "--interactive",
        "--tty",
        "--pid host",
        "--ipc shareable",
        "--shm-size 268435456",
        "--tmpfs /run --tmpfs /tmp:size=64m",
        "--security-opt no-new-privileges:true",
        "--group-add 999",
        "--health-start-interval 1000ms",
    ):
        assert option in joined
    app = d.container("demo-app-1")
    assert app is not None
    app_argv = A.container_create_argv(app)
    assert app_argv[app_argv.index("--network") + 1] == "container:demo-vpn-1"
    assert app_argv.count("--network") == 1
    web = d.container("demo-web-1")
    assert web is not None
    web_argv = A.container_create_argv(web)
    assert web_argv[web_argv.index("--network") + 1] == "host"
    assert web_argv.count("--network") == 1
    assert "--network-alias" not in web_argv


def test_a_shared_network_stack_is_observed_by_the_peer_name_while_it_exists() -> None:
    d = want([runkeys_stack()])
    vpn = running(d.containers[1])  # demo-vpn-1
    assert vpn.name == "demo-vpn-1"
    app = running(d.containers[0], network_mode=f"container:{vpn.id}")
    gone = running(d.containers[0], network_mode="container:" + "f" * 64)
    seen = {c.name: c for c in _shared_stacks_by_name((vpn, app))}
    assert seen["demo-app-1"].spec.network_mode == "container:demo-vpn-1"
    # The peer was replaced by hand: the old id is kept, so the plan recreates.
    (kept,) = _shared_stacks_by_name((gone,))
    assert kept.spec.network_mode == "container:" + "f" * 64
    others = [running(c) for c in d.containers if c.name != app.name]
    plan = plan_host(d, host_state(d, *others, gone))
    assert [(a.kind, a.resource) for a in plan.actions] == [("recreate", "demo-app-1")]


def test_containers_of_an_inactive_profile_are_left_alone() -> None:
    web = Service("web", "x:1", depends_on=(Dependency("db"),))
    db = Service("db", "db:1")
    debug = Service("debug", "x:1")
    with_debug = Stack("demo", Path("demo.yml"), services=(db, debug, web))
    host = converged(desired_for_host([with_debug], "h", frozenset({"h"})))
    without = Stack("demo", Path("demo.yml"), services=(db, web), inactive_services=("debug",))
    assert plan_host(desired_for_host([without], "h", frozenset({"h"})), host).actions == ()
    # Not declared at all: it is an orphan, and removed.
    gone = Stack("demo", Path("demo.yml"), services=(db, web))
    plan = plan_host(desired_for_host([gone], "h", frozenset({"h"})), host)
    assert [(a.kind, a.resource) for a in plan.actions] == [("remove", "demo-debug-1")]
