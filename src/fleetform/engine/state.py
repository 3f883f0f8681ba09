"""A host's Docker engine as it is: gathered by one shell command, parsed here.

Pure: ``FACT_SECTIONS`` are the parts of the command (framed by
:mod:`fleetform.observe.sections`, so ``fleetform plan`` runs them in the
same script as the Docker state) and ``parse_engine_state`` reads their
output; the pyinfra fact in ``fleetform.engine.facts`` only glues them for
plain ``pyinfra`` runs.  One command means one SSH round trip per gathering.

Example::

    >>> from pathlib import Path
    >>> recorded = Path("tests/engine/data/lab-running.txt").read_text()
    >>> state = parse_engine_state(recorded)
    >>> state.init, state.dockerd_pid is not None
    ('systemd', True)
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from fleetform.engine.packages import APT_KEYRING, APT_SOURCES, DNF_REPO, OsInfo
from fleetform.engine.settings import REGISTRY_RE, USER_RE
from fleetform.observe.sections import Section, sectioned_script, split_sections

InitSystem = Literal["systemd", "sysvinit", "none"]

DAEMON_JSON = "/etc/docker/daemon.json"
CERTS_DIR = "/etc/docker/certs.d"
#: What fleetform itself added to the host, one name a line: only these are
#: ever removed when no stack declares them any more.
RECORD_DIR = "/var/lib/fleetform/engine"
ADDED_USERS = f"{RECORD_DIR}/docker-group-users"
ADDED_CAS = f"{RECORD_DIR}/registry-cas"
ENGINE_PACKAGES = (
    "docker.io",
    "docker-ce",
    "docker-ce-cli",
    "containerd",
    "containerd.io",
    "runc",
    "moby-engine",
)
_WATCHED_FILES = (DAEMON_JSON, APT_SOURCES, APT_KEYRING, DNF_REPO)
_PKGS = " ".join(ENGINE_PACKAGES)

# One part per fact, framed by ``fleetform.observe.sections``.  Processes are
# filtered to this PID namespace: on a control machine that runs the lab,
# pidof also sees every lab host's dockerd, and those are not this host's
# engine.  The init system is read from what PID 1 is, never from whether
# systemctl is installed.
FACT_SECTIONS: tuple[tuple[str, str], ...] = (
    ("os", "cat /etc/os-release 2>/dev/null"),
    (
        "init",
        """echo "comm=$(cat /proc/1/comm 2>/dev/null)"
[ -d /run/systemd/system ] && echo systemd_dir=1
[ -f /etc/inittab ] && echo inittab=1""",
    ),
    (
        "packages",
        f"""if command -v dpkg-query >/dev/null 2>&1; then
  dpkg-query -W -f='${{Package}}\\t${{db:Status-Abbrev}}\\t${{Version}}\\n' {_PKGS} 2>/dev/null
elif command -v rpm >/dev/null 2>&1; then
  rpm -q --qf '%{{NAME}}\\tii \\t%{{VERSION}}-%{{RELEASE}}\\n' {_PKGS} 2>/dev/null \\
    | grep -v 'not installed'
