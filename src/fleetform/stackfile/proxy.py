"""The ``proxy`` key of a service: reading it, and the rules it must follow.

Rules (each with its own message, docs/proxy.md):

- the service does not publish its own ``listen`` port in ``ports`` (the
  proxy holds that port on the host);
- no other service that can share a host serves the same ``listen``, or
  publishes it as a host port;
- health check interval and timeout are more than 0 (HAProxy needs both).

``deploy.update_config.order`` (and ``rollback_config.order``) default to
``start-first`` for a proxied service; :mod:`fleetform.stackfile.service`
sets that default.

Placement is known only by name here, as for published ports
(:mod:`fleetform.stackfile.checks`): two services share a host unless their
host lists are disjoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fleetform.model import ProxyConfig, ProxyHealth, Service, Stack
from fleetform.stackfile.ports import port_index
from fleetform.stackfile.problems import DocPath, Report, format_path
from fleetform.stackfile.units import parse_duration

if TYPE_CHECKING:
    from fleetform.stackfile.checks import Loaded


def _duration(spec: dict[str, Any], key: str, path: DocPath, report: Report) -> int | None:
    if key not in spec:
        return None
    try:
        ns = parse_duration(str(spec[key]))
    except ValueError as exc:
        report.error((*path, key), str(exc))
        return None
    return ns


def parse_proxy(spec: dict[str, Any] | None, path: DocPath, report: Report) -> ProxyConfig | None:
    """The (schema-valid) ``proxy`` map with defaults filled in; None without one."""
    if spec is None:
        return None
    listen = int(spec["listen"])
    raw_health = spec.get("health") or {}
    health_path: DocPath = (*path, "health")
    health: dict[str, Any] = {}
    if "path" in raw_health:
        health["path"] = str(raw_health["path"])
    for key in ("interval", "timeout"):
        ns = _duration(raw_health, key, health_path, report)
        if ns is not None and ns <= 0:
            report.error((*health_path, key), f"the proxy's health check {key} must be above 0")
        elif ns is not None:
            health[key] = ns
    drain = _duration(spec, "drain", path, report)
    return ProxyConfig(
        listen=listen,
        target_port=int(spec.get("target_port", listen)),
        health=ProxyHealth(**health),
        **({} if drain is None else {"drain": drain}),
    )


def own_port_problems(stack: Stack, data: dict[str, Any], report: Report) -> None:
    """A proxied service cannot publish its ``listen`` port itself: the proxy holds it."""
    for svc in stack.services:
        if svc.proxy is None or svc.state == "absent":
            continue
        raw = data["services"][svc.name].get("ports") or []
        for port in svc.ports:
            if port.published == svc.proxy.listen and port.protocol == "tcp":
                report.error(
                    ("services", svc.name, "ports", port_index(raw, port) or 0),
                    f"host port {port.published} is this service's `proxy.listen`: the proxy "
                    "serves it on the host and reaches the containers at `proxy.target_port` "
                    "on the stack network; remove it from `ports`",
                )


@dataclass(frozen=True, eq=False)
class _Listener:
    """A host TCP port a service takes on every host it is placed on."""

    stack: Stack
    service: Service
    port: int
    path: DocPath
    report: Report
    by_proxy: bool  # the proxy's `listen`, else a port the service publishes

    def meets(self, other: _Listener) -> bool:
        mine = self.service.hosts or self.stack.hosts
        theirs = other.service.hosts or other.stack.hosts
        return not mine or not theirs or bool(set(mine) & set(theirs))

    def where(self, other: _Listener) -> str:
        where = format_path(self.path[:2] if self.by_proxy else self.path)
        if self.report is not other.report:
            where += f" in {self.report.file}"
        return where


def _listeners(loaded: Loaded) -> list[_Listener]:
    stack, data, report, rejected = loaded
    # With its stack's `hosts` rejected, a service's hosts are unknown: no clash is claimed.
    out = []
    for svc in stack.services:
        if svc.state == "absent" or (rejected.has("hosts") and not svc.hosts):
            continue
        if svc.proxy is not None:
            path: DocPath = ("services", svc.name, "proxy", "listen")
            out.append(_Listener(stack, svc, svc.proxy.listen, path, report, True))
        raw = data["services"][svc.name].get("ports") or []
        for port in svc.ports:
            # Host-IP-specific ports still clash: the proxy listens on every address.
            own = svc.proxy is not None and port.published == svc.proxy.listen
            if port.published is not None and port.protocol == "tcp" and not own:
                path = ("services", svc.name, "ports", port_index(raw, port) or 0)
                out.append(_Listener(stack, svc, port.published, path, report, False))
    return out


def check_listen_clashes(loaded: list[Loaded]) -> None:
    """A proxy's ``listen`` port is taken on every host of its service.

    Two published ports that clash are reported by
    :func:`fleetform.stackfile.checks.check_port_clashes`; here only clashes
    that involve a proxy.
    """
    listeners = [one for each in loaded for one in _listeners(each)]
    for i, later in enumerate(listeners):
        for earlier in listeners[:i]:
            if later.port != earlier.port or not (later.by_proxy or earlier.by_proxy):
                continue
            if later.service is earlier.service or not later.meets(earlier):
                continue
            if later.by_proxy and earlier.by_proxy:
                message = (
                    f"port {later.port} is also the `proxy.listen` of {earlier.where(later)} on "
                    "the same hosts; one proxy port serves one service: give one of them "
                    "another `listen`"
                )
            elif later.by_proxy:
                message = (
                    f"port {later.port} is published by {earlier.where(later)} on the same "
                    "hosts; the proxy cannot serve it too: give one of them another port"
                )
            else:
                message = (
                    f"host port {later.port} is the `proxy.listen` of {earlier.where(later)} on "
                    "the same hosts; give one of them another port"
                )
            later.report.error(later.path, message)
            break
