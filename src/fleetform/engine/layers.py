"""The engine's layers on a host: docker-cli -> dockerd -> containerd -> shim -> runc.

Pure: :func:`parse_layers` turns the output of the one host script of
:mod:`fleetform.engine.layers_script` (each layer's binary, the version it
prints, the package that installed it and that package's changelog lines
naming the advisories checked; ``docker version`` / ``docker info``; the
kernel; the shim processes) into :class:`HostLayers`.

The versions come from the binaries on disk (what the next container start
runs); ``docker version`` adds what the running daemon reports.

Example::

    >>> from pathlib import Path
    >>> text = Path("tests/engine/data/layers/control-docker-io.txt").read_text()
    >>> host = parse_layers("vm", text)
    >>> host.status, host.component("runc").version, host.component("runc").package.name
    ('ok', '1.1.5+ds1', 'runc')
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fleetform.engine.state import parse_os_release
from fleetform.observe.sections import Section, split_sections

#: the components, in chain order, with exactly the names the JSON output uses
COMPONENTS = ("docker-cli", "dockerd", "containerd", "containerd-shim-runc-v2", "runc")
#: packages Docker Inc. publishes (download.docker.com); any other package is the
#: distribution's
DOCKER_CE_PACKAGES = frozenset(
    {"docker-ce", "docker-ce-cli", "containerd.io", "docker-ce-rootless-extras"}
)

PackageSource = Literal["distribution", "docker-ce", "unpackaged"]
#: ok: the engine answered; engine-down: installed but dockerd does not answer;
#: no-engine: no dockerd binary; unreachable: the host itself did not answer
HostStatus = Literal["ok", "engine-down", "no-engine", "unreachable"]


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    source: PackageSource

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "source": self.source}


@dataclass(frozen=True)
class ChangelogEntry:
    """One entry of a package's Debian changelog: its version, distribution, and
    the advisory ids its text names."""

    version: str
    distribution: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class Component:
    name: str
    version: str | None = None
    commit: str | None = None
    path: str | None = None
    package: Package | None = None
    #: the owning package's changelog entries that name an advisory id (newest first)
    changelog: tuple[ChangelogEntry, ...] = ()
    #: whether the owning package's Debian changelog was there to read
    changelog_read: bool = False
    #: the binary's own words when its version could not be read
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "installed": self.path is not None,
            "version": self.version,
            "commit": self.commit,
            "path": self.path,
            "package": self.package.as_json() if self.package else None,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class HostLayers:
    host: str
    status: HostStatus
    error: str | None = None
    components: Mapping[str, Component] = field(default_factory=dict)
    kernel: str | None = None
    #: os-release VERSION_CODENAME (bookworm): keys the per-release fixed package versions
    codename: str = ""
    os_id: str = ""
    cgroup_version: str | None = None
    cgroup_driver: str | None = None
    storage_driver: str | None = None
    security_options: tuple[str, ...] = ()
    rootless: bool = False
    userns: bool = False
    default_runtime: str | None = None
    runtimes: tuple[str, ...] = ()
    running_containers: int | None = None
    shims: int | None = None
    #: what the running daemon reports (``docker version``), component -> version
    running_versions: Mapping[str, str] = field(default_factory=dict)

    def component(self, name: str) -> Component:
        return self.components.get(name) or Component(name)

    def as_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "status": self.status,
            "error": self.error,
            "components": {c: self.component(c).as_json() for c in COMPONENTS},
            "kernel": self.kernel,
            "os": {"id": self.os_id, "codename": self.codename},
            "cgroup": {"version": self.cgroup_version, "driver": self.cgroup_driver},
            "storage_driver": self.storage_driver,
            "security": {
                "options": list(self.security_options),
                "seccomp": _has(self.security_options, "seccomp"),
                "apparmor": _has(self.security_options, "apparmor"),
                "selinux": _has(self.security_options, "selinux"),
                "userns": self.userns,
                "rootless": self.rootless,
            },
            "default_runtime": self.default_runtime,
            "runtimes": list(self.runtimes),
            "running_containers": self.running_containers,
            "shims": self.shims,
            "running_versions": dict(self.running_versions),
        }


def _has(options: Iterable[str], name: str) -> bool:
    return any(o == f"name={name}" or o.startswith(f"name={name},") for o in options)


def unreachable(host: str, error: str) -> HostLayers:
    return HostLayers(host, "unreachable", error=error)


def package_source(name: str | None) -> PackageSource:
    if not name:
        return "unpackaged"
    return "docker-ce" if name in DOCKER_CE_PACKAGES else "distribution"


def parse_version_output(component: str, text: str) -> tuple[str | None, str | None]:
    """(version, commit) from what the binary printed, or (None, None).

    >>> parse_version_output("runc", "runc version 1.1.5+ds1\\ncommit: 1.1.5+ds1-1+deb12u1")
    ('1.1.5+ds1', '1.1.5+ds1-1+deb12u1')
    >>> parse_version_output("dockerd", "Docker version 27.3.1, build 41ca978")
    ('27.3.1', '41ca978')
    """
    if component in ("docker-cli", "dockerd"):
        m = re.search(r"version (\S+?),? build (\S+)", text) or re.search(r"version (\S+)", text)
        if m:
            return m.group(1).rstrip(","), m.group(2) if m.lastindex == 2 else None
    elif component == "containerd":
        # "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3"
        m = re.search(r"^containerd \S+ (\S+)(?: (\S+))?", text, re.M)
        if m:
            return m.group(1), m.group(2)
    elif component == "containerd-shim-runc-v2":
        v = re.search(r"Version:\s*(\S+)", text)
        r = re.search(r"Revision:\s*(\S+)", text)
        if v:
            return v.group(1), r.group(1) if r else None
    elif component == "runc":
        v = re.search(r"runc version (\S+)", text)
        c = re.search(r"^commit: (\S+)", text, re.M)
        if v:
            return v.group(1), c.group(1) if c else None
    return None, None


def parse_changelog_lines(lines: Iterable[str]) -> tuple[ChangelogEntry, ...]:
    """Entries (header + the id lines under it) that name at least one advisory id."""
    entries: list[ChangelogEntry] = []
    version, dist = "", ""
    names: list[str] = []
    for line in lines:
        head = re.match(r"^[a-z0-9][a-z0-9.+-]* \(([^)]+)\) ([^;]+);", line)
        if head:
            if names:
                entries.append(ChangelogEntry(version, dist, tuple(dict.fromkeys(names))))
            version, dist, names = head.group(1), head.group(2).strip(), []
        else:
            names.extend(re.findall(r"[A-Z]+-\d{4}-\d+|GHSA(?:-[a-z0-9]{4}){3}", line))
    if names:
        entries.append(ChangelogEntry(version, dist, tuple(dict.fromkeys(names))))
    return tuple(entries)


def parse_component(component: str, part: Section | None) -> Component | None:
    """The component from its ``bin:`` part; None when the binary is not there."""
    if part is None or part.rc == 3:
        return None
    head, _, version_text = part.text.partition("@@version")
    values: dict[str, str] = {}
    changelog: list[str] = []
    for line in head.splitlines():
        if line.startswith("changelog: "):
            changelog.append(line[len("changelog: ") :])
        else:
            key, sep, value = line.partition("=")
            if sep:
                values[key.strip()] = value.strip()
    name = values.get("package")
    package = (
        Package(name, values.get("package_version", ""), package_source(name)) if name else None
    )
    version, commit = parse_version_output(component, version_text.strip())
    problem = None if version else (version_text.strip()[-200:] or "printed no version")
    return Component(
        component,
        version=version,
        commit=commit,
        path=values.get("path"),
        package=package or Package("", "", "unpackaged"),
        changelog=parse_changelog_lines(changelog),
        changelog_read=values.get("changelog_read") == "1",
        problem=problem,
    )


def _json(part: Section | None) -> dict[str, Any] | None:
    if part is None or part.rc != 0:
        return None
    try:
        doc = json.loads(part.text.strip().splitlines()[-1] if part.text.strip() else "")
    except (ValueError, IndexError):
        return None
    return doc if isinstance(doc, dict) else None


def parse_layers(host: str, output: str) -> HostLayers:
    """A host's layers from :func:`layers_script`'s output."""
    parts = split_sections(output)
    if "kernel" not in parts:
        return unreachable(host, "unexpected output from the host (no kernel section)")
    components: dict[str, Component] = {}
    for c in COMPONENTS:
        parsed = parse_component(c, parts.get(f"bin:{c}"))
        if parsed is not None:
            components[c] = parsed
    os = parse_os_release(parts["os"].text.splitlines()) if "os" in parts else None
    info = _json(parts.get("docker-info"))
    down_because = None
    if info is not None and not info.get("ServerVersion"):
        # a client that reached no daemon prints a document without the server's part
        down_because = "; ".join(str(e) for e in info.get("ServerErrors") or ())
        info = None
    version_doc = _json(parts.get("docker-version")) or {}
    shims = parts.get("shims")
    status: HostStatus
    error: str | None = None
    if "dockerd" not in components:
        status, error = "no-engine", "no dockerd binary on the host"
    elif info is None:
        status = "engine-down"
        why = parts.get("docker-info")
        if not down_because and why and why.text.strip():
            down_because = why.text.strip().splitlines()[-1]
        error = "the Docker engine does not answer" + (
            f": {down_because[:200]}" if down_because else ""
        )
    else:
        status = "ok"
    info = info or {}
    security = tuple(str(o) for o in info.get("SecurityOptions") or ())
    return HostLayers(
        host,
        status,
        error=error,
        components=components,
        kernel=parts["kernel"].text.strip() or None,
        codename=os.codename if os else "",
        os_id=os.id if os else "",
        cgroup_version=_str(info.get("CgroupVersion")),
        cgroup_driver=_str(info.get("CgroupDriver")),
        storage_driver=_str(info.get("Driver")),
        security_options=security,
        rootless=_has(security, "rootless"),
        userns=_has(security, "userns"),
        default_runtime=_str(info.get("DefaultRuntime")),
        runtimes=tuple(sorted(info.get("Runtimes") or {})),
        running_containers=_int(info.get("ContainersRunning")),
        shims=_int(shims.text.strip()) if shims and shims.rc == 0 else None,
        running_versions=_running_versions(version_doc),
    )


def _running_versions(doc: Mapping[str, Any]) -> dict[str, str]:
    """component -> version, as the running daemon reports them (``docker version``)."""
    names = {"Engine": "dockerd", "containerd": "containerd", "runc": "runc"}
    server = doc.get("Server") or {}
    out: dict[str, str] = {}
    for comp in server.get("Components") or ():
        name = names.get(str(comp.get("Name")))
        if name and comp.get("Version"):
            out[name] = str(comp["Version"])
    client = doc.get("Client") or {}
    if client.get("Version"):
        out["docker-cli"] = str(client["Version"])
    return out


def _str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
