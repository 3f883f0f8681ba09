"""haproxy.cfg for one host, rendered from the host's proxied services, deterministically.

Layout (docs/proxy.md):

- ``global``: master-worker mode and an admin socket with ``expose-fd
  listeners``, so a reload hands the listening sockets to the new worker and
  drops no connection.  Replica addresses set through the runtime API are
  written into the file the executor renders before a reload (``live``), so
  the new worker starts with every replica where the old one had it.
- per service, one ``frontend`` on ``listen`` and one ``backend`` with the
  proxy's HTTP check and ``2 x replicas`` server slots: during a start-first
  rollout the new replica takes a free slot beside the old one, so switching
  needs only runtime API commands, never a reload.  Slots start in
  maintenance with a placeholder address until the executor fills them.
- per backend, one ``# fleetform-proxy`` comment line with the settings it was
  rendered from: :func:`read_settings` gives them back from the host's file,
  and the plan diffs them field by field.

    >>> from fleetform.model import ProxyConfig
    >>> text = render_config([ProxiedService("demo", "web", ProxyConfig(8080, 8080), 1)])
    >>> read_settings(text)["demo-web"].proxy.listen
    8080
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fleetform.model import ProxyConfig, ProxyHealth

#: The admin socket on the host (Debian's place for it).
SOCKET = "/run/haproxy/admin.sock"
#: Where ``show servers state`` can be saved (tests/proxy/data/record.sh).
STATE_FILE = "/var/lib/haproxy/server-state"
CONFIG_FILE = "/etc/haproxy/haproxy.cfg"
_MARK = "# fleetform-proxy "
_HASH = "# fleetform-config-hash "
#: Health paths the schema allows: nothing HAProxy's parser would read as a
#: quote, comment, escape or word break.
_PATH = re.compile(r"^/[A-Za-z0-9._~!$&()*+,;=:@%/?-]*$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


@dataclass(frozen=True)
class ProxiedService:
    """One service of one stack that the host's proxy serves."""

    stack: str
    service: str
    proxy: ProxyConfig
    replicas: int
    #: the identity of the stack file that declares it (``fleetform.stack-file``);
    #: empty: not known (a backend written before fleetform recorded it)
    identity: str = ""

    @property
    def backend(self) -> str:
        """The frontend and backend name: the service's container name prefix, unique on a host."""
        return f"{self.stack}-{self.service}"

    @property
    def slots(self) -> tuple[str, ...]:
        """Server names: two per replica, so old and new run side by side (start-first)."""
        return tuple(f"s{i}" for i in range(1, 2 * self.replicas + 1))


def _ms(ns: int) -> str:
    return f"{max(1, ns // 1_000_000)}ms"


