"""What verification reads from one host, gathered in a single shell command.

testinfra's ``host.docker(name)`` runs ``docker inspect`` on every property
access and ``host.package``/``host.service`` one command each; over SSH that is
a round trip per property.  Instead :func:`gather_script` builds one POSIX
shell script that prints every needed fact as a part framed by
:mod:`fleetform.observe.sections` (the framing of every host observation), and
:func:`parse_state` turns its output into a :class:`HostState`.  Both are pure,
so they are tested on recorded output.

Example::

    needs = Needs(packages=("docker.io",), networks=("demo_default",))
    script = gather_script(needs)      # run with testinfra: host.run("sh -c %s", script)
    state = parse_state(output_of_script, needs)
"""

from __future__ import annotations

import ipaddress
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetform.engine.layers import HostLayers, parse_layers
from fleetform.engine.layers_script import layer_sections
from fleetform.observe.sections import Section, sectioned_script, split_sections
from fleetform.plan.projectfiles import observe_script, parse_observed_paths
from fleetform.proxy.host import HAPX, OBSERVE_SCRIPT, ObservedProxy, parse_observed_proxy
from fleetform.proxy.runtime import RuntimeReplyError, ServerState, parse_servers_state

__all__ = ["HostState", "Needs", "ServiceStatus", "gather_script", "parse_state", "split_sections"]

#: Docker's socket; the engine checks expect it to be a Unix socket.
DOCKER_SOCKET = "/var/run/docker.sock"
DAEMON_JSON = "/etc/docker/daemon.json"
#: systemd units (and their daemons' process names for hosts without systemd).
ENGINE_SERVICES = {"docker": "dockerd", "containerd": "containerd"}


@dataclass(frozen=True)
class Needs:
    """The host facts the checks of one host read, beyond the fixed engine facts."""

    packages: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    #: (kind, path) of uploaded project files and data folders
    #: (fleetform.plan.projectfiles.observe_script)
    project_paths: tuple[tuple[str, str], ...] = ()
    #: HAProxy's package, service, haproxy.cfg and runtime slots (docs/proxy.md)
    proxy: bool = False
    #: the engine's layers, with the changelog lines naming these advisory ids
    #: (engine.policy; None: not gathered)
    advisory_ids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ServiceStatus:
    active: str  # systemctl is-active wording: active, inactive, failed, ...
    enabled: str  # systemctl is-enabled wording: enabled, disabled, ...


@dataclass(frozen=True)
class HostState:
    """A host's facts as verification sees them (missing objects are absent from maps)."""

    #: installed packages: name -> version
    packages: Mapping[str, str] = field(default_factory=dict)
    services: Mapping[str, ServiceStatus] = field(default_factory=dict)
    init: str = "systemd"
    #: /etc/os-release lines
    os_release: tuple[str, ...] = ()
    docker_socket: bool = False
    #: ``runc --version`` output; ``None`` when it failed.
    runc: str | None = None
    #: ``docker info`` as JSON; ``None`` when the engine did not answer.
    info: Mapping[str, Any] | None = None
    info_error: str = ""
    #: text of /etc/docker/daemon.json; ``None`` when the file is absent.
    daemon_json: str | None = None
    #: ``docker inspect`` of every container on the host.
    containers: tuple[Mapping[str, Any], ...] = ()
    #: image reference -> image id, for the references that exist on the host.
    images: Mapping[str, str] = field(default_factory=dict)
    networks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    volumes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: TCP ports in LISTEN state, as (address, port); address "0.0.0.0" or "::" is any.
    listening: frozenset[tuple[str, int]] = frozenset()
    #: path -> file text, for the requested files that exist.
    files: Mapping[str, str] = field(default_factory=dict)
    #: uploaded project files and data folders: path -> what the host has there
    project_paths: Mapping[str, str] = field(default_factory=dict)
    #: HAProxy as observed (``None``: not gathered)
    proxy: ObservedProxy | None = None
    #: ``show servers state`` of every backend (``None``: the runtime API did not answer)
    proxy_servers: tuple[ServerState, ...] | None = None
    #: the engine's layers (``None``: not gathered)
    layers: HostLayers | None = None

    def container(self, name: str) -> Mapping[str, Any] | None:
        for c in self.containers:
            if str(c.get("Name", "")).lstrip("/") == name:
                return c
        return None

    @property
    def engine_answers(self) -> bool:
        """False when dockerd did not answer: container facts are then unknown, not empty."""
        return self.info is not None

    def listens_on(self, port: int, address: str = "") -> bool:
        for addr, p in self.listening:
            if p != port:
                continue
            if not address or addr in ("0.0.0.0", "::") or addr == address:
                return True
        return False


