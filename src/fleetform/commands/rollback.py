"""``fleetform rollback``: go back to an earlier revision of stacks, health-gated.

Flow: stack names -> inventory -> connect -> take the deploy locks (as
apply does) -> read each host's revisions and the stacks' containers, one
round trip per host -> ``plan_rollback`` (pure) -> print -> confirm -> the
swaps in batches (``fleetform.executor.rollback``) -> new revisions -> one
sentence.  No stack file is needed: the way back is what the hosts recorded
and kept (docs/rollouts.md, "Manual rollback").

Exit codes: 0 rolled back (or nothing to do); 1 bad input, a host that
cannot be reached or read, a revision that cannot be reached from what the
hosts keep (nothing changed), not approved, a lock held by another run, or a
rollback that failed its health gate (the switched containers went back).
"""

from __future__ import annotations

import argparse
import signal
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from fleetform.commands.common import (
    Output,
    approval_problem,
    confirm,
    lock_settings_or_report,
    lock_wait_or_report,
    on_sigterm,
    ssh_targets_or_report,
)
from fleetform.commands.history import stack_names

if TYPE_CHECKING:
    from fleetform.executor.rollback import RollbackResult
    from fleetform.executor.session import Session
    from fleetform.revisions.rollback import HostReport, RollbackPlan

#: format_version of ``rollback --json``
ROLLBACK_FORMAT_VERSION = 1


def run_rollback(args: argparse.Namespace) -> int:
    out = Output(json_mode=args.json)
    problem = approval_problem(args, "rollback")
    if problem is not None:
        out.error(problem)
        return 1
    if not args.stacks:
        out.error("name the stacks to roll back (stack names or stack files)")
        return 1
    if args.to is not None and args.to < 1:
        out.error(f"--to {args.to}: revisions are numbered from 1")
        return 1
    stacks = stack_names(args.stacks, out, args.env_file)
    settings = lock_settings_or_report(out)
    wait = lock_wait_or_report(args, out)
    if stacks is None or settings is None or wait is None:
        return 1
    loaded = ssh_targets_or_report(args, out)
    if loaded is None:
        return 1
    from fleetform.executor.locking import DeployLocks
    from fleetform.executor.session import Session
    from fleetform.runlog.run import new_run

    run = new_run()
    session = Session(loaded)
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    locks = None
    try:
        with out.status(f"Connecting to {len(loaded.hosts)} host(s)"):
            session.connect()
        if session.failures:
            for host, error in sorted(session.failures.items()):
                out.error(f"{host}: {error}")
            out.error("a rollback needs every targeted host (leave one out with --limit)")
            return 1
        locks = DeployLocks(session, run, settings, stacks, command="rollback", notify=out.note)
        with out.status("Taking the deploy locks"):
            held = locks.acquire(wait)
        if held is not None:
            out.error(held)
            return 1
        return _locked(args, out, session, stacks, run, locks)
    finally:
        try:
            if locks is not None:
                failed = locks.release()
                if failed:
                    out.note(f"could not release the deploy lock on {', '.join(failed)}")
        finally:
            session.disconnect()
            signal.signal(signal.SIGTERM, previous)


def _read(session: Session, stacks: list[str]) -> tuple[dict[str, HostReport], list[str]]:
    from fleetform.revisions.host import RevisionHostError, parse_rollback, rollback_script
    from fleetform.revisions.rollback import HostContainer, HostReport

    results = session.run_everywhere(lambda host: rollback_script(stacks))
    reports: dict[str, HostReport] = {}
    errors: list[str] = []
    for host in session.loaded.hosts:
        result = results.get(host.name)
        if result is None:
            errors.append(f"{host.name}: {session.failures.get(host.name) or 'not read'}")
            continue
        try:
            revisions, rows = parse_rollback(result.stdout)
        except RevisionHostError as exc:
            errors.append(f"{host.name}: {exc}")
            continue
        containers = tuple(
            HostContainer(
                name=name.lstrip("/"),
                id=cid,
                running=running == "true",
                stack=stack or None,
                config_hash=config or None,
            )
            for name, cid, running, stack, config in rows
        )
        reports[host.name] = HostReport(revisions, containers)
    return reports, errors


