"""Plan lines for the host's proxy: which backends to add, change or remove, and why.

Pure, as the rest of the planner.  The desired side comes from the host's
desired containers (:func:`desired_backends`); the observed side is what the
host's haproxy.cfg says it was rendered from (``fleetform.proxy.config.read_config``
on the file's text: backend -> (settings, replicas), and whether the file is
still as fleetform wrote it).  A change of any of these rewrites the file and
reloads HAProxy seamlessly; replica addresses are not part of it (they move
through the runtime API during rollouts, never through the plan).

Observation reads the package, the service and the file in the host's round
trip (:mod:`fleetform.proxy.host`); :func:`host_proxy_actions` gives
``plan_host`` the host's proxy lines: HAProxy to install or start first, then
the backends.

    >>> from fleetform.model import ProxyConfig
    >>> [a.headline() for a in proxy_actions("h", {"demo-web": (ProxyConfig(80, 80), 1)}, {})]
    ['+ create proxy-backend demo-web']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from fleetform.model import ProxyConfig
from fleetform.plan.desired import HostDesired
from fleetform.plan.diff import FieldChange
from fleetform.plan.observed import Observed
from fleetform.plan.ownership import foreign_owner, same_file
from fleetform.proxy.config import BackendSettings, read_config
from fleetform.proxy.host import ObservedProxy
from fleetform.proxy.runtime import ServerState
from fleetform.proxy.slots import SlotTarget, pair, slot_commands, wanted_slots

#: backend name -> (proxy settings, replicas on this host)
Backends = Mapping[str, tuple[ProxyConfig, int]]
ProxyActionKind = Literal[
    "install-proxy",
    "start-proxy",
    "upgrade-proxy",
    "create-backend",
    "update-backend",
    "remove-backend",
]
ProxyReasonCode = Literal[
    "proxy_missing",  # install-proxy: Debian's haproxy package is not installed
    "proxy_stopped",  # start-proxy: HAProxy is installed but does not run
    "proxy_upgrade",  # upgrade-proxy: the host's package lists offer a newer haproxy
    "missing",  # create-backend: the host's proxy does not serve this service yet
    "proxy_changed",  # update-backend: a proxy setting or the replica count differs
    "proxy_edited",  # update-backend: the host's file was edited by hand
    "slot_drift",  # update-backend: a slot and the running replicas disagree
    "orphan",  # remove-backend: no service here has this proxy any more
]
_SYMBOL: dict[str, Literal["+", "~", "-"]] = {
    "install-proxy": "+",
    "start-proxy": "~",
    "upgrade-proxy": "~",
    "create-backend": "+",
    "update-backend": "~",
    "remove-backend": "-",
}


@dataclass(frozen=True)
class ProxyAction:
    host: str
    kind: ProxyActionKind
    resource: str  # backend name, ``<stack>-<service>``
    reason: str
    reason_code: ProxyReasonCode
    changes: tuple[FieldChange, ...] = ()

    def headline(self) -> str:
        if self.kind.endswith("-proxy"):
            return f"{_SYMBOL[self.kind]} {self.kind.removesuffix('-proxy')} proxy {self.resource}"
        verb = self.kind.removesuffix("-backend")
        return f"{_SYMBOL[self.kind]} {verb} proxy-backend {self.resource}"

    @property
    def bucket(self) -> Literal["create", "update", "remove"]:
        """The plan summary's column (and the line's colour)."""
        buckets: dict[str, Literal["create", "update", "remove"]] = {
            "+": "create",
            "~": "update",
            "-": "remove",
        }
        return buckets[_SYMBOL[self.kind]]

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "resource_type": "proxy" if self.kind.endswith("-proxy") else "proxy-backend",
            "resource": self.resource,
            "reason": self.reason,
            "reason_code": self.reason_code,
            "changes": [
                {"path": c.path, "old": c.old, "new": c.new, "text": str(c)} for c in self.changes
            ],
        }

    def lines(self) -> list[str]:
        """The action as the plan shows it (as :func:`fleetform.plan.render.host_lines`)."""
        details = [str(c) for c in self.changes] or [self.reason]
        return [f"  {self.headline()}"] + [f"      {d}" for d in details]


def container_files(observed: Observed) -> dict[str, str]:
    """Backend name -> the stack file its containers on the host are labelled with
    (:attr:`fleetform.proxy.host.ObservedProxy.owners`)."""
    return {
        f"{c.stack}-{c.service}": c.identity
        for c in observed.containers
        if c.stack and c.service and c.identity
    }


def backend_file(name: str, settings: BackendSettings, observed: ObservedProxy) -> str | None:
    """The stack file that made backend ``name``: as its line records it, else (a line
    written before fleetform recorded it) as its containers on the host are labelled;
    None: not known."""
    return settings.identity if settings.identity is not None else observed.owners.get(name)


def owns_backend(
    desired: HostDesired, name: str, settings: BackendSettings, observed: ObservedProxy
) -> bool:
    """Whether this apply may change or remove backend ``name`` of the host's file.

    Only when its stack is being applied, from the stack file that made it: the
    same stack name applied from another file leaves it as it serves, as it
    leaves that file's containers (:mod:`fleetform.plan.ownership`).  A backend
    whose file is not known counts as the current file's, as an unlabelled
    container does.
    """
    if settings.stack not in desired.stacks:
        return False
    want = desired.identity_of(settings.stack)
    return want is None or same_file(backend_file(name, settings, observed), want)


def foreign_backends(
    desired: HostDesired, observed: ObservedProxy | None
) -> tuple[list[str], list[str]]:
    """Errors and warnings about backends of the applied stacks made by another file.

    A backend the stack file also declares is an error (both would be one
    backend, as for a container name); any other is left as it serves, with a
    warning.
    """
    if observed is None or not observed.config.strip():
        return [], []
    want = desired_backends(desired)
    errors: list[str] = []
    warnings: list[str] = []
    for name, b in sorted(read_config(observed.config).backends.items()):
        if b.stack not in desired.stacks or owns_backend(desired, name, b, observed):
            continue
        made_by = backend_file(name, b, observed)
        if name in want:
            mine = desired.identity_of(b.stack) or ""
            why = foreign_owner((b.stack, b.service, made_by), (b.stack, b.service, mine), "proxy")
            errors.append(f"proxy-backend {name} on {desired.host} {why}")
        else:
            warnings.append(
                f"proxy-backend {name} was made by stack file {made_by}, not "
                f"{desired.identity_of(b.stack)} (the same stack name, {b.stack}); "
                "it is left as it serves"
            )
    return errors, warnings


def desired_backends(desired: HostDesired) -> dict[str, tuple[ProxyConfig, int]]:
    """The proxied services of a host's desired containers that should run or be stopped."""
    out: dict[str, tuple[ProxyConfig, int]] = {}
    for c in desired.containers:
        if c.service.proxy is not None and c.state != "absent":
            out[f"{c.stack}-{c.service.name}"] = (c.service.proxy, c.service.replicas)
    return out


