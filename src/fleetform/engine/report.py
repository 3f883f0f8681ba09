"""The fleet's engine report: every host's layers, the version sprawl, the findings.

Pure: built from :class:`~fleetform.engine.layers.HostLayers` and the
assessments of :mod:`fleetform.engine.advisories`; ``fleetform engines``
renders it (a tree per host, a summary table) or prints :meth:`as_json`.

Example::

    >>> from fleetform.engine.layers import HostLayers, Component
    >>> a = HostLayers("a", "ok", components={"runc": Component("runc", "1.1.5+ds1")})
    >>> b = HostLayers("b", "ok", components={"runc": Component("runc", "1.2.8")})
    >>> EngineReport.build([a, b], ()).sprawl()["runc"]
    {'1.1.5+ds1': ['a'], '1.2.8': ['b']}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fleetform.engine.advisories import Advisory, Assessment, assess, severity_at_least
from fleetform.engine.layers import COMPONENTS, HostLayers

FORMAT_VERSION = 1


@dataclass(frozen=True)
class EngineReport:
    hosts: tuple[HostLayers, ...]
    assessments: tuple[Assessment, ...]
    #: where the advisories came from (the shipped file, or --advisories FILE)
    advisories_from: str = "shipped"

    @classmethod
    def build(
        cls, hosts: Iterable[HostLayers], advisories: Sequence[Advisory], source: str = "shipped"
    ) -> EngineReport:
        ordered = tuple(sorted(hosts, key=lambda h: h.host))
        found = tuple(a for h in ordered for a in assess(h, advisories))
        return cls(ordered, found, source)

    @property
    def findings(self) -> tuple[Assessment, ...]:
        """The advisories a host is affected by."""
        return tuple(a for a in self.assessments if a.status == "affected")

    def for_host(self, host: str) -> tuple[Assessment, ...]:
        return tuple(a for a in self.assessments if a.host == host)

    def findings_at_least(self, severity: str) -> tuple[Assessment, ...]:
        return tuple(f for f in self.findings if severity_at_least(f.advisory.severity, severity))

    @property
    def unreachable(self) -> tuple[HostLayers, ...]:
        return tuple(h for h in self.hosts if h.status == "unreachable")

    def sprawl(self) -> dict[str, dict[str, list[str]]]:
        """component -> version -> the hosts running it (hosts without it: ``not installed``)."""
        out: dict[str, dict[str, list[str]]] = {}
        for c in COMPONENTS:
            groups: dict[str, list[str]] = {}
            for h in self.hosts:
                if h.status == "unreachable":
                    continue
                comp = h.components.get(c)
                key = "not installed" if comp is None else (comp.version or "unknown")
                groups.setdefault(key, []).append(h.host)
            out[c] = dict(sorted(groups.items()))
        return out

    def as_json(self, fail_on: str | None = None) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "advisories": self.advisories_from,
            "hosts": [
                {**h.as_json(), "assessments": [a.as_json() for a in self.for_host(h.host)]}
                for h in self.hosts
            ],
            "summary": self.sprawl(),
            "findings": [a.as_json() for a in self.findings],
            "fail_on": fail_on,
            "failing_findings": len(self.findings_at_least(fail_on)) if fail_on else 0,
        }
