"""Checks of a host's proxy (docs/proxy.md), read from one gathering of the host.

On a host with proxied services: HAProxy installed and running, its file as
fleetform wrote it, and per service (resource ``proxy-backend <stack>-<service>``)
the ``listen`` port served, the backend rendered from the declared settings,
every running replica served by a slot of its pair that passes HAProxy's
checks, and no slot ready or draining at an address no replica has (a stale
backend server).  Per stack, on every host: no backend of the stack left in
the file that the stack no longer proxies there (a stale backend).

    >>> from fleetform.plan.desired import desired_for_host
    >>> from fleetform.stackfile import load_stacks
    >>> want = desired_for_host(load_stacks(["stacks/demo.yml"]), "lab-1", frozenset({"web"}))
    >>> [c.id for c in proxy_checks(want)][:2]
    ['proxy::haproxy installed', 'proxy::haproxy running']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from fleetform.model import LABEL_STACK_FILE
from fleetform.plan.desired import HostDesired
from fleetform.proxy.config import BackendSettings, ProxiedService, read_config
from fleetform.proxy.runtime import ServerState
from fleetform.proxy.slots import SlotTarget, pair
from fleetform.verify.checks import Check, Outcome
from fleetform.verify.state import HostState

_NOT_READ = "unknown: the proxy's runtime API did not answer"


def _services(desired: HostDesired) -> list[tuple[ProxiedService, SlotTarget]]:
    found: dict[str, tuple[ProxiedService, SlotTarget]] = {}
    for c in desired.containers:
        p = c.service.proxy
        if p is None or c.state == "absent":
            continue
        svc = ProxiedService(c.stack, c.service.name, p, c.service.replicas, c.identity)
        network = c.spec.networks[0].name if c.spec.networks else "bridge"
        target = SlotTarget(c.stack, c.service.name, c.service.replicas, p.target_port, network)
        found[svc.backend] = (svc, target)
    return list(found.values())


def _addresses(state: HostState, target: SlotTarget) -> dict[int, str]:
    """Replica -> address on the stack network, for the stack's running replicas."""
    out: dict[int, str] = {}
    for k in range(1, target.replicas + 1):
        c: Mapping[str, Any] | None = state.container(target.container(k))
        if c is None or not (c.get("State") or {}).get("Running"):
            continue
        labels = (c.get("Config") or {}).get("Labels") or {}
        if labels.get("fleetform.stack") != target.stack:
            continue
        nets = (c.get("NetworkSettings") or {}).get("Networks") or {}
        address = (nets.get(target.network) or {}).get("IPAddress")
        if address:
            out[k] = str(address)
    return out


def _slots(state: HostState, backend: str) -> dict[str, ServerState] | None:
    if state.proxy_servers is None:
        return None
    return {s.server: s for s in state.proxy_servers if s.backend == backend}


def _healthy(target: SlotTarget) -> Callable[[HostState], Outcome]:
    def probe(state: HostState) -> Outcome:
        slots = _slots(state, target.backend)
        if slots is None:
            return Outcome(False, _NOT_READ)
        running = _addresses(state, target)
        missing = []
        for k in range(1, target.replicas + 1):
            address = running.get(k)
            if address is None:
                missing.append(f"replica {k}: not running")
                continue
            served = [
                s
                for slot in pair(k)
                if (s := slots.get(slot)) is not None
                and s.address == address
                and s.port == target.target_port
            ]
            if not any(s.serving for s in served):
                how = ", ".join(f"{s.server} {s.admin} {s.op_state}" for s in served)
                missing.append(
                    f"replica {k} ({address}:{target.target_port}): "
                    + (how or "in no slot of its pair")
                )
        n = target.replicas
        actual = f"{n - len(missing)} of {n} serving" + (
            f" ({'; '.join(missing)})" if missing else ""
        )
        return Outcome(not missing, actual)

    return probe