# unit<TAB>is-active<TAB>is-enabled for each engine unit.  Without systemd,
# only daemons in this PID namespace count: on a control machine running the
# lab, pidof also sees every lab host's dockerd.
_SERVICES = (
    "for s in "
    + " ".join(f"{unit}:{proc}" for unit, proc in ENGINE_SERVICES.items())
    + """; do u=${s%%:*}; p=${s#*:}
if [ -d /run/systemd/system ]; then
  a=$(systemctl is-active "$u" 2>/dev/null); e=$(systemctl is-enabled "$u" 2>/dev/null)
else
  a=inactive; ns=$(readlink /proc/self/ns/pid)
  for i in $(pidof "$p"); do [ "$(readlink /proc/$i/ns/pid)" = "$ns" ] && a=active; done
  if ls /etc/rc[2345].d/S*"$u" >/dev/null 2>&1; then e=enabled; else e=disabled; fi
fi
printf '%s\\t%s\\t%s\\n' "$u" "${a:-unknown}" "${e:-unknown}"; done"""
)


def gather_script(needs: Needs) -> str:
    """One POSIX shell script printing every fact in ``needs`` plus the engine facts."""
    q = shlex.quote
    parts: list[tuple[str, str]] = [
        ("os", "cat /etc/os-release 2>/dev/null"),
        ("init", "if [ -d /run/systemd/system ]; then echo systemd; else echo other; fi"),
        ("services", _SERVICES),
        ("socket", f"test -S {DOCKER_SOCKET}"),
        ("runc", "runc --version 2>&1"),
        ("info", "docker info --format '{{json .}}' 2>&1"),
        ("daemon_json", f"cat {DAEMON_JSON} 2>/dev/null"),
        (
            "containers",
            "ids=$(docker ps -aq --no-trunc 2>/dev/null); "
            'if [ -n "$ids" ]; then docker inspect $ids; else echo "[]"; fi',
        ),
        ("listening", "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null"),
    ]
    if needs.packages:
        parts.append(
            (
                "packages",
                "dpkg-query -W -f='${Package}\\t${Status}\\t${Version}\\n' "
                + " ".join(q(p) for p in needs.packages)
                + " 2>/dev/null",
            )
        )
    if needs.images:
        parts.append(
            (
                "images",
                "for r in "
                + " ".join(q(r) for r in needs.images)
                + "; do printf '%s\\t%s\\n' \"$r\" "
                '"$(docker image inspect --format \'{{.Id}}\' "$r" 2>/dev/null)"; done',
            )
        )
    # inspect of several names prints the found objects and fails for the rest.
    if needs.networks:
        names = " ".join(q(n) for n in needs.networks)
        parts.append(("networks", f"docker network inspect {names} 2>/dev/null"))
    if needs.volumes:
        names = " ".join(q(n) for n in needs.volumes)
        parts.append(("volumes", f"docker volume inspect {names} 2>/dev/null"))
    for i, path in enumerate(needs.files):
        parts.append((f"file:{i}", f"cat {q(path)} 2>/dev/null"))
    if needs.project_paths:
        parts.append(("project_paths", observe_script(needs.project_paths)))
    if needs.proxy:
        parts.append(("proxy", OBSERVE_SCRIPT))
        parts.append(("proxy_servers", f"{HAPX}\nff_hapx 'show servers state' 2>&1 </dev/null"))
    if needs.advisory_ids is not None:
        parts += layer_sections(needs.advisory_ids)
    return sectioned_script(parts)