def _settings(svc: ProxiedService) -> str:
    p = svc.proxy
    return json.dumps(
        {
            "listen": p.listen,
            "target_port": p.target_port,
            "health": {
                "path": p.health.path,
                "interval": p.health.interval,
                "timeout": p.health.timeout,
            },
            "drain": p.drain,
            "replicas": svc.replicas,
            # whose backend it is: applying other stacks, or the same stack
            # name from another file, keeps it
            "stack": svc.stack,
            "service": svc.service,
            **({"stack_file": svc.identity} if svc.identity else {}),
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def _check(svc: ProxiedService) -> None:
    # The model is built by the loader, which checked these; a hand-made one
    # must not put a word break or comment into the configuration either.
    for name in (svc.stack, svc.service):
        if not _NAME.fullmatch(name):
            raise ValueError(f"`{name}` cannot name an HAProxy section")
    if not _PATH.fullmatch(svc.proxy.health.path):
        raise ValueError(f"`{svc.proxy.health.path}` is not a health check path")


def _section(svc: ProxiedService, live: Mapping[str, str]) -> list[str]:
    _check(svc)
    p, name = svc.proxy, svc.backend
    lines = [
        "",
        f"frontend {name}",
        f"    bind :{p.listen}",
        f"    default_backend {name}",
        "",
        f"backend {name}",
        f"    {_MARK}{_settings(svc)}",
        "    balance roundrobin",
        "    option httpchk",
        f"    http-check send meth GET uri {p.health.path}",
        "    http-check expect status 200-399",
        f"    timeout check {_ms(p.health.timeout)}",
        f"    default-server check inter {_ms(p.health.interval)} fall 2 rise 1",
    ]
    # A placeholder address in maintenance: no traffic until the executor sets
    # a replica's address and readies the slot.
    # A slot that serves a replica now keeps it across the reload.
    lines += [
        f"    server {slot} {live[slot]}:{p.target_port}"
        if slot in live
        else f"    server {slot} 127.0.0.1:{p.target_port} disabled"
        for slot in svc.slots
    ]
    return lines


_GLOBAL = [
    "global",
    "    master-worker",
    f"    stats socket {SOCKET} mode 600 level admin expose-fd listeners",
    "    stats timeout 30s",
    "",
    "defaults",
    "    mode http",
    "    option redispatch",
    "    retries 2",
    "    timeout connect 5s",
    "    timeout client 60s",
    "    timeout server 60s",
]


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def render_config(
    services: Iterable[ProxiedService], live: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """The whole haproxy.cfg for a host: services in (stack, service) order.

    ``live``: backend -> slot -> the address (checked by the caller) of the
    replica that slot serves; other slots start in maintenance.
    """
    body: list[str] = list(_GLOBAL)
    for svc in sorted(services, key=lambda s: (s.stack, s.service)):
        slots = (live or {}).get(svc.backend, {})
        for address in slots.values():
            ipaddress.ip_address(address)  # ValueError for anything else
        body += _section(svc, slots)
    text = "\n".join(body) + "\n"
    head = (
        "# Written by fleetform from the stack files: changes made here are replaced.\n"
        f"{_HASH}{_digest(text)}\n"
    )
    return head + text


@dataclass(frozen=True)
class BackendSettings:
    """What one backend of a host's haproxy.cfg was rendered from."""

    proxy: ProxyConfig
    replicas: int
    stack: str = ""
    service: str = ""
    #: the stack file that declared it; None: the line does not say (written
    #: before fleetform recorded it)
    identity: str | None = None

    def service_of(self) -> ProxiedService:
        """The proxied service this backend was rendered from (to render it again)."""
        return ProxiedService(
            self.stack, self.service, self.proxy, self.replicas, self.identity or ""
        )


@dataclass(frozen=True)
class HostConfig:
    """A host's haproxy.cfg as fleetform reads it back."""

    backends: dict[str, BackendSettings]
    #: the file still is what fleetform wrote (its hash matches its body).
    intact: bool


def read_config(text: str) -> HostConfig:
    """The settings of every backend fleetform wrote into ``text``, and whether it was edited."""
    _, _, body = text.partition("\n")
    hash_line, _, body = body.partition("\n")
    intact = hash_line.startswith(_HASH) and hash_line[len(_HASH) :] == _digest(body)
    backends: dict[str, BackendSettings] = {}
    current = None
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["backend"] and len(words) == 2:
            current = words[1]
        elif line.strip().startswith(_MARK.strip()) and current is not None:
            try:
                raw = json.loads(line.strip()[len(_MARK) :])
                h = raw["health"]
                proxy = ProxyConfig(
                    int(raw["listen"]),
                    int(raw["target_port"]),
                    ProxyHealth(str(h["path"]), int(h["interval"]), int(h["timeout"])),
                    int(raw["drain"]),
                )
                identity = raw.get("stack_file")
                backends[current] = BackendSettings(
                    proxy,
                    int(raw["replicas"]),
                    str(raw["stack"]),
                    str(raw["service"]),
                    None if identity is None else str(identity),
                )
            except (ValueError, KeyError, TypeError):
                intact = False  # edited by hand: the backend's settings are unknown
    return HostConfig(backends, intact)


def read_settings(text: str) -> dict[str, BackendSettings]:
    """Backend name -> the settings it was rendered from (see :func:`read_config`)."""
    return read_config(text).backends
