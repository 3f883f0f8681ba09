"""Carry out a rollback plan (``fleetform.revisions.rollback``): swaps in batches.

Each :class:`~fleetform.revisions.rollback.Swap` is one host command
(:func:`swap_command`): for a proxied service (``rollback_config.order``
start-first, its default) the kept one starts first and takes over through
the proxy (:func:`fleetform.executor.switch_back.kept_switch_command`); else
(:func:`kept_swap_command`) stop the running container, start the kept one
in its place, wait for its health and watch it for the ``rollback_config``
monitor window; the container it replaced becomes the kept one, so a second
swap goes forth again.  A swap that fails puts the running container back
itself.  A failed batch leads to what ``rollback_config.failure_action``
says (``fleetform.plan.rollout.after_batch``): by default every swap this
run made is swapped back, so the fleet stays on the revision it was on.

Stacks whose swaps all passed get a new revision on their host, holding the
target's desired state (docs/revisions.md), and every swap an audit line.

Example (what ``fleetform rollback`` does)::

    result = run_rollback(session, plan, run=run, provenance=provenance)
"""

from __future__ import annotations

import io
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from fleetform.executor import argv as A
from fleetform.executor.rollout import run_marked
from fleetform.executor.session import Session
from fleetform.executor.shell import (
    baseline_command,
    if_owned,
    monitor_command,
    wait_healthy_command,
)
from fleetform.executor.slot_functions import functions
from fleetform.executor.switch_back import kept_switch_command
from fleetform.model import KEPT_SUFFIX
from fleetform.plan.rollout import after_batch
from fleetform.revisions.document import Provenance, serialize
from fleetform.revisions.host import upload_path, write_command
from fleetform.revisions.provenance import now
from fleetform.revisions.rollback import (
    ProxySwitch,
    RollbackPlan,
    StackRollback,
    Swap,
    rollback_document,
)
from fleetform.runlog.audit import action_line_command, append_script, entry
from fleetform.runlog.run import Run

#: seconds a started kept container may take to become healthy
HEALTH_WAIT = 120
#: the name the running container waits under while its kept one starts
SWAP_SUFFIX = ".fleetform-swap"

Outcome = Literal["done", "reverted", "paused", "failed"]


