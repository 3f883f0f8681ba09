"""Carry out a rollout (``fleetform.plan.rollout``): batches, health gate, rollback.

It decides nothing: the batches come from ``rollout_plan`` and what a failed
batch leads to from ``after_batch``.  Each batch is one round of one shell
command per host (the hosts of a batch in parallel), run after the pyinfra
operations that prepared the hosts (engine, networks, volumes, images).
Every new container passes its health wait and then its ``monitor`` window
on the host (:func:`fleetform.executor.steps.rollout_recreate_command`), or
the command puts its old container back itself.  A passed replacement keeps
its old container, stopped, until the whole rollout passed: a rollback swaps
back to it (no pull), and the end of the rollout removes the kept ones.

Example (what ``fleetform apply`` does)::

    result = run_rollout(session, rollout_plan(plans), run=run)
"""

from __future__ import annotations

import io
import shlex
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from fleetform.executor.session import CommandResult, Session
from fleetform.executor.steps import (
    SECRET_ENV_DIR,
    drop_kept_command,
    rollout_recreate_command,
    secret_env_file,
    swap_back_command,
)
from fleetform.plan.rollout import Rollout, ServiceRollout, Unit, after_batch
from fleetform.runlog.audit import action_line_command, append_script, entry
from fleetform.runlog.run import Run

UnitState = Literal["updated", "rolled_back", "failed"]
Outcome = Literal["done", "rolled_back", "paused"]

_OK, _FAILED = "fleetform-unit-ok", "fleetform-unit-failed"
#: why a unit has no result when its host said nothing (an SSH connection
#: that dropped mid-command gives neither output nor an error)
_LOST = (
    "the connection was lost before the command ended; "
    "the container may be on the old or the new version"
)


@dataclass
class BatchRecord:
    stack: str
    service: str
    number: int
    units: tuple[Unit, ...]
    started: float
    seconds: float
    failed: int


@dataclass
class RolloutResult:
    outcome: Outcome = "done"
    #: units that were run, by state; a unit not in here was left untouched
    states: dict[Unit, UnitState] = field(default_factory=dict)
    errors: dict[Unit, str] = field(default_factory=dict)
    batches: list[BatchRecord] = field(default_factory=list)
    #: the stack whose failed batch stopped the rollout
    stopped_at: tuple[str, str] | None = None
    #: units that could not be brought back or cleaned up: host -> messages
    problems: dict[str, list[str]] = field(default_factory=dict)


def _unit_script(unit: Unit, monitor: float, env_dir: str) -> str:
    command = rollout_recreate_command(unit.action, monitor, env_dir)
    name = shlex.quote(unit.name)
    return f"if ( {command} ); then echo {_OK} {name}; else echo {_FAILED} {name}; fi"


def _round(
    session: Session,
    scripts: dict[str, list[str]],
    uploads: dict[str, list[tuple[str, str]]] | None = None,
) -> dict[str, CommandResult]:
    """One command per host of ``scripts`` (joined with ``;``), all hosts in parallel."""
    hosts = [h for h in session.loaded.hosts if h.name in scripts and h.connected]

    def command_for(host: Any) -> str:
        for path, content in (uploads or {}).get(host.name, []):
            # Uploaded just before the command that reads and removes it.
            session.run_on(host, f"install -d -m 700 {shlex.quote(SECRET_ENV_DIR)}")
            host.put_file(io.BytesIO(content.encode()), path)
        return "; ".join(scripts[host.name])

    return session.run_everywhere(command_for, hosts=hosts)


def _run_batch(
    session: Session, batch: tuple[Unit, ...], monitor: float, env_dir: str
) -> dict[Unit, str | None]:
    """Run one batch; each unit -> None when it passed, else why it failed."""
    scripts: dict[str, list[str]] = {}
    uploads: dict[str, list[tuple[str, str]]] = {}
    for unit in batch:
        scripts.setdefault(unit.host, []).append(_unit_script(unit, monitor, env_dir))
        env = secret_env_file(unit.action, env_dir)
        if env is not None:
            uploads.setdefault(unit.host, []).append(env)
    results = _round(session, scripts, uploads)
    out: dict[Unit, str | None] = {}
    for unit in batch:
        res = results.get(unit.host)
        lines = res.stdout.splitlines() if res is not None else []
        if f"{_OK} {unit.name}" in lines:
            out[unit] = None
        elif f"{_FAILED} {unit.name}" not in lines:
            # No word from the unit's command: its old container may not be back.
            why = (res.stderr.strip() if res is not None else "") or _LOST
            out[unit] = f"no result from the host: {why}"
        else:
            why = (res.stderr.strip() if res is not None else "") or "host not reachable"
            out[unit] = "\n".join(why.splitlines()[-6:])
    return out


def _by_host(units: Iterable[Unit], command: Callable[[Unit], str]) -> dict[str, list[str]]:
    scripts: dict[str, list[str]] = {}
    for unit in units:
        scripts.setdefault(unit.host, []).append(f"( {command(unit)} )")
    return scripts