def _json_list(text: str) -> list[Any]:
    text = text.strip()
    if not text.startswith("["):
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _parse_listening(text: str) -> frozenset[tuple[str, int]]:
    """``/proc/net/tcp{,6}`` rows in state 0A (LISTEN) as (address, port)."""
    found = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[3] != "0A" or ":" not in fields[1]:
            continue
        hex_addr, hex_port = fields[1].rsplit(":", 1)
        found.add((_proc_address(hex_addr), int(hex_port, 16)))
    return frozenset(found)


def _proc_address(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:  # little-endian IPv4
        return ".".join(str(b) for b in reversed(raw))
    # IPv6: four little-endian 32-bit words
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))

    return str(ipaddress.IPv6Address(words))


def _parse_packages(text: str) -> dict[str, str]:
    packages = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[1].endswith(" installed"):
            packages[fields[0].split(":")[0]] = fields[2]
    return packages


def _parse_services(text: str) -> dict[str, ServiceStatus]:
    services = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) == 3:
            services[fields[0]] = ServiceStatus(active=fields[1], enabled=fields[2])
    return services


def _parse_info(section: Section | None) -> tuple[dict[str, Any] | None, str]:
    if section is None:
        return None, "not gathered"
    text = section.text.strip()
    if section.rc == 0 and text.startswith("{"):
        try:
            info = json.loads(text)
        except ValueError:
            info = None
        # With --format, a client that cannot reach dockerd still exits 0 and
        # prints only client info plus ServerErrors.
        if isinstance(info, dict):
            errors = info.get("ServerErrors") or []
            if not errors and "ServerVersion" in info:
                return info, ""
            return None, str(errors[0]) if errors else "no server information"
    return None, text.splitlines()[-1] if text else f"exit code {section.rc}"


def parse_state(output: str, needs: Needs = Needs()) -> HostState:
    """Parse the output of :func:`gather_script` (for the same ``needs``)."""
    s = split_sections(output)
    empty = Section("", 1)
    info, info_error = _parse_info(s.get("info"))
    images = {}
    for line in s.get("images", empty).text.splitlines():
        ref, _, image_id = line.partition("\t")
        if image_id.strip():
            images[ref] = image_id.strip()
    files = {}
    for i, path in enumerate(needs.files):
        sec = s.get(f"file:{i}")
        if sec is not None and sec.rc == 0:
            files[path] = sec.text
    daemon = s.get("daemon_json")
    runc = s.get("runc")
    proxy = s.get("proxy")
    layers = parse_layers("", output) if needs.advisory_ids is not None else None
    return HostState(
        layers=layers,
        packages=_parse_packages(s.get("packages", empty).text),
        services=_parse_services(s.get("services", empty).text),
        os_release=tuple(s.get("os", empty).text.splitlines()),
        init=s.get("init", Section("systemd", 0)).text.strip() or "systemd",
        docker_socket=s.get("socket", empty).rc == 0,
        runc=runc.text if runc is not None and runc.rc == 0 else None,
        info=info,
        info_error=info_error,
        daemon_json=daemon.text if daemon is not None and daemon.rc == 0 else None,
        containers=tuple(_json_list(s.get("containers", empty).text)),
        images=images,
        networks={n["Name"]: n for n in _json_list(s.get("networks", empty).text) if "Name" in n},
        volumes={v["Name"]: v for v in _json_list(s.get("volumes", empty).text) if "Name" in v},
        listening=_parse_listening(s.get("listening", empty).text),
        files=files,
        project_paths=parse_observed_paths(s.get("project_paths", empty).text),
        proxy=parse_observed_proxy(proxy.text) if proxy is not None else None,
        proxy_servers=_parse_servers(s.get("proxy_servers")),
    )


def _parse_servers(section: Section | None) -> tuple[ServerState, ...] | None:
    if section is None:
        return None
    try:
        return parse_servers_state(section.text)
    except RuntimeReplyError:  # not installed, not running, socket gone
        return None