def slot_targets(desired: HostDesired) -> list[SlotTarget]:
    """The slots' view of the host's proxied services (running or stopped), once each."""
    out: dict[str, SlotTarget] = {}
    for c in desired.containers:
        p = c.service.proxy
        if p is None or c.state == "absent":
            continue
        network = c.spec.networks[0].name if c.spec.networks else "bridge"
        t = SlotTarget(c.stack, c.service.name, c.service.replicas, p.target_port, network)
        out[t.backend] = t
    return list(out.values())


def slot_drift(
    target: SlotTarget, running: Mapping[int, str], states: tuple[ServerState, ...]
) -> tuple[FieldChange, ...]:
    """What the runtime slots of ``target`` have that the running replicas do not:
    a running replica in no slot, a slot taking requests at an address that is
    no running replica's (or in the wrong pair).  Empty: nothing to repair."""
    if not slot_commands(target, running, states):
        return ()
    wanted = wanted_slots(target, running, states)
    by_slot = {s.server: s for s in states if s.backend == target.backend}
    out: list[FieldChange] = []
    for k in range(1, target.replicas + 1):
        for slot in pair(k):
            s = by_slot.get(slot)
            now = f"{s.address}:{s.port} {s.admin}" if s is not None else "absent"
            if slot in wanted:
                want = f"{wanted[slot]}:{target.target_port} ready"
                if now != want:
                    out.append(FieldChange(f"slot {slot} (replica {k})", now, want))
            elif s is not None and s.admin != "maint":
                out.append(FieldChange(f"slot {slot} (replica {k})", now, "maint"))
    return tuple(out)


def _secs(ns: int) -> str:
    return f"{ns / 1_000_000_000:g}s"


def _fields(proxy: ProxyConfig, replicas: int) -> dict[str, str]:
    return {
        "proxy.listen": str(proxy.listen),
        "proxy.target_port": str(proxy.target_port),
        "proxy.health.path": proxy.health.path,
        "proxy.health.interval": _secs(proxy.health.interval),
        "proxy.health.timeout": _secs(proxy.health.timeout),
        "proxy.drain": _secs(proxy.drain),
        "replicas (proxy slots)": str(replicas),
    }