def kept_swap_command(
    name: str,
    stack: str,
    monitor: float,
    wait: int = HEALTH_WAIT,
    repoint: ProxySwitch | None = None,
    replica: int = 1,
) -> str:
    """Start ``name``'s kept container in its place; the replaced one becomes the kept one.

    Both containers are checked to be ``stack``'s first.  On any failure the
    kept container is stopped and renamed back, and the one that ran before
    gets its name back and starts again if it was running.  ``repoint``: the
    service is proxied but goes back stop-first; the running one leaves its
    slot (drain, ``maint``) before it stops, and the slot then serves whichever
    container runs at the end, at its new address, once HAProxy's check passes.
    """
    kept, tmp = name + KEPT_SUFFIX, name + SWAP_SUFFIX  # (not $r, $s: ff_set, ff_up use them)
    q = shlex.quote
    running = "{{.State.Running}}"
    leave, follow, follow_back, head = ":", [], ":", ""
    if repoint is not None:
        drain = max(0, repoint.drain // 100_000_000)
        port = repoint.target_port
        head = functions(repoint.backend, repoint.network, stack, replica) + "\n"
        head += (
            f'cip=; if [ "$was" = true ]; then cip=$(ff_ip {q(name)}) || cip=; fi; ff_pick "$cip"; '
        )
        leave = f'{{ [ -z "$os" ] || ff_drain "$os" {drain}; }}'
        follow = [
            f'kip=$(ff_ip {q(name)}) && [ -n "$kip" ]',
            f'ff_set "$xs" "addr $kip port {port}"',
            'ff_set "$xs" "state ready"',
            'ff_up "$xs"',
        ]
        follow_back = (
            f'if [ "$was" = true ] && {{ {" && ".join(follow)}; }}; then :; '
            'else ff_set "$xs" "state maint" 2>/dev/null; fi'
        )
    steps = [
        leave,
        f"{shlex.join(A.stop_argv(name, None))} >/dev/null",
        shlex.join(A.rename_argv(name, tmp)),
        "st=1",
        shlex.join(A.rename_argv(kept, name)),
        "st=2",
        f"{shlex.join(A.start_argv(name))} >/dev/null",
        baseline_command(name),  # the monitor window's: a restart from here on fails it
        f"( {wait_healthy_command(name, wait)} )",
        *follow,
        f"( {monitor_command(name, monitor)} )",
    ]
    failed = q(f"fleetform: {name}: the kept container failed; the running one is put back")
    swap = (
        f"st=0; was=$(docker container inspect --format {q(running)} {q(name)}) || exit 1; {head}"
        f"if {' && '.join(steps)}; then {shlex.join(A.rename_argv(tmp, kept))}; "
        f"else echo {failed} >&2; "
        f'if [ "$st" -ge 2 ]; then {shlex.join(A.stop_argv(name, None))} >/dev/null 2>&1; '
        f"{shlex.join(A.rename_argv(name, kept))}; fi; "
        f'if [ "$st" -ge 1 ]; then {shlex.join(A.rename_argv(tmp, name))}; fi; '
        f'if [ "$was" = true ]; then {shlex.join(A.start_argv(name))} >/dev/null; fi; '
        f"{follow_back}; exit 1; fi"
    )
    gone = q(f"fleetform: {name} is not on the host any more")
    no_kept = q(f"fleetform: {name} has no kept container any more")
    return if_owned(
        kept,
        stack,
        if_owned(name, stack, f"( {swap}\n)" if repoint else swap, f"echo {gone} >&2; exit 1"),
        f"echo {no_kept} >&2; exit 1",
    )


def swap_command(swap: Swap, monitor: float) -> str:
    """The host command of one swap: through the proxy when the service has one
    (start-first, :func:`fleetform.executor.switch_back.kept_switch_command`), else
    stop-first (:func:`kept_swap_command`)."""
    if swap.proxy is not None:
        return kept_switch_command(
            swap.name, swap.stack, swap.replica, swap.proxy, monitor, HEALTH_WAIT, SWAP_SUFFIX
        )
    return kept_swap_command(
        swap.name, swap.stack, monitor, repoint=swap.repoint, replica=swap.replica
    )


@dataclass
class RollbackResult:
    outcome: Outcome = "done"
    #: swap -> "rolled_back", "failed", "reverted" (went back again) or missing: untouched
    states: dict[Swap, str] = field(default_factory=dict)
    errors: dict[Swap, str] = field(default_factory=dict)
    #: host -> the revision numbers recorded there, per stack
    recorded: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)


def run_rollback(
    session: Session,
    plan: RollbackPlan,
    *,
    run: Run,
    provenance: Provenance,
    notify: Callable[[str], None] = lambda text: None,
) -> RollbackResult:
    """Every batch in order; then the new revisions and the audit lines."""
    result = RollbackResult()
    done: list[Swap] = []
    counts: dict[tuple[str, str], list[int]] = {}
    batches = plan.batches()
    for number, (config, batch) in enumerate(batches, 1):
        if number > 1 and config.delay:
            time.sleep(config.delay / 1e9)
        notify(f"rollback batch {number}/{len(batches)}: " + ", ".join(str(s) for s in batch))
        started = time.time()
        jobs = [(s.host, s.name, swap_command(s, config.monitor / 1e9)) for s in batch]
        outcomes = run_marked(session, jobs)
        seconds = time.time() - started
        failed = 0
        for swap in batch:
            error = outcomes[(swap.host, swap.name)]
            if error is None:
                result.states[swap] = "rolled_back"
                done.append(swap)
            else:
                failed += 1
                result.states[swap] = "failed"
                result.errors[swap] = error
        _audit(session, run, plan, {s: outcomes[(s.host, s.name)] for s in batch}, started, seconds)
        count = counts.setdefault((batch[0].stack, batch[0].service), [0, 0])
        count[0] += failed
        count[1] += len(batch)
        decision = after_batch(config, count[0], count[1])
        if decision == "rollback":
            _revert(session, run, plan, done, result)
            return result
        if decision == "pause":
            result.outcome = "paused"
            break
    if result.errors and result.outcome == "done":
        result.outcome = "failed"  # failure_action continue: some stayed where they were
    _record(session, plan, result, provenance)
    return result


