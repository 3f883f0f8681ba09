"""The rollout of a plan: which container replacements run in which batch.

Pure, as the planner is: ``rollout_plan(plans)`` takes the host plans the
user saw and returns, per stack and service, the batches of recreates
(docs/rollouts.md).  A batch holds ``update_config.parallelism`` containers
counted across all hosts and replicas of the service; replicas go first
(replica 1 on every host, then replica 2), so each host keeps its other
replicas while one is replaced.  Every other action of the plan (networks,
volumes, images, creates, updates, starts, stops, removals) runs before the
batches, as one step per host (:func:`prepare_plans`).

:func:`after_batch` says what a failed batch leads to; the executor only
carries that out.

Example::

    rollout = rollout_plan(plans)
    print(rollout)  # the golden text of tests/plan/test_rollout.py
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from fleetform.model import RolloutConfig
from fleetform.plan.actions import Action, HostPlan

#: What a rollout leads to once a batch has run.
Next = Literal["next", "rollback", "pause"]


@dataclass(frozen=True)
class Unit:
    """One container replacement: a recreate on one host."""

    host: str
    action: Action

    @property
    def name(self) -> str:
        return self.action.resource

    def __str__(self) -> str:
        return f"{self.host} {self.name}"


@dataclass(frozen=True)
class ServiceRollout:
    stack: str
    service: str
    config: RolloutConfig
    rollback: RolloutConfig
    batches: tuple[tuple[Unit, ...], ...]

    @property
    def units(self) -> tuple[Unit, ...]:
        return tuple(u for batch in self.batches for u in batch)

    def lines(self) -> list[str]:
        c = self.config
        head = (
            f"stack {self.stack}, service {self.service}: {len(self.units)} container(s) in "
            f"{len(self.batches)} batch(es) ({c.order}, monitor {_secs(c.monitor)}, "
            f"delay {_secs(c.delay)}, on failure {c.failure_action}"
            f"{f' above {c.max_failure_ratio:g}' if c.max_failure_ratio else ''})"
        )
        return [head] + [
            f"  batch {i}: {', '.join(str(u) for u in batch)}"
            for i, batch in enumerate(self.batches, 1)
        ]


@dataclass(frozen=True)
class Rollout:
    services: tuple[ServiceRollout, ...] = ()

    @property
    def units(self) -> tuple[Unit, ...]:
        return tuple(u for s in self.services for u in s.units)

    def __str__(self) -> str:
        return "\n".join(line for s in self.services for line in s.lines()) or "no rollout"


def _secs(ns: int) -> str:
    return f"{ns / 1_000_000_000:g}s"


def rolls(action: Action) -> bool:
    """Whether ``action`` is replaced in a batch: a recreate of a container meant to run.

    A one-shot job (``run_once``) and a stopped service have no health to
    wait for; they are replaced with the other actions.
    """
    c = action.container
    return action.kind == "recreate" and c is not None and c.state == "running" and not c.run_once


def rollout_plan(plans: Mapping[str, HostPlan], skip: Collection[str] = ()) -> Rollout:
    """The batches of every rolled action of ``plans`` (hosts in ``skip`` apply in one step).

    Stacks in name order; services in the order of their first action in
    the plans (the planner orders a stack's services by dependency).
    """
    found: dict[tuple[str, str], list[Unit]] = {}
    for host in sorted(plans):
        hp = plans[host]
        if host in skip or hp.errors:
            continue
        for action in hp.actions:
            if rolls(action):
                c = action.container
                assert c is not None
                found.setdefault((c.stack, c.service.name), []).append(Unit(host, action))
    order = sorted(found, key=lambda key: key[0])  # stable: services keep plan order
    services = []
    for stack, service in order:
        units = sorted(found[(stack, service)], key=_replica_then_host)
        svc = units[0].action.container
        assert svc is not None
        config = svc.service.update_config
        batches = config.batches(units)
        services.append(
            ServiceRollout(stack, service, config, svc.service.rollback_config, batches)
        )
    return Rollout(tuple(services))


def _replica_then_host(unit: Unit) -> tuple[int, str]:
    c = unit.action.container
    return (c.replica if c is not None else 0, unit.host)


def prepare_plans(plans: Mapping[str, HostPlan], rollout: Rollout) -> dict[str, HostPlan]:
    """``plans`` without the rollout's actions: what runs on each host before the batches."""
    rolled = {(u.host, u.action) for u in rollout.units}
    return {
        host: replace(hp, actions=tuple(a for a in hp.actions if (host, a) not in rolled))
        for host, hp in plans.items()
    }


def after_batch(config: RolloutConfig, failed: int, attempted: int) -> Next:
    """What follows a batch, given the service's failures so far out of ``attempted``.

    >>> after_batch(RolloutConfig(), failed=1, attempted=1)
    'rollback'
    >>> after_batch(RolloutConfig(max_failure_ratio=0.5), failed=1, attempted=2)
    'next'
    """
    if failed == 0 or attempted == 0 or failed / attempted <= config.max_failure_ratio:
        return "next"
    if config.failure_action == "continue":
        return "next"
    return config.failure_action