def _report(result: RolloutResult, results: dict[str, CommandResult], what: str) -> None:
    for host, res in results.items():
        if not res.ok:
            result.problems.setdefault(host, []).append(f"{what}: {res.stderr.strip()}")


def run_rollout(
    session: Session,
    rollout: Rollout,
    *,
    run: Run,
    env_dir: str = SECRET_ENV_DIR,
    notify: Callable[[str], None] = lambda text: None,
) -> RolloutResult:
    """Run every batch of ``rollout`` in order; roll back or pause as ``after_batch`` says."""
    result = RolloutResult()
    passed: list[Unit] = []
    for svc in rollout.services:
        if not _run_service(session, svc, result, passed, run, env_dir, notify):
            break
    keep_going = result.outcome != "rolled_back"
    done = [u for u in passed if result.states.get(u) == "updated"]
    if keep_going and done:
        # The rollout passed (or paused with these in place): the kept old
        # containers go.  Without --volumes: their anonymous volumes are
        # mounted by the new containers.
        _report(result, _round(session, _by_host(done, _drop)), "removing kept containers")
    return result


def _drop(unit: Unit) -> str:
    return drop_kept_command(unit.action)


def _run_service(
    session: Session,
    svc: ServiceRollout,
    result: RolloutResult,
    passed: list[Unit],
    run: Run,
    env_dir: str,
    notify: Callable[[str], None],
) -> bool:
    """Run one service's batches; False when the rollout must stop."""
    config = svc.config
    failed = attempted = 0
    for number, batch in enumerate(svc.batches, 1):
        if number > 1 and config.delay:
            time.sleep(config.delay / 1e9)
        notify(
            f"{svc.stack}/{svc.service}: batch {number}/{len(svc.batches)}: "
            + ", ".join(str(u) for u in batch)
        )
        started = time.time()
        outcomes = _run_batch(session, batch, config.monitor / 1e9, env_dir)
        seconds = time.time() - started
        n_failed = 0
        for unit, error in outcomes.items():
            attempted += 1
            if error is None:
                result.states[unit] = "updated"
                passed.append(unit)
            else:
                n_failed += 1
                result.states[unit] = "failed"
                result.errors[unit] = error
        failed += n_failed
        result.batches.append(
            BatchRecord(svc.stack, svc.service, number, batch, started, seconds, n_failed)
        )
        _audit(session, run, "rollout", outcomes, started, seconds, number)
        decision = after_batch(config, failed, attempted)
        if decision == "rollback":
            result.stopped_at = (svc.stack, svc.service)
            _roll_back(session, svc.stack, result, passed, run)
            return False
        if decision == "pause":
            result.outcome = "paused"
            result.stopped_at = (svc.stack, svc.service)
            return False
    return True


def _roll_back(
    session: Session, stack: str, result: RolloutResult, passed: list[Unit], run: Run
) -> None:
    """Every replacement of ``stack`` this run made goes back to its kept old container."""
    result.outcome = "rolled_back"
    back = [u for u in passed if u.action.container and u.action.container.stack == stack]
    started = time.time()
    results = _round(session, _by_host(back, lambda u: swap_back_command(u.action)))
    seconds = time.time() - started
    outcomes: dict[Unit, str | None] = {}
    for unit in back:
        res = results.get(unit.host)
        ok = res is not None and res.ok
        result.states[unit] = "rolled_back" if ok else "failed"
        outcomes[unit] = None if ok else (res.stderr.strip() if res else "host not reachable")
    _report(result, results, "rolling back")
    # The failed replacements put their old container back themselves
    # (unless the host gave no word: those stay failed).
    for unit, state in list(result.states.items()):
        mine = unit.action.container is not None and unit.action.container.stack == stack
        said = not result.errors.get(unit, "").startswith("no result from the host")
        if state == "failed" and mine and said and unit not in outcomes:
            result.states[unit] = "rolled_back"
    _audit(session, run, "rollback", outcomes, started, seconds, None)


def _audit(
    session: Session,
    run: Run,
    action: str,
    outcomes: dict[Unit, str | None],
    at: float,
    seconds: float,
    batch: int | None,
) -> None:
    """One audit line per unit, on its host (best effort: the rollout result says the rest)."""
    scripts: dict[str, list[str]] = {}
    for unit, error in outcomes.items():
        c = unit.action.container
        record = entry(
            run,
            host=unit.host,
            action=action,
            at=at,
            stack=c.stack if c else None,
            service=c.service.name if c else None,
            resource=unit.name,
            container_ids={"old": unit.action.container_id, "new": None},
            result="ok" if error is None else "failed",
            duration=seconds,
            error=error,
            details={"batch": batch} if batch is not None else None,
        )
        scripts.setdefault(unit.host, []).append(action_line_command(record, unit.name))
    if scripts:
        session.run_everywhere(
            lambda h: append_script(scripts[h.name]),
            hosts=[h for h in session.loaded.hosts if h.name in scripts and h.connected],
        )