def _revert(
    session: Session, run: Run, plan: RollbackPlan, done: list[Swap], result: RollbackResult
) -> None:
    """Swap every passed swap back: the fleet stays on the revision it was on.

    In the same batches as the way there (each service's ``rollback_config``
    parallelism and delay): a stop-first service never goes down on every host
    at once.  Each swap back is still watched by its health wait.
    """
    result.outcome = "reverted"
    groups: dict[tuple[str, str], list[Swap]] = {}
    for swap in done:
        groups.setdefault((swap.stack, swap.service), []).append(swap)
    for swaps in groups.values():
        config = swaps[0].config
        for number, batch in enumerate(config.batches(swaps), 1):
            if number > 1 and config.delay:
                time.sleep(config.delay / 1e9)
            started = time.time()
            outcomes = run_marked(session, [(s.host, s.name, swap_command(s, 0)) for s in batch])
            for swap in batch:
                error = outcomes[(swap.host, swap.name)]
                result.states[swap] = "reverted" if error is None else "failed"
                if error is not None:
                    result.problems.setdefault(swap.host, []).append(
                        f"{swap.name}: could not go back to the container it ran before: {error}"
                    )
            seconds = time.time() - started
            _audit(session, run, plan, outcomes_by_swap(batch, outcomes), started, seconds)


def outcomes_by_swap(
    swaps: Sequence[Swap], outcomes: dict[tuple[str, str], str | None]
) -> dict[Swap, str | None]:
    return {s: outcomes[(s.host, s.name)] for s in swaps}


def _stack_of(plan: RollbackPlan, swap: Swap) -> StackRollback:
    return next(st for st in plan.stacks if st.host == swap.host and st.stack == swap.stack)


def _audit(
    session: Session,
    run: Run,
    plan: RollbackPlan,
    outcomes: dict[Swap, str | None],
    at: float,
    seconds: float,
) -> None:
    scripts: dict[str, list[str]] = {}
    for swap, error in outcomes.items():
        st = _stack_of(plan, swap)
        record = entry(
            run,
            host=swap.host,
            action="rollback",
            at=at,
            stack=swap.stack,
            service=swap.service,
            resource=swap.name,
            container_ids={"old": None, "new": None},
            from_revision=str(st.from_revision),
            to_revision=str(st.to_revision),
            result="ok" if error is None else "failed",
            duration=seconds,
            error=error,
        )
        scripts.setdefault(swap.host, []).append(action_line_command(record, swap.name))
    if scripts:
        session.run_everywhere(
            lambda h: append_script(scripts[h.name]),
            hosts=[h for h in session.loaded.hosts if h.name in scripts and h.connected],
        )


def _record(
    session: Session, plan: RollbackPlan, result: RollbackResult, provenance: Provenance
) -> None:
    """A new revision for each stack on a host whose swaps all passed."""
    finished = now()
    for host in session.loaded.hosts:
        if not host.connected:
            continue
        for st in plan.stacks:
            if st.host != host.name:
                continue
            if any(result.states.get(s) != "rolled_back" for s in st.swaps):
                continue
            doc = rollback_document(
                st,
                actor=provenance.actor,
                fleetform_version=provenance.fleetform_version,
                started_at=provenance.started_at,
                finished_at=finished,
            )
            try:
                host.put_file(
                    io.BytesIO(serialize(doc).encode()), upload_path(st.stack, st.next_number)
                )
                res = session.run_on(host, write_command(st.stack, st.next_number))
            except Exception as exc:  # the connection went: said, never raised
                result.problems.setdefault(host.name, []).append(
                    f"stack {st.stack}: no revision recorded: {exc}"
                )
                continue
            if res.ok:
                result.recorded.setdefault(host.name, {})[st.stack] = st.next_number
            else:
                result.problems.setdefault(host.name, []).append(
                    f"stack {st.stack}: no revision recorded: {res.stderr.strip()}"
                )
