"""Published ports: Compose's short and long forms, ranges expanded to single ports
(a range of host ports for one container port stays a range: Docker picks one)."""

from __future__ import annotations

import ipaddress
from typing import Any, cast

from fleetform.model import Port, Protocol
from fleetform.stackfile.problems import DocPath, Report

PortRange = tuple[int, int]


def _port_range(text: str, what: str) -> PortRange:
    low_s, sep, high_s = text.partition("-")
    try:
        low = int(low_s)
        high = int(high_s) if sep else low
    except ValueError:
        raise ValueError(f"`{text}` is not a valid {what} port") from None
    for value in (low, high):
        if not 1 <= value <= 65535:
            raise ValueError(f"{value} is not a valid port (1-65535)")
    if high < low:
        raise ValueError(f"`{text}` is not a valid port range (the first port is larger)")
    return low, high


def _host_ip(text: str) -> str:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"`{text}` is not a valid IP address to publish on") from None
    return text


def _expand(
    target: PortRange, published: PortRange | None, host_ip: str, protocol: str
) -> list[Port]:
    proto = cast(Protocol, protocol)
    t_count = target[1] - target[0] + 1
    if published is None:
        return [Port(t, None, host_ip, proto) for t in range(target[0], target[1] + 1)]
    p_count = published[1] - published[0] + 1
    if t_count == 1 and p_count > 1:
        # Docker binds one free port of the range (Compose's way to give each
        # replica its own host port).
        return [Port(target[0], published[0], host_ip, proto, published_last=published[1])]
    if p_count != t_count:
        raise ValueError(
            f"the published range has {p_count} ports but the container range has {t_count}; "
            "their sizes must match"
        )
    return [Port(target[0] + i, published[0] + i, host_ip, proto) for i in range(t_count)]


def parse_short(text: str) -> list[Port]:
    """``"127.0.0.1:8080-8081:80-81/udp"`` -> two Ports; ValueError with a plain message."""
    spec, _, protocol = text.partition("/")
    protocol = protocol or "tcp"
    if protocol not in ("tcp", "udp", "sctp"):
        raise ValueError(f"`{protocol}` is not a protocol (tcp, udp or sctp)")
    host_ip = ""
    if spec.startswith("["):
        inner, sep, rest = spec[1:].partition("]:")
        if not sep:
            raise ValueError(f"`{text}` is not a valid port mapping")
        host_ip, spec = _host_ip(inner), rest
        parts = spec.split(":")
        if len(parts) != 2:
            raise ValueError(f"`{text}` is not a valid port mapping")
        parts = [host_ip, *parts]
    else:
        parts = spec.split(":")
    if len(parts) > 3:
        raise ValueError(
            f"`{text}` is not a valid port mapping (write IPv6 addresses in brackets: [::1]:80:80)"
        )
    target = _port_range(parts[-1], "container")
    published = None
    if len(parts) >= 2 and parts[-2] != "":
        published = _port_range(parts[-2], "published")
    if len(parts) == 3 and parts[0] and not host_ip:
        host_ip = _host_ip(parts[0])
    return _expand(target, published, host_ip, protocol)


def parse_long(spec: dict[str, Any]) -> list[Port]:
    target = int(spec["target"])
    published = spec.get("published")
    pub_range = _port_range(str(published), "published") if published is not None else None
    host_ip = _host_ip(spec["host_ip"]) if spec.get("host_ip") else ""
    return _expand((target, target), pub_range, host_ip, spec.get("protocol", "tcp"))


def parse_ports(items: list[Any], path: DocPath, report: Report) -> tuple[Port, ...]:
    """All ports of one service, in a stable order (sorted), each problem reported."""
    ports: list[Port] = []
    for i, item in enumerate(items):
        try:
            if isinstance(item, int):
                ports.append(Port(target=int(item)))
            elif isinstance(item, str):
                ports += parse_short(item)
            else:
                ports += parse_long(item)
        except ValueError as exc:
            report.error((*path, i), str(exc))
    seen: set[Port] = set()
    for port in ports:
        if port in seen:
            report.error(path, f"port {port.key()} is listed more than once")
        seen.add(port)
    return tuple(sorted(seen, key=lambda p: (p.target, p.protocol, p.host_ip, p.published or 0)))


def port_index(items: list[Any], port: Port) -> int | None:
    """The index in the raw `ports` list of the entry that makes ``port``."""
    for i, item in enumerate(items):
        try:
            if isinstance(item, int):
                found = [Port(item)]
            elif isinstance(item, str):
                found = parse_short(item)
            else:
                found = parse_long(item)
        except ValueError:
            continue
        if port in found:
            return i
    return None
