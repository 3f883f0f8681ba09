"""Advisories about the engine's layers, and whether a host carries each fix.

Pure.  :func:`load_advisories` reads an advisory file (the shipped
``fleetform/data/advisories.yaml`` or ``--advisories FILE``), validated by
``advisories.schema.json``; :func:`assess` tells, for one host's layers,
whether each advisory's component there is fixed or affected, and on what
evidence:

- ``package-changelog``: the installed package's own Debian changelog names
  the advisory (or an alias).  Distributions backport fixes under old
  version numbers (Debian bookworm's runc 1.1.5+ds1-1+deb12u1 carries the
  fix of CVE-2024-21626, fixed upstream in 1.1.12), so this wins.
- ``package-version``: the installed package version against the first fixed
  package version of the host's distribution release, with dpkg's ordering
  (python-debian's ``debian.debian_support.Version``).
- ``upstream-version``: the version the binary prints against the fixed
  version of its upstream release branch, with PEP 440 ordering from
  ``packaging`` (so 1.4.0-rc.2 < 1.4.0-rc.3 < 1.4.0).

Example::

    >>> advisories = load_advisories()
    >>> [a.id for a in advisories][:2]
    ['CVE-2024-21626', 'CVE-2025-31133']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml
from debian.debian_support import Version as DebVersion
from packaging.version import InvalidVersion, Version

from fleetform.engine.layers import Component, HostLayers

Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
Status = Literal["affected", "fixed", "not-affected", "unknown"]
EvidenceKind = Literal["package-changelog", "package-version", "upstream-version"]

SHIPPED = "advisories.yaml"
SCHEMA = "advisories.schema.json"


class AdvisoryFileError(ValueError):
    """The advisory file cannot be used; the message names the file and the place."""


@dataclass(frozen=True)
class FixedPackage:
    package: str
    version: str


@dataclass(frozen=True)
class Advisory:
    id: str
    component: str
    severity: Severity
    summary: str
    sources: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    introduced: str | None = None
    #: upstream release branch ("1.2") -> first fixed version there
    fixed: Mapping[str, str] = field(default_factory=dict)
    #: (distribution id, release codename) -> the fixed package
    packages: Mapping[tuple[str, str], FixedPackage] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)


@dataclass(frozen=True)
class Evidence:
    kind: EvidenceKind
    #: fixed or affected, on this evidence alone
    says: Literal["fixed", "affected", "not-affected"]
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "says": self.says, "detail": self.detail}


@dataclass(frozen=True)
class Assessment:
    """One advisory on one host: the verdict and the evidence that decided it."""

    host: str
    advisory: Advisory
    status: Status
    evidence: tuple[Evidence, ...]

    @property
    def decided_by(self) -> Evidence | None:
        return self.evidence[0] if self.evidence else None

    def as_json(self) -> dict[str, Any]:
        a = self.advisory
        return {
            "host": self.host,
            "id": a.id,
            "component": a.component,
            "severity": a.severity,
            "summary": a.summary,
            "status": self.status,
            "evidence": [e.as_json() for e in self.evidence],
        }


def severity_at_least(severity: str, minimum: str) -> bool:
    order: tuple[str, ...] = SEVERITIES
    return order.index(severity) >= order.index(minimum)


# --- loading ---------------------------------------------------------------


def _schema() -> dict[str, Any]:
    import json

    text = resources.files("fleetform.data").joinpath(SCHEMA).read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_advisories(path: str | Path | None = None) -> tuple[Advisory, ...]:
    """The advisories of ``path`` (default: the shipped file), validated."""
    if path is None:
        where = f"(shipped) {SHIPPED}"
        text = resources.files("fleetform.data").joinpath(SHIPPED).read_text()
    else:
        where = str(path)
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise AdvisoryFileError(f"{where}: cannot read: {exc.strerror or exc}") from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AdvisoryFileError(f"{where}: not valid YAML: {exc}") from exc
    errors = sorted(
        jsonschema.Draft202012Validator(_schema()).iter_errors(doc), key=lambda e: list(e.path)
    )
    if errors:
        lines = [f"{where}: {_where(e.absolute_path)}: {e.message}" for e in errors[:10]]
        raise AdvisoryFileError("\n".join(lines))
    return _advisories(where, doc["advisories"])


def _where(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _advisories(where: str, items: list[dict[str, Any]]) -> tuple[Advisory, ...]:
    seen: set[str] = set()
    out = []
    for n, item in enumerate(items):
        if item["id"] in seen:
            raise AdvisoryFileError(f"{where}: advisories[{n}].id: {item['id']} is listed twice")
        seen.add(item["id"])
        packages = {
            (dist, release): FixedPackage(p["package"], p["version"])
            for dist, releases in (item.get("packages") or {}).items()
            for release, p in releases.items()
        }
        out.append(
            Advisory(
                id=item["id"],
                component=item["component"],
                severity=item["severity"],
                summary=" ".join(item["summary"].split()),
                sources=tuple(item["sources"]),
                aliases=tuple(item.get("aliases") or ()),
                introduced=str(item["introduced"]) if item.get("introduced") else None,
                fixed={str(k): str(v) for k, v in (item.get("fixed") or {}).items()},
                packages=packages,
            )
        )
    return tuple(out)


# --- matching ---------------------------------------------------------------

_UPSTREAM = re.compile(r"^v?(\d+(?:\.\d+)*)(?:[-~.]?(alpha|beta|rc)\.?(\d*))?")


def upstream_version(text: str) -> Version | None:
    """The upstream version in what a binary or a package says, or None.

    Debian's repacking suffixes (``+ds1``, ``~ds1``, ``+dfsg1``) are dropped;
    a pre-release stays one, in either spelling.

    >>> upstream_version("1.1.5+ds1"), upstream_version("1.0.0~rc93+ds1")
    (<Version('1.1.5')>, <Version('1.0.0rc93')>)
    >>> upstream_version("1.4.0-rc.2") < upstream_version("1.4.0-rc.3") < upstream_version("1.4.0")
    True
    """
    m = _UPSTREAM.match(text.strip())
    if not m:
        return None
    spelled = m.group(1) + (f"{m.group(2)}{m.group(3) or 0}" if m.group(2) else "")
    try:
        return Version(spelled)
    except InvalidVersion:
        return None


def _upstream_evidence(advisory: Advisory, version_text: str) -> Evidence | None:
    have = upstream_version(version_text)
    if have is None:
        return None
    if advisory.introduced:
        first = upstream_version(advisory.introduced)
        if first is not None and have < first:
            detail = f"{version_text} is older than {advisory.introduced}, where it was introduced"
            return Evidence("upstream-version", "not-affected", detail)
    branch = f"{have.major}.{have.minor}"
    fixes = {b: (v, upstream_version(v)) for b, v in advisory.fixed.items()}
    if branch in fixes:
        text, fix = fixes[branch]
        if fix is not None and have >= fix:
            return Evidence("upstream-version", "fixed", f"{version_text} >= {text} ({branch}.x)")
        return Evidence("upstream-version", "affected", f"{version_text} < {text} ({branch}.x)")
    known = [f for _, f in fixes.values() if f is not None]
    listed = ", ".join(sorted(advisory.fixed.values()))
    if known and all(have > f for f in known):
        return Evidence(
            "upstream-version", "fixed", f"{version_text} is newer than every fix ({listed})"
        )
    return Evidence(
        "upstream-version", "affected", f"{version_text}: no fix on the {branch} branch ({listed})"
    )


def _changelog_evidence(advisory: Advisory, component: Component) -> Evidence | None:
    names = set(advisory.names)
    for entry in component.changelog:
        named = names.intersection(entry.names)
        if named:
            pkg = component.package.name if component.package else "the package"
            detail = (
                f"{pkg} changelog entry {entry.version} ({entry.distribution}) "
                f"names {', '.join(sorted(named))}"
            )
            return Evidence("package-changelog", "fixed", detail)
    return None


def _package_evidence(
    advisory: Advisory, host: HostLayers, component: Component
) -> Evidence | None:
    pkg = component.package
    if pkg is None or pkg.source != "distribution" or not pkg.version:
        return None
    fixed = advisory.packages.get((host.os_id, host.codename))
    if fixed is None or fixed.package != pkg.name:
        return None
    release = f"{host.os_id} {host.codename}"
    if DebVersion(pkg.version) >= DebVersion(fixed.version):
        return Evidence(
            "package-version", "fixed", f"{pkg.name} {pkg.version} >= {fixed.version} ({release})"
        )
    return Evidence(
        "package-version", "affected", f"{pkg.name} {pkg.version} < {fixed.version} ({release})"
    )


def assess_one(host: HostLayers, advisory: Advisory) -> Assessment | None:
    """The verdict on one advisory; None when the host has no such component.

    The installed package's changelog naming the advisory wins, then the
    distribution's fixed package version, then the upstream version; every
    piece of evidence found is kept, the deciding one first.
    """
    component = host.components.get(advisory.component)
    if component is None:
        return None
    found = [
        e
        for e in (
            _changelog_evidence(advisory, component),
            _package_evidence(advisory, host, component),
            _upstream_evidence(advisory, component.version or ""),
        )
        if e is not None
    ]
    pkg = component.package
    if component.changelog_read and pkg and found and found[0].kind == "upstream-version":
        # say that the backport check was made, and found nothing
        note = f"; the {pkg.name} {pkg.version} changelog does not name {advisory.id}"
        found[0] = replace(found[0], detail=found[0].detail + note)
    if not found:
        return Assessment(host.host, advisory, "unknown", ())
    return Assessment(host.host, advisory, found[0].says, tuple(found))


def assess(host: HostLayers, advisories: Iterable[Advisory]) -> tuple[Assessment, ...]:
    """Every advisory whose component the host has, in file order."""
    out = (assess_one(host, a) for a in advisories)
    return tuple(a for a in out if a is not None)
