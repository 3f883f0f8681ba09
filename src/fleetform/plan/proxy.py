"""Plan lines for the host's proxy: which backends to add, change or remove, and why.

Pure, as the rest of the planner.  The desired side comes from the host's
desired containers (:func:`desired_backends`); the observed side is what the
host's haproxy.cfg says it was rendered from (``fleetform.proxy.config.read_config``
on the file's text: backend -> (settings, replicas), and whether the file is
still as fleetform wrote it).  A change of any of these rewrites the file and
reloads HAProxy seamlessly; replica addresses are not part of it (they move
through the runtime API during rollouts, never through the plan).

Not wired yet: observation does not read the file and ``plan_host`` does not
call :func:`proxy_actions` (docs/proxy.md).

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

#: backend name -> (proxy settings, replicas on this host)
Backends = Mapping[str, tuple[ProxyConfig, int]]
ProxyActionKind = Literal["create-backend", "update-backend", "remove-backend"]
ProxyReasonCode = Literal[
    "missing",  # create-backend: the host's proxy does not serve this service yet
    "proxy_changed",  # update-backend: a proxy setting or the replica count differs
    "proxy_edited",  # update-backend: the host's file was edited by hand
    "orphan",  # remove-backend: no service here has this proxy any more
]
_SYMBOL = {"create-backend": "+", "update-backend": "~", "remove-backend": "-"}


@dataclass(frozen=True)
class ProxyAction:
    host: str
    kind: ProxyActionKind
    resource: str  # backend name, ``<stack>-<service>``
    reason: str
    reason_code: ProxyReasonCode
    changes: tuple[FieldChange, ...] = ()

    def headline(self) -> str:
        verb = self.kind.removesuffix("-backend")
        return f"{_SYMBOL[self.kind]} {verb} proxy-backend {self.resource}"

    def lines(self) -> list[str]:
        """The action as the plan shows it (as :func:`fleetform.plan.render.host_lines`)."""
        details = [str(c) for c in self.changes] or [self.reason]
        return [f"  {self.headline()}"] + [f"      {d}" for d in details]


def desired_backends(desired: HostDesired) -> dict[str, tuple[ProxyConfig, int]]:
    """The proxied services of a host's desired containers that should run or be stopped."""
    out: dict[str, tuple[ProxyConfig, int]] = {}
    for c in desired.containers:
        if c.service.proxy is not None and c.state != "absent":
            out[f"{c.stack}-{c.service.name}"] = (c.service.proxy, c.service.replicas)
    return out


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