fi""",
    ),
    (
        "files",
        f"""for f in {" ".join(_WATCHED_FILES)} {CERTS_DIR}/*/ca.crt; do
  [ -f "$f" ] && sha256sum "$f"
done""",
    ),
    (
        "procs",
        """ns=$(readlink /proc/self/ns/pid)
for n in dockerd containerd; do for p in $(pidof $n); do
  [ "$(readlink /proc/$p/ns/pid)" = "$ns" ] && echo "$n=$p"
done; done
[ -S /var/run/docker.sock ] && echo socket=1""",
    ),
    (
        "enabled",
        """if [ -d /run/systemd/system ]; then
  for u in docker containerd; do echo "$u=$(systemctl is-enabled $u.service 2>/dev/null)"; done
else
  for u in docker containerd; do ls /etc/rc2.d/S*$u >/dev/null 2>&1 && echo "$u=enabled"; done
fi""",
    ),
    ("group", "getent group docker"),
    ("addedusers", f"cat {ADDED_USERS} 2>/dev/null"),
    ("addedcas", f"cat {ADDED_CAS} 2>/dev/null"),
)

#: The engine facts alone, as one script (the pyinfra fact of plain ``pyinfra`` runs).
FACT_SCRIPT = sectioned_script(FACT_SECTIONS)


@dataclass(frozen=True)
class EngineState:
    """What one gathering saw on a host."""

    os: OsInfo
    init: InitSystem
    #: installed package -> version
    packages: dict[str, str] = field(default_factory=dict)
    #: watched file path -> sha256 (absent files are missing)
    files: dict[str, str] = field(default_factory=dict)
    #: registry -> sha256 of /etc/docker/certs.d/<registry>/ca.crt
    certs: dict[str, str] = field(default_factory=dict)
    dockerd_pid: int | None = None
    containerd_pid: int | None = None
    socket: bool = False
    #: unit -> enabled at boot (systemd is-enabled, or sysv rc2.d links)
    enabled: dict[str, bool] = field(default_factory=dict)
    docker_group: tuple[str, ...] | None = None  # None: no docker group
    #: users fleetform added to the docker group (``ADDED_USERS``)
    added_users: tuple[str, ...] = ()
    #: registries whose ca.crt fleetform wrote (``ADDED_CAS``)
    added_registries: tuple[str, ...] = ()

    @property
    def daemon_json_sha256(self) -> str | None:
        return self.files.get(DAEMON_JSON)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _pairs(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def parse_os_release(lines: list[str]) -> OsInfo:
    values: dict[str, str] = {}
    for key, value in _pairs(lines).items():
        try:
            parts = shlex.split(value)
        except ValueError:
            parts = [value]
        values[key] = parts[0] if parts else ""
    codename = values.get("VERSION_CODENAME") or values.get("UBUNTU_CODENAME", "")
    return OsInfo(
        id=values.get("ID", "").lower(),
        id_like=tuple(values.get("ID_LIKE", "").lower().split()),
        version_id=values.get("VERSION_ID", ""),
        codename=codename,
    )


def detect_init(values: dict[str, str]) -> InitSystem:
    """systemd when PID 1 is systemd or /run/systemd/system exists (systemd's own
    test); sysvinit when PID 1 is ``init`` reading /etc/inittab; else none."""
    comm = values.get("comm", "")
    if comm == "systemd" or values.get("systemd_dir") == "1":
        return "systemd"
    if comm == "init" and values.get("inittab") == "1":
        return "sysvinit"
    return "none"


def parse_engine_state(output: str | Iterable[str]) -> EngineState:
    """Parse the output of ``FACT_SCRIPT`` (text, or its lines)."""
    text = output if isinstance(output, str) else "\n".join(line.rstrip("\n") for line in output)
    return engine_state_from_sections(split_sections(text))


def engine_state_from_sections(parts: Mapping[str, Section]) -> EngineState:
    """The engine state from the parts named in ``FACT_SECTIONS`` (others are ignored)."""
    sec = {name: _lines(part.text) for name, part in parts.items()}
    packages: dict[str, str] = {}
    for line in sec.get("packages", []):
        cols = line.split("\t")
        if len(cols) >= 3 and cols[1].strip() == "ii":
            packages[cols[0]] = cols[2].strip()
    files: dict[str, str] = {}
    certs: dict[str, str] = {}
    for line in sec.get("files", []):
        digest, _, path = line.partition("  ")
        path = path.strip()
        if path.startswith(CERTS_DIR + "/") and path.endswith("/ca.crt"):
            certs[path[len(CERTS_DIR) + 1 : -len("/ca.crt")]] = digest
        elif path:
            files[path] = digest
    procs = _pairs(sec.get("procs", []))
    enabled = _pairs(sec.get("enabled", []))
    group_lines = sec.get("group", [])
    members: tuple[str, ...] | None = None
    if group_lines:
        raw = group_lines[0].split(":")[3] if group_lines[0].count(":") >= 3 else ""
        members = tuple(sorted(m for m in raw.split(",") if m))
    return EngineState(
        os=parse_os_release(sec.get("os", [])),
        init=detect_init(_pairs(sec.get("init", []))),
        packages=packages,
        files=files,
        certs=certs,
        dockerd_pid=_pid(procs.get("dockerd")),
        containerd_pid=_pid(procs.get("containerd")),
        socket=procs.get("socket") == "1",
        enabled={unit: state == "enabled" for unit, state in enabled.items()},
        docker_group=members,
        added_users=_names(sec.get("addedusers", []), USER_RE),
        added_registries=_names(sec.get("addedcas", []), REGISTRY_RE),
    )


def _names(lines: list[str], pattern: re.Pattern[str]) -> tuple[str, ...]:
    """Recorded names; anything else in the file is ignored, never acted on."""
    return tuple(sorted({n for n in (line.strip() for line in lines) if pattern.match(n)}))


def _pid(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
