"""Checks across services and stacks, on the parts of each file that matched the schema.

Placement is known only by name here (no inventory is read), so two
placements are taken to share a host unless their host lists are disjoint;
an empty list means every host and shares a host with everything.

A part the schema rejected (see :mod:`fleetform.stackfile.parts`) is not in
the stack checked here; references to it are not reported, since whether they
hold is known only once the part is fixed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, NamedTuple

from fleetform.model import Port, Service, Stack
from fleetform.stackfile.names import check_names
from fleetform.stackfile.parts import Rejected
from fleetform.stackfile.ports import port_index
from fleetform.stackfile.problems import DocPath, Report, format_path
from fleetform.stackfile.proxy import check_listen_clashes, own_port_problems
from fleetform.stackfile.runchecks import check_run_keys
from fleetform.stackfile.secrets import check_secret_mounts
from fleetform.stackfile.service import DEFAULT_NETWORK

_WILDCARDS = ("", "0.0.0.0", "::")
_NOTHING_REJECTED = Rejected()


class Loaded(NamedTuple):
    """One file's stack, the document it was built from, its report, its rejected parts."""

    stack: Stack
    data: dict[str, Any]
    report: Report
    rejected: Rejected = _NOTHING_REJECTED


def _deps(stack: Stack, report: Report, rejected: Rejected) -> None:
    names = {svc.name: svc for svc in stack.services}
    for svc in stack.services:
        for dep in svc.depends_on:
            path = ("services", svc.name, "depends_on", dep.service)
            if dep.service not in names and rejected.has("services", dep.service):
                continue
            if svc.network_mode == f"service:{dep.service}":
                continue  # reported at `network_mode` (fleetform.stackfile.runchecks)
            if dep.service not in names:
                hint = f" (services: {', '.join(sorted(names))})"
                report.error(path, f"depends on `{dep.service}`, which is not a service{hint}")
            elif names[dep.service].state == "absent":
                report.error(path, f"depends on `{dep.service}`, which is `state: absent`")
    _cycles(stack, report)


