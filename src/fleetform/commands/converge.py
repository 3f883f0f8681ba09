"""``fleetform plan`` and ``fleetform apply``.

Flow: load stacks -> load inventory -> connect -> observe every host in one
round trip (in parallel) -> ``plan()`` (pure) -> print -> [apply: confirm ->
engine deploy + containers operation through pyinfra -> a new revision of
each changed stack on each host that succeeded (docs/revisions.md) ->
per-host summary].

Exit codes: 0 success or no changes; 1 error (bad input, apply not approved,
unreachable or failed host, a stack locked by another run); 2 changes pending
(``plan --detailed-exitcode`` only).

apply takes the deploy lock of each stack on each host (``fleetform.runlog``)
right after connecting, before observing, so the plan it shows cannot be
changed under it by another run; it releases them on success, failure,
SIGINT and SIGTERM, and every host appends its audit lines.
"""

from __future__ import annotations

import argparse
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from fleetform.commands.common import (
    Output,
    approval_problem,
    confirm,
    load_stacks_or_report,
    lock_settings_or_report,
    lock_wait_or_report,
    on_sigterm,
    ssh_targets_or_report,
)
from fleetform.commands.rollout_report import rollout_json
from fleetform.inventory import LoadedInventory, TargetHost
from fleetform.model import Stack

if TYPE_CHECKING:
    from fleetform.executor.locking import DeployLocks
    from fleetform.executor.observation import Observation
    from fleetform.executor.rollout import RolloutResult
    from fleetform.executor.session import Session
    from fleetform.plan.rollout import Rollout


class LockBusy(Exception):
    """A stack is locked by another run on a targeted host (the message names it)."""


@dataclass
class Inputs:
    stacks: list[Stack]
    loaded: LoadedInventory
    targets: dict[str, TargetHost]
    engines: dict[str, Any]  # host -> EngineSettings


def _start(args: argparse.Namespace, out: Output) -> Inputs | None:
    """Load and check everything before any host is contacted."""
    stacks = load_stacks_or_report(args.stacks, out, args.env_file, args.profiles)
    if stacks is None:
        return None
    loaded = ssh_targets_or_report(args, out)
    if loaded is None:
        return None
    from fleetform.engine.deploy import REGISTRIES_DATA, with_host_registries
    from fleetform.engine.settings import EngineSettingsError, engine_for_host

    targets = {t.name: t for t in loaded.targets}
    engines = {}
    try:
        for host in loaded.hosts:
            settings = engine_for_host(stacks, host.name, targets[host.name].groups | {host.name})
            engines[host.name] = with_host_registries(settings, host.data.get(REGISTRIES_DATA))
    except (EngineSettingsError, ValueError) as exc:
        out.error(str(exc))
        return None
    for note in placement_notes(stacks, [h.name for h in loaded.hosts]):
        out.info(note)
    for note in unnamed_local_notes(stacks, loaded.targets):
        out.info(note)
    return Inputs(stacks, loaded, targets, engines)


def unnamed_local_notes(stacks: list[Stack], targets: list[Any]) -> list[str]:
    """A line for each stack that names hosts while ``@local`` has no inventory name:
    it cannot be selected, so nothing of it runs (``--host-name``, docs/gitops-agents.md)."""
    if not any(t.name == "@local" and t.groups <= {"@local"} for t in targets):
        return []
    return [
        f"Note: stack `{s.name}` ({s.source}) names hosts ({', '.join(s.hosts)}) and @local "
        "has no inventory name: it does not run here (give it one with --host-name NAME "
        "or FLEETFORM_HOST_NAME)."
        for s in stacks
        if s.hosts and "@local" not in s.hosts
    ]


def placement_notes(stacks: list[Stack], hosts: list[str]) -> list[str]:
    """A line for each stack that names no ``hosts``: it runs on every targeted host.

    A Compose file never names hosts, so this says where it goes before anything runs::

        Note: stack `shop` (compose.yaml) names no `hosts`: it runs on every targeted
        host (2: a, b).
    """
    shown = ", ".join(hosts)
    return [
        f"Note: stack `{s.name}` ({s.source}) names no `hosts`: it runs on every targeted "
        f"host ({len(hosts)}: {shown})."
        for s in stacks
        if not s.hosts
    ]


