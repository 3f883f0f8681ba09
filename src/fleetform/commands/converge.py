"""``fleetform plan`` and ``fleetform apply``.

Flow: load stacks -> load inventory -> connect -> observe every host in one
round trip (in parallel) -> ``plan()`` (pure) -> print -> [apply: confirm ->
engine deploy + containers operation through pyinfra -> per-host summary].

Exit codes: 0 success or no changes; 1 error (bad input, unreachable or failed
host); 2 changes pending (``plan --detailed-exitcode`` only).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from fleetform.commands.common import (
    Output,
    load_stacks_or_report,
    load_targets_or_report,
)
from fleetform.inventory import LoadedInventory, TargetHost
from fleetform.model import Stack


@dataclass
class Observation:
    """What plan() needs, per host; hosts that could not be observed are in errors."""

    desired: dict[str, Any] = field(default_factory=dict)  # host -> HostDesired
    plans: dict[str, Any] = field(default_factory=dict)  # host -> HostPlan
    errors: dict[str, str] = field(default_factory=dict)  # host -> why
    #: hosts whose Docker engine did not answer: planned against an empty
    #: host, observed again after the engine deploy (apply only)
    engine_pending: set[str] = field(default_factory=set)


def observe_and_plan(
    session: Any,
    stacks: list[Stack],
    targets: dict[str, TargetHost],
    *,
    engine_will_run: bool = False,
) -> Observation:
    """Observe every connected host in one round trip each, and plan it.

    With ``engine_will_run`` (apply), a host whose Docker engine is missing
    or down is planned against an empty host and flagged for re-planning
    once the engine deploy has run; for ``plan`` it is an error.
    """
    from dataclasses import replace

    from fleetform.observe import ObserveError, observe_command, parse_observed
    from fleetform.plan import plan_host
    from fleetform.plan.desired import desired_for_host
    from fleetform.plan.observed import Observed

    obs = Observation()
    for name, target in targets.items():
        obs.desired[name] = desired_for_host(stacks, name, target.groups | {name})
    results = session.run_everywhere(lambda host: observe_command(obs.desired[host.name]))
    for name, result in results.items():
        if not result.ok and not result.stdout.strip():
            obs.errors[name] = f"cannot observe the host: {result.stderr.strip()[-500:]}"
            continue
        try:
            observed = parse_observed(result.stdout)
        except ObserveError as exc:
            if not engine_will_run or not _engine_missing(str(exc)):
                obs.errors[name] = str(exc)
                continue
            obs.engine_pending.add(name)
            hp = plan_host(obs.desired[name], Observed())
            note = f"{exc}: planned against an empty host; planned again after the engine deploy"
            obs.plans[name] = replace(hp, warnings=(*hp.warnings, note))
            continue
        obs.plans[name] = plan_host(obs.desired[name], observed)
    return obs


def _engine_missing(message: str) -> bool:
    return "not installed" in message or "does not answer" in message


def _build_plan(obs: Observation, failures: dict[str, str]) -> Any:
    from fleetform.plan import Plan

    errors = {**failures, **obs.errors}
    return Plan.from_hosts(list(obs.plans.values()), errors=errors)


def _start(args: argparse.Namespace, out: Output) -> tuple[list[Stack], LoadedInventory] | None:
    stacks = load_stacks_or_report(args.stacks, out)
    if stacks is None:
        return None
    loaded = load_targets_or_report(args.inventory, args.limit, out)
    if loaded is None:
        return None
    return stacks, loaded


def run_plan(args: argparse.Namespace) -> int:
    out = Output(json_mode=args.json)
    started = _start(args, out)
    if started is None:
        return 1
    stacks, loaded = started
    from fleetform.executor.session import Session

    session = Session(loaded)
    try:
        with out.status(f"Connecting to {len(loaded.hosts)} host(s)"):
            session.connect()
        with out.status("Observing hosts"):
            obs = observe_and_plan(session, stacks, {t.name: t for t in loaded.targets})
    finally:
        session.disconnect()
    plan = _build_plan(obs, session.failures)
    if args.json:
        out.json(plan.to_json())
    else:
        out.plan(plan)
    if plan.errors:
        return 1
    if args.detailed_exitcode and plan.has_changes:
        return 2
    return 0


def _confirm(out: Output) -> bool:
    if not sys.stdin.isatty():
        return True
    answer = input("Apply these changes? Only 'yes' is accepted: ")
    return answer.strip() == "yes"


def run_apply(args: argparse.Namespace) -> int:
    out = Output(json_mode=args.json)
    started = _start(args, out)
    if started is None:
        return 1
    stacks, loaded = started
    targets = {t.name: t for t in loaded.targets}
    try:
        engines = _engine_settings(stacks, targets)
    except ValueError as exc:
        out.error(str(exc))
        return 1

    from fleetform.executor.session import Session

    session = Session(loaded)
    t0 = time.monotonic()
    try:
        with out.status(f"Connecting to {len(loaded.hosts)} host(s)"):
            session.connect()
        with out.status("Observing hosts"):
            obs = observe_and_plan(session, stacks, targets, engine_will_run=True)
        plan = _build_plan(obs, session.failures)
        if not args.json:
            out.plan(plan)
        if plan.has_changes and not args.yes and not args.json and not _confirm(out):
            out.info("Apply cancelled; nothing was changed.")
            return 1
        _add_operations(session, engines, obs)
        with out.progress(session, "Applying"):
            session.run()
        summary = _summarise(session, obs, plan, time.monotonic() - t0)
    finally:
        session.disconnect()

    if args.json:
        out.json({"version": 1, "plan": plan.to_json(), **summary})
    else:
        out.summary(summary)
    ok = bool(summary["ok"])
    if ok and getattr(args, "verify", False):
        from fleetform.verify.command import run_verify

        return run_verify(args)
    return 0 if ok else 1


def _engine_settings(stacks: list[Stack], targets: dict[str, TargetHost]) -> dict[str, Any]:
    from fleetform.engine.settings import engine_for_host

    return {name: engine_for_host(stacks, name, t.groups | {name}) for name, t in targets.items()}


def _add_operations(session: Any, engines: dict[str, Any], obs: Observation) -> None:
    from fleetform.engine.deploy import docker_engine_by_host
    from fleetform.executor.operations import containers

    # The same two steps on every host, in the same order: pyinfra's API
    # identifies operations by position.  Hosts whose observation failed for
    # a reason other than a missing engine get no container plan and are
    # reported as failed.
    session.add_deploy(docker_engine_by_host, engines)
    session.add_op(
        containers,
        name="fleetform containers",
        plans={h: p for h, p in obs.plans.items() if not p.errors},
        desired=obs.desired,
        replan=sorted(obs.engine_pending),
    )


def _summarise(session: Any, obs: Observation, plan: Any, seconds: float) -> dict[str, Any]:
    hosts = []
    for host in session.loaded.hosts:
        name = host.name
        hp = obs.plans.get(name)
        planned_errors = "; ".join(hp.errors) if hp is not None and hp.errors else None
        error = session.failures.get(name) or obs.errors.get(name) or planned_errors
        metas = session.op_results(host)
        changed = sum(1 for m in metas if m.is_complete() and m.did_change())
        hosts.append(
            {
                "host": name,
                "ok": error is None,
                "changed_operations": changed,
                "actions": len(hp.actions) if hp is not None else 0,
                "error": error,
            }
        )
    return {
        "ok": all(h["ok"] for h in hosts),
        "seconds": round(seconds, 2),
        "hosts": hosts,
    }


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True)
