"""The plan's data: actions per host, their text form and their JSON form.

``str(plan)`` is what people read (and the golden text in tests);
``plan.to_json()`` is the stable machine form described in docs/plan-json.md.
The text shows control characters escaped (:func:`fleetform.escape.escape_control`),
so a value cannot rewrite the terminal; the JSON keeps the exact text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fleetform.escape import escape_control
from fleetform.plan.desired import DesiredContainer, DesiredImage, DesiredNetwork, DesiredVolume
from fleetform.plan.diff import FieldChange

JSON_FORMAT_VERSION = 1

ActionKind = Literal[
    "create",  # container
    "recreate",
    "update",
    "start",
    "stop",
    "remove",
    "create-network",
    "create-volume",
    "remove-volume",
    "pull",
    "load",
    "build",
]
ResourceType = Literal["container", "network", "volume", "image"]

_RESOURCE: dict[str, ResourceType] = {
    "create-network": "network",
    "create-volume": "volume",
    "remove-volume": "volume",
    "pull": "image",
    "load": "image",
    "build": "image",
}
_SYMBOL = {
    "create": "+",
    "recreate": "-/+",
    "update": "~",
    "start": "~",
    "stop": "~",
    "remove": "-",
    "create-network": "+",
    "create-volume": "+",
    "remove-volume": "-",
    "pull": "+",
    "load": "+",
    "build": "+",
}
_VERB = {
    "create-network": "create",
    "create-volume": "create",
    "remove-volume": "remove",
}
#: kind -> summary bucket of the "Plan: ..." line.
_BUCKET = {
    "create": "create",
    "create-network": "create",
    "create-volume": "create",
    "pull": "create",
    "load": "create",
    "build": "create",
    "recreate": "recreate",
    "update": "update",
    "start": "update",
    "stop": "update",
    "remove": "remove",
    "remove-volume": "remove",
}


@dataclass(frozen=True)
class Action:
    """One step of a host's plan, with what the command builder needs to carry it out."""

    host: str
    kind: ActionKind
    resource: str  # container / network / volume name, or image reference
    reason: str
    changes: tuple[FieldChange, ...] = ()
    container: DesiredContainer | None = None  # create, recreate, update, start, stop
    #: id of the observed container this acts on (recreate, update, start, stop, remove):
    #: commands address it by id, so a container replaced since the plan is left alone.
    container_id: str | None = None
    #: the observed container's stack label, re-checked on the host before removal.
    owner_stack: str | None = None
    stop_timeout: int | None = None  # seconds, for stop / remove / recreate
    #: recreate: (target, volume name) of the old container's anonymous
    #: volumes that the new container mounts (fleetform.plan.carry).
    carried_volumes: tuple[tuple[str, str], ...] = ()
    network: DesiredNetwork | None = None
    volume: DesiredVolume | None = None
    image: DesiredImage | None = None

    @property
    def resource_type(self) -> ResourceType:
        return _RESOURCE.get(self.kind, "container")

    def headline(self) -> str:
        verb = _VERB.get(self.kind, self.kind)
        return f"{_SYMBOL[self.kind]} {verb} {self.resource_type} {self.resource}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "resource_type": self.resource_type,
            "resource": self.resource,
            "reason": self.reason,
            "changes": [
                {"path": c.path, "old": c.old, "new": c.new, "text": str(c)} for c in self.changes
            ],
        }


@dataclass(frozen=True)
class HostPlan:
    host: str
    actions: tuple[Action, ...] = ()
    errors: tuple[str, ...] = ()  # a host with errors must not be applied
    warnings: tuple[str, ...] = ()
    #: what the engine deploy will change first (fleetform.engine.changes)
    engine: tuple[str, ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.actions or self.engine)

    def lines(self) -> list[str]:
        busy = self.actions or self.errors or self.engine
        out = [f"{self.host}:" if busy else f"{self.host}: no changes"]
        out += [f"  ~ engine: {e}" for e in self.engine]
        for action in self.actions:
            out.append(f"  {action.headline()}")
            details = [str(c) for c in action.changes] or [action.reason]
            out += [f"      {d}" for d in details]
        out += [f"  ! error: {e}" for e in self.errors]
        out += [f"  warning: {w}" for w in self.warnings]
        return [escape_control(line) for line in out]

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "observed": True,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "engine": list(self.engine),
            "actions": [a.to_json() for a in self.actions],
        }


@dataclass(frozen=True)
class Plan:
    hosts: tuple[HostPlan, ...] = ()
    #: hosts that could not be observed (unreachable, no Docker...): host -> reason
    host_errors: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_hosts(
        cls, host_plans: Iterable[HostPlan], errors: Mapping[str, str] | None = None
    ) -> Plan:
        return cls(
            hosts=tuple(sorted(host_plans, key=lambda h: h.host)),
            host_errors=tuple(sorted((errors or {}).items())),
        )

    @property
    def has_changes(self) -> bool:
        return any(h.has_changes for h in self.hosts)

    @property
    def errors(self) -> tuple[tuple[str, str], ...]:
        """(host, message) for every host that cannot be applied as planned."""
        planned = tuple((h.host, e) for h in self.hosts for e in h.errors)
        return tuple(sorted(self.host_errors + planned))

    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(("create", "recreate", "update", "remove"), 0)
        for host in self.hosts:
            for action in host.actions:
                counts[_BUCKET[action.kind]] += 1
        return counts

    def __str__(self) -> str:
        out: list[str] = []
        for host in self.hosts:
            out += host.lines()
        out += [escape_control(f"{host}: ! error: {message}") for host, message in self.host_errors]
        if out:
            out.append("")
        if self.has_changes:
            c = self.summary()
            engine = sum(len(h.engine) for h in self.hosts)
            extra = f", {engine} engine change{'s' if engine != 1 else ''}" if engine else ""
            out.append(
                f"Plan: {c['create']} to create, {c['recreate']} to recreate, "
                f"{c['update']} to update, {c['remove']} to remove{extra}."
            )
        else:
            n = len(self.hosts)
            hosts = "1 host matches" if n == 1 else f"{n} hosts match"
            out.append(f"No changes. {hosts} the stacks.")
        if self.errors:
            out.append(f"Errors on {len({h for h, _ in self.errors})} host(s): not applied there.")
        return "\n".join(out) + "\n"

    def to_json(self) -> dict[str, Any]:
        hosts = [h.to_json() for h in self.hosts]
        hosts += [
            {
                "host": h,
                "observed": False,
                "errors": [m],
                "warnings": [],
                "engine": [],
                "actions": [],
            }
            for h, m in self.host_errors
        ]
        return {
            "format_version": JSON_FORMAT_VERSION,
            "has_changes": self.has_changes,
            "summary": self.summary(),
            "errors": [{"host": h, "message": m} for h, m in self.errors],
            "hosts": sorted(hosts, key=lambda h: h["host"]),
        }