def _cycles(stack: Stack, report: Report) -> None:
    graph = {svc.name: [d.service for d in svc.depends_on] for svc in stack.services}
    done: set[str] = set()
    reported: set[frozenset[str]] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            cycle = trail[trail.index(name) :]
            if frozenset(cycle) not in reported:
                reported.add(frozenset(cycle))
                chain = " -> ".join([*cycle, name])
                report.error(("services", cycle[0], "depends_on"), f"dependency cycle: {chain}")
            return
        if name in done or name not in graph:
            return
        for dep in graph[name]:
            visit(dep, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def _references(stack: Stack, data: dict[str, Any], report: Report, rejected: Rejected) -> None:
    networks = {n.name: n for n in stack.networks}
    volumes = {v.name: v for v in stack.volumes}
    for svc in stack.services:
        raw = data["services"][svc.name]
        for att in svc.networks:
            if att.name not in networks and rejected.has("networks", att.name):
                continue
            if att.name not in networks and att.name != DEFAULT_NETWORK:
                report.error(
                    ("services", svc.name, "networks", _index(raw.get("networks"), att.name)),
                    f"network `{att.name}` is not declared under the top-level `networks`",
                )
            elif att.ipv4_address and att.name in networks:
                addr = _ip(att.ipv4_address)
                subnets = [_net(p.subnet) for p in networks[att.name].ipam_config]
                if addr is not None and not any(addr in s for s in subnets if s is not None):
                    report.error(
                        ("services", svc.name, "networks", att.name, "ipv4_address"),
                        f"`{att.ipv4_address}` is not inside a subnet of network `{att.name}`"
                        " (add one under its `ipam.config`)",
                    )
        for i, mount in enumerate(svc.volumes):
            if mount.type != "volume" or mount.source is None:
                continue
            index = _mount_index(raw.get("volumes") or [], mount.target, i)
            path = ("services", svc.name, "volumes", index)
            if mount.source not in volumes and rejected.has("volumes", mount.source):
                continue
            if mount.source not in volumes:
                report.error(
                    path, f"volume `{mount.source}` is not declared under the top-level `volumes`"
                )
            elif volumes[mount.source].state == "absent" and svc.state != "absent":
                report.error(path, f"volume `{mount.source}` is `state: absent` but mounted here")


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address, or None when it is invalid (already reported while normalising)."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _net(text: str | None) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text) if text else None
    except ValueError:
        return None


def _index(spec: Any, name: str) -> str | int:
    return spec.index(name) if isinstance(spec, list) and name in spec else name


def _mount_index(items: list[Any], target: str, fallback: int) -> int:
    for i, item in enumerate(items):
        text = item if isinstance(item, str) else item.get("target", "")
        parts = text.split(":") if isinstance(item, str) else [text]
        if target in (p.rstrip("/") or "/" for p in parts):
            return i
    return fallback


@dataclass(frozen=True)
class _Binding:
    stack: Stack
    service: Service
    port: Port
    path: DocPath
    report: Report
    # The stack's `hosts` was rejected and the service names none of its own.
    placed_unknown: bool = False

    @property
    def placement(self) -> frozenset[str] | None:
        hosts = self.service.hosts or self.stack.hosts
        return frozenset(hosts) if hosts else None

    def clashes(self, other: _Binding) -> bool:
        a, b = self.port, other.port
        overlap = set(a.published_ports()) & set(b.published_ports())
        if a.protocol != b.protocol or not overlap:
            return False
        if a.host_ip != b.host_ip and a.host_ip not in _WILDCARDS and b.host_ip not in _WILDCARDS:
            return False
        if self.placed_unknown or other.placed_unknown:
            # Both on the same (unknown) hosts of one stack, or not known to meet.
            return self.placed_unknown and other.placed_unknown and self.stack is other.stack
        mine, theirs = self.placement, other.placement
        return mine is None or theirs is None or bool(mine & theirs)


def _bindings(loaded: Loaded) -> list[_Binding]:
    stack, data, report, rejected = loaded
    out = []
    for svc in stack.services:
        if svc.state == "absent":
            continue
        raw = data["services"][svc.name].get("ports") or []
        for port in svc.ports:
            if port.published is None:
                continue
            path: DocPath = ("services", svc.name, "ports", port_index(raw, port) or 0)
            if svc.replicas > len(port.published_ports()):
                report.error(
                    path,
                    f"{svc.replicas} replicas on one host cannot all publish host port "
                    f"{port.published_text}/{port.protocol}; leave the host port out, give a "
                    "range with a port for each replica, or use 1 replica",
                )
            unknown = rejected.has("hosts") and not svc.hosts
            out.append(_Binding(stack, svc, port, path, report, unknown))
    return out


def check_port_clashes(loaded: list[Loaded]) -> None:
    """Two containers on one host cannot publish the same host IP, port and protocol."""
    bindings = [b for one in loaded for b in _bindings(one)]
    for i, later in enumerate(bindings):
        for earlier in bindings[:i]:
            if later.clashes(earlier):
                where = format_path(earlier.path)
                if earlier.report is not later.report:
                    where += f" in {earlier.report.file}"
                ip = later.port.host_ip or "0.0.0.0"
                later.report.error(
                    later.path,
                    f"host port {ip}:{later.port.published_text}/{later.port.protocol} is already "
                    f"published by {where} on the same hosts",
                )
                break


def _source(svc: Service) -> tuple[str, str]:
    """(key, words) naming where a service's image comes from."""
    if svc.build is not None:
        return "build", f"built from {svc.build.context}"
    if svc.image_archive is not None:
        return "image_archive", f"loaded from {svc.image_archive}"
    return "image", "pulled from its registry"


def check_image_sources(loaded: list[Loaded]) -> None:
    """One image reference has at most one local source (a build or an archive).

    A host holds one image per reference, so a service building `app:1` and
    another loading `app:1` would race for it.
    """
    first: dict[str, tuple[Stack, Service, Report]] = {}
    for stack, _, report, _ in loaded:
        for svc in stack.services:
            if svc.state == "absent":
                continue
            seen = first.setdefault(svc.image, (stack, svc, report))
            other_stack, other, other_report = seen
            mine, theirs = (svc.build, svc.image_archive), (other.build, other.image_archive)
            # A service that only names the image uses the one built or loaded
            # for another (Compose's usual `image:` + `build:` pair).
            if other is svc or mine == theirs or (None, None) in (mine, theirs):
                continue
            key, words = _source(svc)
            where = f"service `{other.name}`"
            if other_report is not report:
                where += f" in {other_report.file}"
            elif other_stack is not stack:
                where += f" of stack `{other_stack.name}`"
            report.error(
                ("services", svc.name, key),
                f"image `{svc.image}` is {words} here but {_source(other)[1]} by {where}; "
                "give one of them another tag",
            )


@dataclass(frozen=True, eq=False)
class _Owner:
    stack: str
    what: str  # "service", "network" or "volume"
    key: str
    report: Report

    def words(self, other: _Owner) -> str:
        where = f"{self.what} `{self.key}` of stack `{self.stack}`"
        return where if self.report is other.report else f"{where} in {self.report.file}"


def _docker_objects(stack: Stack, report: Report) -> list[tuple[str, str, _Owner, DocPath]]:
    """(kind, Docker name, owner, path) of every object the stack would create."""
    out: list[tuple[str, str, _Owner, DocPath]] = []
    for svc in stack.services:
        owner = _Owner(stack.name, "service", svc.name, report)
        for replica in range(1, svc.replicas + 1):
            name = svc.container_name(stack.name, replica)
            out.append(("container", name, owner, ("services", svc.name)))
    for kind, objects in (("network", stack.networks), ("volume", stack.volumes)):
        for obj in objects:
            # An external object is not created: naming another stack's on
            # purpose is how two stacks share a network or volume.
            if not obj.external:
                path: DocPath = (f"{kind}s", obj.name)
                out.append(
                    (kind, obj.docker_name, _Owner(stack.name, kind, obj.name, report), path)
                )
    return out


def check_docker_names(loaded: list[Loaded]) -> None:
    """Two stacks (or two keys of one) cannot make Docker objects of one name.

    ``app_prod`` + volume ``db`` and ``app`` + volume ``prod_db`` are both
    ``app_prod_db``; ``app-web`` + service ``x`` and ``app`` + service ``web-x``
    both make container ``app-web-x-1``.  Docker names are global on a host,
    so they would share (and fight over) one object.
    """
    seen: dict[tuple[str, str], _Owner] = {}
    reported: set[tuple[str, ...]] = set()
    for stack, _, report, _rejected in loaded:
        for kind, name, owner, path in _docker_objects(stack, report):
            first = seen.setdefault((kind, name), owner)
            pair = (first.stack, first.what, first.key, owner.stack, owner.what, owner.key)
            if pair[:3] == pair[3:] or pair in reported:
                continue
            reported.add(pair)
            hint = "" if kind == "container" else " (or give it another `name:`)"
            report.error(
                path,
                f"{kind} name `{name}` is also made by {first.words(owner)}; Docker names are "
                f"unique on a host: rename one of them{hint}",
            )


def _start_first(stack: Stack, report: Report) -> None:
    """``order: start-first`` runs old and new side by side: no fixed host port then.

    A proxied service's own ``listen`` in ``ports`` is reported by
    :func:`own_port_problems` instead.
    """
    for svc in stack.services:
        listen = svc.proxy.listen if svc.proxy is not None else None
        fixed = [
            p
            for p in svc.ports
            if p.published not in (None, listen)
            and len(p.published_ports()) < 2 * svc.replicas  # a range with room for both
        ]
        if not fixed:
            continue
        for key in ("update_config", "rollback_config"):
            if getattr(svc, key).order == "start-first":
                default = " (the default with `proxy`)" if svc.proxy is not None else ""
                report.error(
                    ("services", svc.name, "deploy", key, "order"),
                    f"`start-first`{default} runs the old and the new container together, but "
                    f"both would publish host port {fixed[0].published_text}/"
                    f"{fixed[0].protocol}; use `stop-first`, or leave the host port out",
                )


def check_stack(
    stack: Stack, data: dict[str, Any], report: Report, rejected: Rejected = _NOTHING_REJECTED
) -> None:
    """Cross-reference checks inside one stack."""
    check_names(data, report)
    _deps(stack, report, rejected)
    _references(stack, data, report, rejected)
    _start_first(stack, report)
    own_port_problems(stack, data, report)
    check_secret_mounts(stack, data, report, rejected)
    check_run_keys(stack, report)


def check_stacks(loaded: list[Loaded]) -> None:
    """Checks across all stack files given together."""
    seen: dict[str, Report] = {}
    for stack, _, report, rejected in loaded:
        if rejected.has("name"):
            continue  # it has a stand-in name until its own is fixed
        if stack.name in seen:
            report.error(
                ("name",), f"stack name `{stack.name}` is also used by {seen[stack.name].file}"
            )
        seen.setdefault(stack.name, report)
    check_docker_names(loaded)
    check_port_clashes(loaded)
    check_listen_clashes(loaded)
    check_image_sources(loaded)
