"""What planning one host finds, gathered in one place: actions by phase, errors, warnings.

Every part of the planner (containers, networks, volumes, images, ownership)
adds to one :class:`Findings`, which turns into the :class:`HostPlan`; a new
kind of finding is added here, not threaded through every planning function.

The phases are the order in which apply runs the actions:

- ``prepare``: networks, volumes and images the containers need;
- ``release``: container removals and stops, which free names and ports a new
  container may need (put in reverse ``depends_on`` order by :meth:`host_plan`);
- ``converge``: creates, recreates, updates and starts, in ``depends_on`` order;
- ``cleanup``: volume removals, once the containers that used them are gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from fleetform.plan.actions import Action, HostPlan

Phase = Literal["prepare", "release", "converge", "cleanup"]
PHASES: tuple[Phase, ...] = ("prepare", "release", "converge", "cleanup")


@dataclass
class Findings:
    host: str
    actions: dict[Phase, list[Action]] = field(default_factory=lambda: {p: [] for p in PHASES})
    #: a host with errors is not applied
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, phase: Phase, *actions: Action) -> None:
        self.actions[phase].extend(actions)

    def error(self, message: str) -> None:
        self.errors.append(message)

    def warn(self, *messages: str) -> None:
        self.warnings.extend(messages)

    def host_plan(self, topology: Sequence[str]) -> HostPlan:
        """The host's plan; ``topology``: container names in ``depends_on`` order."""
        # Removals and stops: dependants before their dependencies (reverse
        # depends_on order), orphans (not in the topology) by name before them.
        rank = {name: i for i, name in enumerate(reversed(topology))}
        release = sorted(
            self.actions["release"],
            key=lambda a: (a.resource in rank, rank.get(a.resource, 0), a.resource),
        )
        ordered = {**self.actions, "release": release}
        return HostPlan(
            host=self.host,
            actions=tuple(a for phase in PHASES for a in ordered[phase]),
            errors=tuple(self.errors),
            warnings=tuple(self.warnings),
        )