def _locked(
    args: argparse.Namespace,
    out: Output,
    session: Session,
    stacks: list[str],
    run: Any,
    locks: Any,
) -> int:
    from fleetform.executor.rollback import run_rollback as carry_out
    from fleetform.revisions.provenance import provenance
    from fleetform.revisions.rollback import plan_rollback

    with out.status("Reading revisions"):
        reports, errors = _read(session, stacks)
    plan = plan_rollback(reports, stacks, args.to)
    problems = errors + list(plan.errors)
    if not args.json:
        for line in plan.lines():
            if not line.startswith("error: "):
                out.out.print(escape(line))
    if problems:
        for problem in problems:
            out.error(problem)
        out.error("nothing was rolled back")
        if args.json:
            out.json(_document(plan, None, problems))
        return 1
    if not args.yes and not _approved(out, locks):
        return 1
    with out.status("Rolling back"):
        result = carry_out(session, plan, run=run, provenance=provenance([]), notify=out.note)
    doc = _document(plan, result, [])
    if args.json:
        out.json(doc)
    else:
        _say(out, doc)
    return 0 if doc["ok"] else 1


def _approved(out: Output, locks: Any) -> bool:
    if not confirm("Roll back these containers?"):
        out.info("Rollback cancelled; nothing was changed.")
        return False
    # No heartbeat runs while the prompt blocks (as in apply).
    lost = locks.still_held()
    if lost:
        out.error(
            f"the deploy lock was broken by another run while waiting for approval "
            f"on {', '.join(lost)}; nothing was changed"
        )
        return False
    return True


def _say(out: Output, doc: dict[str, Any]) -> None:
    for failure in doc["errors"]:
        out.error(f"{failure['host']}/{failure['container']}: {failure['error']}")
    for host, messages in sorted(doc["problems"].items()):
        for message in messages:
            out.error(f"{host}: {message}")
    out.info(doc["sentence"])


def _document(
    plan: RollbackPlan, result: RollbackResult | None, problems: list[str]
) -> dict[str, Any]:
    """``rollback --json``: the plan, and per host and stack what happened."""
    stacks = []
    for st in plan.stacks:
        states = [result.states.get(s, "untouched") for s in st.swaps] if result else []
        recorded = (result.recorded.get(st.host, {}) if result else {}).get(st.stack)
        if result is None:
            state = "not_run"
        elif recorded is not None:
            state = "rolled_back"
        elif "failed" in states:
            state = "failed"
        elif "reverted" in states:
            state = "reverted"
        else:
            state = "untouched"
        stacks.append(
            {
                "host": st.host,
                "stack": st.stack,
                "from_revision": st.from_revision,
                "to_revision": st.to_revision,
                "recorded_revision": recorded,
                "state": state,
            }
        )
    errors = (
        [{"host": s.host, "container": s.name, "error": e} for s, e in result.errors.items()]
        if result
        else []
    )
    ok = result is not None and result.outcome == "done" and not result.problems
    return {
        "format_version": ROLLBACK_FORMAT_VERSION,
        "ok": ok and not problems,
        "outcome": result.outcome if result else "not_run",
        "sentence": _sentence(plan, result, stacks),
        "plan": plan.to_json(),
        "stacks": stacks,
        "errors": errors,
        "problems": result.problems if result else {},
        "refused": problems,
    }


def _sentence(
    plan: RollbackPlan, result: RollbackResult | None, stacks: list[dict[str, Any]]
) -> str:
    if result is None:
        return "Nothing was rolled back."
    hosts = sorted({s["host"] for s in stacks})
    failed = sorted(f"{s.host}/{s.name}" for s in result.errors)
    if result.outcome == "done":
        swaps = sum(1 for state in result.states.values() if state == "rolled_back")
        targets = sorted({f"{s['stack']} revision {s['to_revision']}" for s in stacks})
        return (
            f"Rolled back {swaps} container(s) on {len(hosts)} host(s) to "
            f"{', '.join(targets)}; each is recorded as a new revision."
        )
    if result.outcome == "reverted":
        return (
            f"The rollback failed: {', '.join(failed)} did not pass the health gate; every "
            "container it had switched went back, so the fleet is where it was."
        )
    if result.outcome == "paused":
        return (
            f"The rollback paused: {', '.join(failed)} did not pass the health gate; the "
            "batches before it stay rolled back and the rest was not touched."
        )
    return (
        f"The rollback finished with failures: {', '.join(failed)} kept the container they "
        "ran; the others were rolled back."
    )
