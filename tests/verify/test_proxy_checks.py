"""The proxy's checks, evaluated on a made-up host state: each one can fail on its own."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fleetform.model import ProxyConfig, ProxyHealth
from fleetform.plan.desired import HostDesired, desired_for_host
from fleetform.proxy.config import ProxiedService, render_config
from fleetform.proxy.host import ObservedProxy
from fleetform.proxy.runtime import ServerState
from fleetform.stackfile import load_stacks
from fleetform.verify.generate import checks_for_host
from fleetform.verify.proxy_checks import proxy_checks, stale_backends_check
from fleetform.verify.state import HostState

STACK = """\
version: 1
name: vp
services:
  web:
    image: registry.lab:5000/fleetform/demo:1
    deploy: {replicas: 2}
    proxy:
      listen: 18080
      target_port: 8080
      health: {path: /healthz, interval: 1s, timeout: 2s}
      drain: 3s
  job:
    image: registry.lab:5000/fleetform/busybox:1
"""
PROXY = ProxyConfig(18080, 8080, ProxyHealth("/healthz", 10**9, 2 * 10**9), 3 * 10**9)
IPS = {1: "172.30.0.11", 2: "172.30.0.12"}


def _desired(tmp_path: Path) -> HostDesired:
    path = tmp_path / "vp.yml"
    path.write_text(STACK)
    return desired_for_host(list(load_stacks([str(path)])), "lab-1", frozenset())


def _container(k: int, running: bool = True) -> dict[str, Any]:
    return {
        "Name": f"/vp-web-{k}",
        "State": {"Running": running},
        "Config": {"Labels": {"fleetform.stack": "vp"}},
        "NetworkSettings": {"Networks": {"vp_default": {"IPAddress": IPS[k]}}},
    }


def _slot(name: str, address: str, op: int, admin: int, backend: str = "vp-web") -> ServerState:
    ops = ("stopped", "starting", "running", "stopping")
    return ServerState(backend, name, address, 8080, ops[op], admin, 0)  # type: ignore[arg-type]


def _state(services: list[ProxiedService] | None = None) -> HostState:
    """A host where both replicas serve from s1 and s3; s2 and s4 wait in maintenance."""
    services = services or [ProxiedService("vp", "web", PROXY, 2)]
    config = render_config(services, {"vp-web": {"s1": IPS[1], "s3": IPS[2]}})
    return HostState(
        info={"ServerVersion": "20.10"},
        containers=(_container(1), _container(2)),
        listening=frozenset({("0.0.0.0", 18080)}),
        proxy=ObservedProxy(installed=True, active=True, config=config),
        proxy_servers=(
            _slot("s1", IPS[1], 2, 0),
            _slot("s2", "127.0.0.1", 0, 5),
            _slot("s3", IPS[2], 2, 0),
            _slot("s4", "127.0.0.1", 0, 5),
        ),
    )


def _failed(tmp_path: Path, state: HostState) -> list[str]:
    desired = _desired(tmp_path)
    checks = [*proxy_checks(desired), stale_backends_check(desired, "vp")]
    return [r.line("lab-1") for c in checks if not (r := c.evaluate(state)).ok]


def test_a_host_serving_every_replica_passes_every_proxy_check(tmp_path: Path) -> None:
    desired = _desired(tmp_path)
    ids = [c.id for c in proxy_checks(desired)]
    assert ids == [
        "proxy::haproxy installed",
        "proxy::haproxy running",
        "proxy::haproxy.cfg as fleetform wrote it",
        "proxy-backend vp-web::serves listen",
        "proxy-backend vp-web::settings",
        "proxy-backend vp-web::replicas healthy",
        "proxy-backend vp-web::no stale servers",
    ]
    assert _failed(tmp_path, _state()) == []


def _slots(edit: Callable[[ServerState], ServerState]) -> Callable[[HostState], HostState]:
    def change(state: HostState) -> HostState:
        return dataclasses.replace(state, proxy_servers=tuple(map(edit, state.proxy_servers or ())))

    return change


def _proxy(**kw: Any) -> Callable[[HostState], HostState]:
    def change(state: HostState) -> HostState:
        assert state.proxy is not None
        return dataclasses.replace(state, proxy=dataclasses.replace(state.proxy, **kw))

    return change


def _maint_s3(s: ServerState) -> ServerState:
    return dataclasses.replace(s, admin_bits=1, op_state="stopped") if s.server == "s3" else s


def _stale_s2(s: ServerState) -> ServerState:
    return dataclasses.replace(s, address="172.30.0.99", admin_bits=0) if s.server == "s2" else s


def _down_s1(s: ServerState) -> ServerState:
    return dataclasses.replace(s, op_state="stopped") if s.server == "s1" else s


OTHER = ProxiedService("vp", "old", ProxyConfig(18081, 8080), 1)
CASES: dict[str, tuple[Callable[[HostState], HostState], str]] = {
    "not installed": (
        _proxy(installed=False),
        "proxy  haproxy installed  expected installed, got missing",
    ),
    "stopped": (_proxy(active=False), "proxy  haproxy running  expected active, got not active"),
    "edited": (
        lambda s: _proxy(config=(s.proxy.config if s.proxy else "") + "# hand edit\n")(s),
        "haproxy.cfg as fleetform wrote it  expected unedited, got edited",
    ),
    "not listening": (
        lambda s: dataclasses.replace(s, listening=frozenset()),
        "proxy-backend vp-web  serves listen  expected listening on :18080, got not listening",
    ),
    "settings": (
        _proxy(config=render_config([ProxiedService("vp", "web", ProxyConfig(18080, 8080), 2)])),
        "proxy-backend vp-web  settings  expected as declared, got rendered from",
    ),
    "slot in maint": (
        _slots(_maint_s3),
        "replicas healthy  expected 2 of 2 serving, got 1 of 2 serving "
        "(replica 2 (172.30.0.12:8080): s3 maint stopped)",
    ),
    "check failing": (
        _slots(_down_s1),
        "replicas healthy  expected 2 of 2 serving, got 1 of 2 serving "
        "(replica 1 (172.30.0.11:8080): s1 ready stopped)",
    ),
    "replica stopped": (
        lambda s: dataclasses.replace(s, containers=(_container(1), _container(2, False))),
        "got 1 of 2 serving (replica 2: not running)",
    ),
    "stale server": (
        _slots(_stale_s2),
        "proxy-backend vp-web  no stale servers  expected none, got s2 ready at 172.30.0.99:8080",
    ),
    "runtime API silent": (
        lambda s: dataclasses.replace(s, proxy_servers=None),
        "replicas healthy  expected 2 of 2 serving, got unknown: the proxy's runtime API",
    ),
    "stale backend": (
        lambda s: _proxy(
            config=render_config(
                [ProxiedService("vp", "web", PROXY, 2), OTHER],
                {"vp-web": {"s1": IPS[1], "s3": IPS[2]}},
            )
        )(s),
        "stack vp  no stale proxy backends  expected none, got vp-old",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_proxy_check_fails_on_its_own(tmp_path: Path, case: str) -> None:
    change, line = CASES[case]
    failed = _failed(tmp_path, change(_state()))
    # a stopped replica's slot is stale as well; a silent API leaves both slot checks unknown
    assert len(failed) == (2 if case in ("replica stopped", "runtime API silent") else 1), failed
    assert line in failed[0], failed


def test_hosts_without_proxied_services_only_look_for_stale_backends(tmp_path: Path) -> None:
    path = tmp_path / "vp.yml"
    path.write_text(STACK.replace("    proxy:\n", "    x-proxy:\n"))
    hc = checks_for_host(list(load_stacks([str(path)])), "lab-1", frozenset())
    ids = [c.id for c in hc.checks if "proxy" in c.id]
    assert ids == ["stack vp::no stale proxy backends"]
    assert hc.needs.proxy
    (stale,) = [c for c in hc.checks if c.id == ids[0]]
    # the backend the stack no longer proxies is still in the host's file
    assert not stale.evaluate(_state()).ok
    assert stale.evaluate(HostState()).ok  # no HAProxy on the host: nothing stale


def test_a_backend_of_the_same_stack_name_from_another_file_is_not_stale(tmp_path: Path) -> None:
    desired = _desired(tmp_path)
    mine = desired.identity_of("vp")
    assert mine
    theirs = ProxiedService("vp", "admin", dataclasses.replace(PROXY, listen=18081), 1, "other.yml")
    ours = ProxiedService("vp", "old", dataclasses.replace(PROXY, listen=18082), 1, mine)
    state = _state([ProxiedService("vp", "web", PROXY, 2, mine), theirs, ours])
    check = stale_backends_check(desired, "vp")
    assert check.probe(state).actual == "vp-old"
    # The settings check holds the recorded file as declared.
    (settings,) = [c for c in proxy_checks(desired) if c.id.endswith("::settings")]
    assert settings.probe(state).ok
