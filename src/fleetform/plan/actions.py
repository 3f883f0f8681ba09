"""The plan's data: actions per host, with their reasons, and their JSON form.

``plan.to_json()`` is the stable machine form described in docs/plan-json.md.
``str(plan)`` is what people read (and the golden text in tests), rendered
from this data by :mod:`fleetform.plan.render`, which the terminal output
styles by action kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fleetform.plan.desired import DesiredContainer, DesiredImage, DesiredNetwork, DesiredVolume
from fleetform.plan.diff import FieldChange
from fleetform.plan.proxy import ProxyAction
from fleetform.plan.render import host_text, plan_text

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
#: Why an action is planned, for programs (``reason`` is the text for people).
#: A closed set: each code is documented in docs/plan-json.md.
ReasonCode = Literal[
    "missing",  # create, create-network, create-volume, load, build, pull: not on the host
    "field_changed",  # recreate: a declared field differs (not only the image)
    "image_changed",  # recreate: only the image differs (reference or image id)
    "config_hash_changed",  # recreate: only the config-hash label differs
    "secret_changed",  # recreate: only mounted secrets differ (content by keyed digest)
    "unusable",  # recreate: dead, paused or being removed
    "unhealthy",  # recreate: unhealthy and should run
    "dependency_recreated",  # recreate: a `depends_on` with `restart: true` (or the
    # `network_mode: service:` peer) is recreated first
    "in_place",  # update: restart policy or resource limits
    "not_running",  # start
    "state_stopped",  # stop: the stack says state: stopped
    "state_absent",  # remove, remove-volume: the stack says state: absent
    "orphan",  # remove: the stack no longer declares it on this host
    "pull_always_digest",  # pull: the registry serves another image than the host's
    "pull_always_unverified",  # pull: the registry could not be asked (docker CLI path)
]

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
Bucket = Literal["create", "recreate", "update", "remove"]
#: kind -> summary bucket of the "Plan: ..." line (and the colour of its line).
_BUCKET: dict[str, Bucket] = {
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
    reason_code: ReasonCode
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

    @property
    def bucket(self) -> Bucket:
        return _BUCKET[self.kind]

    def headline(self) -> str:
        verb = _VERB.get(self.kind, self.kind)
        return f"{_SYMBOL[self.kind]} {verb} {self.resource_type} {self.resource}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "resource_type": self.resource_type,
            "resource": self.resource,
            "reason": self.reason,
            "reason_code": self.reason_code,
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
    #: the host proxy's changes (fleetform.plan.proxy), carried out after the containers
    proxy: tuple[ProxyAction, ...] = ()
    #: what the plan says about the host's proxy without a change (a held package)
    proxy_notes: tuple[str, ...] = ()
    #: advisories affecting the host's engine layers that engine.policy counts
    #: (docs/engine.md); shown, never a change
    advisories: tuple[str, ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.actions or self.engine or self.proxy)

    def lines(self) -> list[str]:
        """The host's part of ``str(plan)``, one string per line."""
        return host_text(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "observed": True,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "engine": list(self.engine),
            "actions": [a.to_json() for a in self.actions],
            "proxy": [a.to_json() for a in self.proxy],
            "proxy_notes": list(self.proxy_notes),
            "advisories": list(self.advisories),
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
                counts[action.bucket] += 1
            for change in host.proxy:
                counts[change.bucket] += 1
        return counts

    def __str__(self) -> str:
        return plan_text(self)

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