def _no_stale_slots(target: SlotTarget) -> Callable[[HostState], Outcome]:
    def probe(state: HostState) -> Outcome:
        slots = _slots(state, target.backend)
        if slots is None:
            return Outcome(False, _NOT_READ)
        running = _addresses(state, target)
        owner = {slot: k for k in range(1, target.replicas + 1) for slot in pair(k)}
        stale = sorted(
            f"{s.server} {s.admin} at {s.address}:{s.port}"
            for s in slots.values()
            if s.admin != "maint"
            and (running.get(owner.get(s.server, 0)) != s.address or s.port != target.target_port)
        )
        return Outcome(not stale, ", ".join(stale) if stale else "none")

    return probe


def _settings(svc: ProxiedService) -> Callable[[HostState], Outcome]:
    want = BackendSettings(svc.proxy, svc.replicas, svc.stack, svc.service, svc.identity or None)

    def probe(state: HostState) -> Outcome:
        got = read_config(state.proxy.config).backends.get(svc.backend) if state.proxy else None
        if got is None:
            return Outcome(False, "not in haproxy.cfg")
        if got.identity is None:  # written before fleetform recorded the file: not held against it
            got = replace(got, identity=want.identity)
        return Outcome(got == want, "as declared" if got == want else f"rendered from {got}")

    return probe


def _listens(port: int) -> Callable[[HostState], Outcome]:
    def probe(state: HostState) -> Outcome:
        return Outcome.of(state.listens_on(port), f"listening on :{port}", "not listening")

    return probe


def _file_of(state: HostState, name: str, b: BackendSettings) -> str | None:
    """The stack file backend ``name`` was made by: its line, else its first replica's label."""
    if b.identity is not None:
        return b.identity
    labels = ((state.container(f"{name}-1") or {}).get("Config") or {}).get("Labels") or {}
    return labels.get(LABEL_STACK_FILE)


def stale_backends_check(desired: HostDesired, stack: str) -> Check:
    """Backends of ``stack`` in the host's haproxy.cfg that the stack does not proxy here
    (those another stack file of the same name made are that file's, not stale)."""
    wanted = {svc.backend for svc, _ in _services(desired) if svc.stack == stack}
    identity = desired.identity_of(stack)

    def probe(state: HostState) -> Outcome:
        text = state.proxy.config if state.proxy is not None else ""
        stale = sorted(
            name
            for name, b in read_config(text).backends.items()
            if b.stack == stack
            and name not in wanted
            and (identity is None or _file_of(state, name, b) in (None, identity))
        )
        return Outcome(not stale, ", ".join(stale) if stale else "none")

    return Check(f"stack {stack}", "no stale proxy backends", "none", probe, needs_engine=False)


def proxy_checks(desired: HostDesired) -> list[Check]:
    """The proxy's checks on a host with proxied services (none without)."""
    services = _services(desired)
    if not services:
        return []
    checks = [
        Check(
            "proxy",
            "haproxy installed",
            "installed",
            lambda s: Outcome.of(bool(s.proxy and s.proxy.installed), "installed", "missing"),
            needs_engine=False,
        ),
        Check(
            "proxy",
            "haproxy running",
            "active",
            lambda s: Outcome.of(bool(s.proxy and s.proxy.active), "active", "not active"),
            needs_engine=False,
        ),
        Check(
            "proxy",
            "haproxy.cfg as fleetform wrote it",
            "unedited",
            lambda s: Outcome.of(
                bool(s.proxy and read_config(s.proxy.config).intact), "unedited", "edited"
            ),
            needs_engine=False,
        ),
    ]
    for svc, target in services:
        resource = f"proxy-backend {svc.backend}"
        n = svc.replicas
        checks += [
            Check(
                resource,
                "serves listen",
                f"listening on :{svc.proxy.listen}",
                _listens(svc.proxy.listen),
                needs_engine=False,
            ),
            Check(resource, "settings", "as declared", _settings(svc), needs_engine=False),
            Check(resource, "replicas healthy", f"{n} of {n} serving", _healthy(target)),
            Check(resource, "no stale servers", "none", _no_stale_slots(target)),
        ]
    return checks