def proxy_actions(
    host: str, desired: Backends, observed: Backends, *, intact: bool = True
) -> tuple[ProxyAction, ...]:
    """The proxy's part of a host's plan, by backend name.

    ``intact=False`` (the host's file was edited): every desired backend is
    rewritten, so the plan shows that the edit will be replaced.
    """
    out = []
    for name in sorted(set(desired) | set(observed)):
        if name not in observed:
            out.append(
                ProxyAction(
                    host, "create-backend", name, "not served by the host's proxy", "missing"
                )
            )
        elif name not in desired:
            out.append(
                ProxyAction(
                    host,
                    "remove-backend",
                    name,
                    "no service on this host has this proxy any more",
                    "orphan",
                )
            )
        else:
            want, have = _fields(*desired[name]), _fields(*observed[name])
            changes = tuple(FieldChange(k, have[k], want[k]) for k in want if want[k] != have[k])
            if changes:
                out.append(
                    ProxyAction(
                        host,
                        "update-backend",
                        name,
                        "proxy settings changed",
                        "proxy_changed",
                        changes,
                    )
                )
            elif not intact:
                out.append(
                    ProxyAction(
                        host,
                        "update-backend",
                        name,
                        "the host's haproxy.cfg was edited by hand: fleetform's is written back",
                        "proxy_edited",
                    )
                )
    return tuple(out)


def host_proxy_notes(desired: HostDesired, observed: ObservedProxy | None) -> tuple[str, ...]:
    """What the plan says about the host's proxy without changing it: a held package
    a newer version is offered for is not upgraded (apt would refuse)."""
    if observed is None or not desired_backends(desired) or not observed.installed:
        return ()
    if observed.held and observed.upgrade is not None:
        old, new = observed.upgrade
        return (
            f"haproxy package held (apt-mark hold) at {old}: {new} available, not upgraded "
            "(`apt-mark unhold haproxy` to let fleetform upgrade it)",
        )
    return ()


def host_proxy_actions(
    host: str, desired: HostDesired, observed: ObservedProxy | None
) -> tuple[ProxyAction, ...]:
    """The proxy's lines of a host's plan (``observed`` None: not observed, no lines).

    HAProxy is installed and started only on a host with a proxied service;
    a host without one keeps whatever HAProxy it has, fleetform's backends
    removed from the file.
    """
    if observed is None:
        return ()
    want = desired_backends(desired)
    got = read_config(observed.config) if observed.config.strip() else None
    # Backends of stacks not being applied, or made by another stack file, are
    # theirs: neither compared nor removed.
    have = {
        k: (v.proxy, v.replicas)
        for k, v in (got.backends.items() if got else ())
        if owns_backend(desired, k, v, observed)
    }
    # A declared backend that another file's holds is a plan error (foreign_backends).
    want = {k: v for k, v in want.items() if k in have or k not in (got.backends if got else {})}
    out: list[ProxyAction] = []
    if want and not observed.installed:
        out.append(
            ProxyAction(
                host,
                "install-proxy",
                "haproxy",
                "Debian's haproxy is not installed",
                "proxy_missing",
            )
        )
    elif want and not observed.active:
        out.append(
            ProxyAction(host, "start-proxy", "haproxy", "HAProxy is not running", "proxy_stopped")
        )
    if want and observed.installed and observed.upgrade is not None and not observed.held:
        # Restarts held, then a seamless reload (fleetform.proxy.host.held_apt).
        old, new = observed.upgrade
        out.append(
            ProxyAction(
                host,
                "upgrade-proxy",
                "haproxy",
                "package upgrade available",
                "proxy_upgrade",
                (FieldChange("haproxy package (upgrade available)", old, new),),
            )
        )
    # A file fleetform did not write (the package's own) is replaced only for a backend.
    ours = got is not None and (bool(got.backends) or got.intact)
    intact = got.intact if ours and got is not None else True
    backends = proxy_actions(host, want, have, intact=intact)
    # The slots of a backend the file serves as declared, with HAProxy running.
    touched = {a.resource for a in backends}
    if observed.active and observed.slots is not None:
        for t in slot_targets(desired):
            if t.backend in have and t.backend not in touched and t.backend in observed.slots:
                running, states = observed.slots[t.backend]
                changes = slot_drift(t, running, states)
                if changes:
                    why = "the proxy's slots and the running replicas differ"
                    backends += (
                        ProxyAction(host, "update-backend", t.backend, why, "slot_drift", changes),
                    )
    return (*out, *backends)
