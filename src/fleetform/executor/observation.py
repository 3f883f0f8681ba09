"""Observe every targeted host in one round trip each, and plan it.

One shell command per host prints two documents: the engine state (the
engine deploy's own fact script) and the Docker state (``observe_command``).
From them come the host's plan: engine changes first, then container,
network, volume and image actions from the pure ``plan_host``.

A host whose Docker engine is missing or down is planned against an empty
host (apply installs and starts the engine before anything else) and listed
in ``engine_pending``, so apply observes and plans it again once the engine
runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from fleetform.engine.changes import engine_changes
from fleetform.engine.settings import EngineSettings
from fleetform.engine.state import FACT_SCRIPT, parse_engine_state
from fleetform.inventory import TargetHost
from fleetform.model import Stack
from fleetform.observe import ObserveError, observe_command, parse_observed
from fleetform.plan import HostPlan, Plan, plan_host
from fleetform.plan.desired import HostDesired, desired_for_host
from fleetform.plan.observed import Observed

_SPLIT = "@@fleetform-docker-state@@"


@dataclass
class Observation:
    desired: dict[str, HostDesired] = field(default_factory=dict)
    plans: dict[str, HostPlan] = field(default_factory=dict)
    #: hosts that could not be observed -> why
    errors: dict[str, str] = field(default_factory=dict)
    engine_pending: set[str] = field(default_factory=set)

    def plan(self, failures: Mapping[str, str]) -> Plan:
        return Plan.from_hosts(self.plans.values(), errors={**failures, **self.errors})


def host_command(desired: HostDesired) -> str:
    """The one command that observes a host: engine state, then Docker state."""
    split = f"printf '\\n%s\\n' {_SPLIT}"
    return f"(\n{FACT_SCRIPT}\n) 2>/dev/null\n{split}\n{observe_command(desired)}"


def split_output(stdout: str) -> tuple[list[str], str]:
    head, sep, tail = stdout.partition(f"\n{_SPLIT}\n")
    if not sep:
        raise ObserveError("unexpected observation output (no Docker state section)")
    return head.splitlines(), tail


def observe_and_plan(
    session: Any,
    stacks: list[Stack],
    targets: Mapping[str, TargetHost],
    engines: Mapping[str, EngineSettings],
) -> Observation:
    obs = Observation()
    for name, target in targets.items():
        obs.desired[name] = desired_for_host(stacks, name, target.groups | {name})
    results = session.run_everywhere(lambda host: host_command(obs.desired[host.name]))
    for name, result in results.items():
        if not result.ok and not result.stdout.strip():
            obs.errors[name] = f"cannot observe the host: {result.stderr.strip()[-500:]}"
            continue
        try:
            engine_lines, docker_doc = split_output(result.stdout)
            engine = engine_changes(engines[name], parse_engine_state(engine_lines))
        except (ObserveError, ValueError) as exc:
            obs.errors[name] = str(exc)
            continue
        try:
            hp = plan_host(obs.desired[name], parse_observed(docker_doc))
        except ObserveError as exc:
            if not engine_missing(str(exc)):
                obs.errors[name] = str(exc)
                continue
            obs.engine_pending.add(name)
            hp = plan_host(obs.desired[name], Observed())
            note = f"{exc}: containers are planned against an empty host"
            hp = replace(hp, warnings=(*hp.warnings, note))
        obs.plans[name] = replace(hp, engine=engine)
    return obs


def engine_missing(message: str) -> bool:
    """Whether an observation error means dockerd is not installed or not running yet."""
    return "not installed" in message or "does not answer" in message