def _observe(
    inputs: Inputs,
    out: Output,
    lock: Callable[[Session], None] | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> tuple[Session, Observation]:
    """Connect, run ``lock`` (it may raise; then nothing more happens), observe, with the
    caller's ``extra`` parts in the same round trip."""
    from fleetform.executor.observation import observe_and_plan
    from fleetform.executor.session import Session

    session = Session(inputs.loaded)
    with out.status(f"Connecting to {len(inputs.loaded.hosts)} host(s)"):
        session.connect()
    if lock is not None:
        try:
            lock(session)
        except BaseException:
            session.disconnect()
            raise
    with out.status("Observing hosts"):
        obs = observe_and_plan(session, inputs.stacks, inputs.targets, inputs.engines, extra)
    return session, obs


#: ``fleetform status``'s drift: the inputs and the observation ``plan`` has
start_inputs = _start
observe_inputs = _observe


def run_plan(args: argparse.Namespace) -> int:
    out = Output(json_mode=args.json)
    settings = lock_settings_or_report(out)
    if settings is None:
        return 1
    inputs = _start(args, out)
    if inputs is None:
        return 1
    session, obs = _observe(inputs, out)
    session.disconnect()
    plan = obs.plan(session.failures)
    stale_after = settings.stale_after
    held = [(host, lock) for host, locks in sorted(obs.locks.items()) for lock in locks]
    if args.json:
        doc = plan.to_json()
        doc["locks"] = [lock.to_json(host, stale_after) for host, lock in held]
        out.json(doc)
    else:
        out.plan(plan)
        for host, lock in held:
            stale = "; it is stale: the next apply breaks it" if lock.is_stale(stale_after) else ""
            out.info(f"Note: {lock.describe(host)}{stale}.")
    if plan.errors:
        return 1
    if args.detailed_exitcode and plan.has_changes:
        return 2
    return 0


def run_apply(args: argparse.Namespace) -> int:
    out = Output(json_mode=args.json)
    problem = approval_problem(args, "apply")
    if problem is not None:  # before any host is contacted
        out.error(problem)
        return 1
    settings = lock_settings_or_report(out)
    wait = lock_wait_or_report(args, out)
    if settings is None or wait is None:
        return 1
    inputs = _start(args, out)
    if inputs is None:
        return 1
    from fleetform.executor.locking import DeployLocks
    from fleetform.runlog.run import new_run

    run = new_run(getattr(args, "source", None))  # set by `fleetform reconcile`
    taken: list[DeployLocks] = []

    def lock(session: Session) -> None:
        locks = DeployLocks(
            session, run, settings, [s.name for s in inputs.stacks], notify=out.note
        )
        taken.append(locks)
        with out.status("Taking the deploy locks"):
            problem = locks.acquire(wait)
        if problem is not None:
            raise LockBusy(problem)

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return _apply_locked(args, out, inputs, run, lock, taken)
    except LockBusy as exc:
        out.error(str(exc))
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


def _apply_locked(
    args: argparse.Namespace,
    out: Output,
    inputs: Inputs,
    run: Any,
    lock: Callable[[Session], None],
    taken: list[DeployLocks],
) -> int:
    t0 = time.monotonic()
    session, obs = _observe(inputs, out, lock)
    try:
        plan = obs.plan(session.failures)
        if not args.json:
            out.plan(plan)
        if plan.has_changes and not args.yes and not confirm("Apply these changes?"):
            out.info("Apply cancelled; nothing was changed.")
            return 1
        # No heartbeat runs while the prompt blocks: make sure no other run
        # broke a lock meanwhile (it may have changed the hosts since the plan).
        lost = taken[0].still_held() if taken and plan.has_changes and not args.yes else []
        if lost:
            out.error(
                f"the deploy lock was broken by another run while waiting for approval "
                f"on {', '.join(lost)}; nothing was changed"
            )
            return 1
        summary, seconds = _carry_out(session, obs, inputs, run, out, t0)
        _record(session, run, obs, seconds, out)
    finally:
        try:
            for locks in taken:
                failed = locks.release()
                if failed:
                    out.note(f"could not release the deploy lock on {', '.join(failed)}")
        finally:
            session.disconnect()

    verified = None
    if summary["ok"] and args.verify:
        from fleetform.commands.verify import run_verify, verify_reports
        from fleetform.verify.report import as_json

        if not args.json:
            out.summary(summary)
            _say_rollout(out, summary)
            return run_verify(args)
        # One JSON document on stdout: the verify report goes inside it.
        reports = verify_reports(args, out)
        verified = as_json(reports) if reports is not None else {"ok": False, "hosts": []}
    if args.json:
        doc = {"format_version": 1, "plan": plan.to_json(), **summary}
        if verified is not None:
            doc["verify"] = verified
            doc["ok"] = bool(summary["ok"] and verified["ok"])
        out.json(doc)
        return _exit_code(doc)
    out.summary(summary)
    _say_rollout(out, summary)
    return _exit_code(summary)


def _carry_out(
    session: Session, obs: Observation, inputs: Inputs, run: Any, out: Output, t0: float
) -> tuple[dict[str, Any], float]:
    """Run the approved plan (the recreates in health-gated batches); the summary."""
    rollout = _rollout_of(obs)
    _add_operations(session, inputs.engines, obs, rollout)
    if rollout is None:
        _add_recording(session, obs, inputs.stacks, obs.plans)
    proxies = _proxy_hosts(obs)
    _drop_backends(session, obs, proxies, out)
    with out.progress(session, "Applying"):
        session.run()
    _sync_proxies(session, obs, proxies, out)
    rolled = None
    if rollout is not None:
        rolled = _roll_out(session, rollout, run, out, obs.revisions)
        _sync_proxies(session, obs, proxies, out)
        # Recorded once the rollout is over, and only for what stayed.
        _add_recording(session, obs, inputs.stacks, _kept_plans(obs, rolled))
        session.collect_failures()
    seconds = time.monotonic() - t0
    summary = _summarise(session, obs, seconds)
    if rollout is not None and rolled is not None:
        summary["rollout"] = {"run_id": run.run_id, **rollout_json(rollout, rolled)}
        if rolled.outcome != "done":
            summary["ok"] = False
    return summary, seconds


def _proxy_hosts(obs: Observation) -> list[str]:
    """Hosts whose approved plan changes something and that serve (or served) a proxy."""
    from fleetform.executor.proxy import proxied

    return sorted(
        h
        for h, p in obs.plans.items()
        if not p.errors and p.has_changes and (p.proxy or proxied(obs.desired[h])[0])
    )


def _sync_proxies(session: Session, obs: Observation, hosts: list[str], out: Output) -> None:
    """HAProxy configured and every running replica in its slot (fleetform.executor.proxy)."""
    if not hosts:
        return
    from fleetform.executor.proxy import sync_proxies

    with out.status("Configuring the proxy"):
        problems = sync_proxies(session, obs.desired, hosts, obs.proxies)
    for host, problem in problems.items():
        session.failures.setdefault(host, problem)


def _drop_backends(session: Session, obs: Observation, hosts: list[str], out: Output) -> None:
    """Backends the plan removes leave the proxy before their containers stop:
    their frontends close (a reload) instead of answering 503 meanwhile."""
    gone = {
        h: [a.resource for a in obs.plans[h].proxy if a.kind == "remove-backend"] for h in hosts
    }
    gone = {h: names for h, names in gone.items() if names}
    if not gone:
        return
    from fleetform.executor.proxy import sync_proxies

    with out.status("Removing proxy backends"):
        problems = sync_proxies(session, obs.desired, gone, obs.proxies, drop=gone)
    for host, problem in problems.items():
        session.failures.setdefault(host, problem)


def _exit_code(doc: dict[str, Any]) -> int:
    """0 ok, 3 rolled back or paused (the fleet is on the old revision), else 1."""
    if doc.get("rollout", {}).get("outcome") in ("rolled_back", "paused"):
        return 3
    return 0 if doc["ok"] else 1


def _say_rollout(out: Output, summary: dict[str, Any]) -> None:
    doc = summary.get("rollout")
    if doc is None:
        return
    # Why each container failed (Docker's or the health check's own words) comes
    # before the sentence that says what happened to the fleet.
    for failure in doc.get("errors", []):
        out.error(f"{failure['host']}/{failure['container']}: {failure['error']}")
    for host, messages in sorted(doc.get("problems", {}).items()):
        for message in messages:
            out.error(f"{host}: {message}")
    out.info(doc["sentence"])


def _rollout_of(obs: Observation) -> Rollout | None:
    """The batches of this apply's recreates, or None when there are none.

    Hosts re-planned after the engine deploy (``_replanned``) apply in one
    step, as before: their plan is only known once the engine is ready.
    """
    from fleetform.plan.rollout import rollout_plan

    applied = {h: p for h, p in obs.plans.items() if not p.errors}
    rollout = rollout_plan(applied, skip=_replanned(obs))
    return rollout if rollout.units else None


def _replanned(obs: Observation) -> set[str]:
    restarted = {h for h, p in obs.plans.items() if restarts_dockerd(p.engine)}
    return set(obs.engine_pending) | restarted | set(obs.policy_rechecks)


def _roll_out(
    session: Session, rollout: Rollout, run: Any, out: Output, numbers: Any
) -> RolloutResult:
    from fleetform.executor.rollout import run_rollout
    from fleetform.plan.rollout import Rollout as RolloutType

    # A host whose preparing step failed takes no part in the batches.
    alive = {h.name for h in session.hosts}
    kept = tuple(
        replace(
            svc,
            batches=tuple(
                b
                for b in (tuple(u for u in batch if u.host in alive) for batch in svc.batches)
                if b
            ),
        )
        for svc in rollout.services
    )
    with out.status("Rolling out"):
        return run_rollout(session, RolloutType(kept), run=run, notify=out.note, numbers=numbers)


def _kept_plans(obs: Observation, rolled: RolloutResult) -> dict[str, Any]:
    """The host plans to record revisions for: none of a stack rolled back or paused."""
    if rolled.outcome == "done" or rolled.stopped_at is None:
        return dict(obs.plans)
    from fleetform.revisions.document import stacks_changed

    stack = rolled.stopped_at[0]
    out = {}
    for host, p in obs.plans.items():
        want = obs.desired.get(host)
        # Whatever the action (an image pull too): none of that stack's is recorded.
        keep = tuple(
            a
            for a in p.actions
            if want is None or stack not in stacks_changed(replace(p, actions=(a,)), want)
        )
        out[host] = replace(p, actions=keep)
    return out


def _add_operations(
    session: Session, engines: dict[str, Any], obs: Observation, rollout: Rollout | None
) -> None:
    from fleetform.engine.deploy import docker_engine_by_host
    from fleetform.executor.operations import containers

    # The same two steps on every host, in the same order: pyinfra's API
    # identifies operations by position.  A host reported as an error (not
    # observed, or its plan has errors) gets neither engine nor container
    # changes: the summary says "not applied there", and so it is.
    applied = {h: p for h, p in obs.plans.items() if not p.errors}
    skip = sorted(h.name for h in session.loaded.hosts if h.name not in applied)
    if rollout is not None:
        from fleetform.plan.rollout import prepare_plans

        # The recreates run afterwards, in batches (fleetform.executor.rollout).
        applied = prepare_plans(applied, rollout)
    # The engine deploy runs against the engine state the plan was made from.
    session.add_deploy(docker_engine_by_host, engines, skip=skip, observed=obs.engine_states)
    # Observed again after the engine deploy: hosts planned while dockerd did
    # not answer, and hosts whose dockerd it restarts (containers may have
    # stopped).  Their new plan runs only within what the user approved.
    session.add_op(
        containers,
        name="fleetform containers",
        plans=applied,
        desired=obs.desired,
        replan=sorted(_replanned(obs)),
        policies=obs.policy_rechecks,
    )


def _add_recording(
    session: Session, obs: Observation, stacks: list[Stack], plans: dict[str, Any]
) -> None:
    from fleetform.executor.revisions import revisions
    from fleetform.revisions.provenance import provenance

    # Last, on every host: pyinfra runs it only where the containers were
    # applied.  After a rollout pyinfra is executing already: the operation
    # then runs at once (fleetform.executor.session).
    applied = {h: p for h, p in plans.items() if not p.errors}
    session.add_op(
        revisions,
        name="fleetform revisions",
        plans=applied,
        desired=obs.desired,
        provenance=provenance(stacks),
    )


def _record(session: Session, run: Any, obs: Observation, seconds: float, out: Output) -> None:
    """Append the audit lines of what was applied on each host."""
    from fleetform.executor.auditing import write_apply_lines
    from fleetform.plan.rollout import Rollout as NoRollout

    failures = {**obs.errors, **session.failures}
    # Recreates that rolled in batches have their own audit lines (rollout,
    # rollback) with their real result; the host's overall result would say ok
    # for a container that was rolled back.
    rolled = {(u.host, u.action.resource) for u in (_rollout_of(obs) or NoRollout()).units}
    plans = {
        host: replace(
            plan,
            actions=tuple(
                a
                for a in plan.actions
                if not (a.kind == "recreate" and (host, a.resource) in rolled)
            ),
        )
        for host, plan in obs.plans.items()
    }
    results = write_apply_lines(session, run, plans, failures, seconds)
    failed = sorted(name for name, result in results.items() if not result.ok)
    if failed:
        out.note(f"could not write the audit log on {', '.join(failed)}")


def restarts_dockerd(engine: tuple[str, ...]) -> bool:
    """Whether these engine changes (``fleetform.engine.changes``) restart dockerd."""
    return any("restart dockerd" in change for change in engine)


def _summarise(session: Session, obs: Observation, seconds: float) -> dict[str, Any]:
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
                "changed_steps": changed,
                "actions": len(hp.actions) + len(hp.engine) + len(hp.proxy) if hp else 0,
                "error": error,
            }
        )
    return {"ok": all(h["ok"] for h in hosts), "seconds": round(seconds, 2), "hosts": hosts}
