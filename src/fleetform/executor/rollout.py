"""Carry out a rollout (``fleetform.plan.rollout``): batches, health gate, rollback.

It decides nothing: the batches come from ``rollout_plan`` and what a failed
batch leads to from ``after_batch``.  Each batch is one round of one shell
command per host (the hosts of a batch in parallel), run after the pyinfra
operations that prepared the hosts (engine, networks, volumes, images).
Every new container passes its health wait and then its ``monitor`` window
on the host (:func:`fleetform.executor.rollout_steps.rollout_recreate_command`), or
the command puts its old container back itself.  A passed replacement keeps
its old container, stopped: a rollback swaps back to it (no pull), and once
the rollout passed it stays as the previous container, for ``fleetform
rollback`` (superseded by the next rollout of that container).

Example (what ``fleetform apply`` does)::

    result = run_rollout(session, rollout_plan(plans), run=run)
"""

from __future__ import annotations

import io
import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fleetform.executor.project_uploads import project_steps
from fleetform.executor.rollout_steps import rollout_recreate_command, swap_back_command
from fleetform.executor.session import CommandResult, Session
from fleetform.executor.steps import (
    SECRET_ENV_DIR,
    SecretFile,
    secret_dir_command,
    secret_env_file,
    secret_files,
)
from fleetform.executor.switch import NOT_BACK, start_first_command, uses_switch
from fleetform.executor.switch_back import switch_back_command
from fleetform.executor.uploads import Step, Upload, UploadError
from fleetform.plan.rollout import Rollout, ServiceRollout, Unit, after_batch
from fleetform.revisions.host import StackNumbers
from fleetform.runlog.audit import action_line_command, append_script, entry
from fleetform.runlog.run import Run

UnitState = Literal["updated", "rolled_back", "failed"]
Outcome = Literal["done", "rolled_back", "paused"]

_OK, _FAILED = "fleetform-unit-ok", "fleetform-unit-failed"
#: how a job the host said nothing about is failed (see :func:`run_marked`)
NO_RESULT = "no result from the host"
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
    #: host -> stack -> the revision numbers the rollout started from
    numbers: Mapping[str, Mapping[str, StackNumbers]] = field(default_factory=dict)

    def revisions(self, unit: Unit, back: bool = False) -> tuple[str | None, str | None]:
        """``(from, to)`` revision of a unit's rollout line (``back``: its rollback line).

        A rollout goes from the current revision to the one the apply records
        (the highest + 1); a rollback goes from that one, never recorded, back.
        """
        c = unit.action.container
        got = self.numbers.get(unit.host, {}).get(c.stack) if c is not None else None
        if got is None:
            return None, None
        now = str(got.current) if got.current is not None else None
        new = str(got.highest + 1)
        return (new, now) if back else (now, new)


def run_marked(
    session: Session,
    jobs: list[tuple[str, str, str]],
    uploads: dict[str, list[tuple[str, str]]] | None = None,
    files: dict[str, list[SecretFile]] | None = None,
    project: dict[str, list[Step]] | None = None,
) -> dict[tuple[str, str], str | None]:
    """Run ``(host, key, command)`` jobs, one round: each host's jobs in one command,
    all hosts in parallel.  Each job -> None when its command succeeded, else why not.

    A job's command runs in a subshell, so one failing does not stop the next;
    a job the host printed no word about (connection lost) is failed with
    "no result from the host".
    """
    scripts: dict[str, list[str]] = {}
    for host, key, command in jobs:
        name = shlex.quote(key)
        scripts.setdefault(host, []).append(
            f"if ( {command} ); then echo {_OK} {name}; else echo {_FAILED} {name}; fi"
        )
    results = _round(session, scripts, uploads, files, project)
    out: dict[tuple[str, str], str | None] = {}
    for host, key, _ in jobs:
        res = results.get(host)
        lines = res.stdout.splitlines() if res is not None else []
        if f"{_OK} {key}" in lines:
            out[(host, key)] = None
        elif f"{_FAILED} {key}" not in lines:
            # No word from the job: its old container may not be back.
            why = (res.stderr.strip() if res is not None else "") or _LOST
            out[(host, key)] = f"{NO_RESULT}: {why}"
        else:
            why = (res.stderr.strip() if res is not None else "") or "host not reachable"
            out[(host, key)] = "\n".join(why.splitlines()[-6:])
    return out


def _round(
    session: Session,
    scripts: dict[str, list[str]],
    uploads: dict[str, list[tuple[str, str]]] | None = None,
    files: dict[str, list[SecretFile]] | None = None,
    project: dict[str, list[Step]] | None = None,
) -> dict[str, CommandResult]:
    """One command per host of ``scripts`` (joined with ``;``), all hosts in parallel.

    ``uploads`` (secret env files) and ``files`` (mounted secrets' files) go to
    the host first, by file upload: their content is never in a command.
    """
    hosts = [h for h in session.loaded.hosts if h.name in scripts and h.connected]

    def command_for(host: Any) -> str:
        mine = tuple((files or {}).get(host.name, []))
        if mine:
            session.run_on(host, secret_dir_command(mine))
        for file in mine:
            host.put_file(io.BytesIO(file.content), file.path)
            session.run_on(host, file.owner_command())
        failed = _project_uploads(session, host, (project or {}).get(host.name, []))
        if failed is not None:
            # The new containers would mount missing files: none is started.
            return f"echo {shlex.quote(failed)} >&2; false"
        for path, content in (uploads or {}).get(host.name, []):
            # Uploaded just before the command that reads and removes it.
            session.run_on(host, f"install -d -m 700 {shlex.quote(SECRET_ENV_DIR)}")
            host.put_file(io.BytesIO(content.encode()), path)
        return "; ".join(scripts[host.name])

    return session.run_everywhere(command_for, hosts=hosts)


def _project_uploads(session: Session, host: Any, steps: list[Step]) -> str | None:
    """Run the project files' steps (fleetform.executor.project_uploads); why one failed."""
    for step in steps:
        if isinstance(step, Upload):
            src = io.BytesIO(step.src) if isinstance(step.src, bytes) else str(step.src)
            if not host.put_file(src, step.dest):
                return f"cannot upload project file {step.dest}"
            continue
        result = session.run_on(host, step.command)
        if not result.ok:
            return f"project files: {step.command}: {result.stderr.strip()[-300:]}"
    return None


def _run_batch(
    session: Session, batch: tuple[Unit, ...], monitor: float, env_dir: str
) -> dict[Unit, str | None]:
    """Run one batch; each unit -> None when it passed, else why it failed."""
    jobs = []
    uploads: dict[str, list[tuple[str, str]]] = {}
    files: dict[str, list[SecretFile]] = {}
    project: dict[str, list[Step]] = {}
    for unit in batch:
        if uses_switch(unit.action.container):
            command = start_first_command(unit.action, monitor, env_dir)
        else:
            command = rollout_recreate_command(unit.action, monitor, env_dir)
        jobs.append((unit.host, unit.name, command))
        env = secret_env_file(unit.action, env_dir)
        if env is not None:
            uploads.setdefault(unit.host, []).append(env)
        files.setdefault(unit.host, []).extend(secret_files(unit.action))
        try:
            project.setdefault(unit.host, []).extend(project_steps(unit.action))
        except UploadError as exc:
            jobs[-1] = (unit.host, unit.name, f"echo {shlex.quote(str(exc))} >&2; false")
    outcomes = run_marked(session, jobs, uploads, files, project)
    return {unit: outcomes[(unit.host, unit.name)] for unit in batch}


def run_rollout(
    session: Session,
    rollout: Rollout,
    *,
    run: Run,
    env_dir: str = SECRET_ENV_DIR,
    notify: Callable[[str], None] = lambda text: None,
    numbers: Mapping[str, Mapping[str, StackNumbers]] | None = None,
) -> RolloutResult:
    """Run every batch of ``rollout`` in order; roll back or pause as ``after_batch`` says.

    ``numbers``: each host's revision numbers of the stacks, as observed.
    """
    result = RolloutResult(numbers=numbers or {})
    passed: list[Unit] = []
    for svc in rollout.services:
        if not _run_service(session, svc, result, passed, run, env_dir, notify):
            break
    # The replaced containers that stayed keep their old container, stopped,
    # as the previous container: `fleetform rollback` starts it again.
    return result


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
        _audit(session, run, result, "rollout", outcomes, started, seconds, number)
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
    """Every replacement of ``stack`` this run made goes back to its kept old container.

    Service by service, in batches of the service's ``rollback_config``
    (parallelism, delay), each container watched for its ``monitor`` window.
    Whatever fails, every other container still goes back: a failed one is
    reported, and there is nothing further back to go to.
    """
    result.outcome = "rolled_back"
    back = [u for u in passed if u.action.container and u.action.container.stack == stack]
    by_service: dict[str, list[Unit]] = {}
    for unit in back:
        c = unit.action.container
        assert c is not None
        by_service.setdefault(c.service.name, []).append(unit)
    for units in by_service.values():
        c = units[0].action.container
        assert c is not None
        config = c.service.rollback_config
        for number, batch in enumerate(config.batches(units), 1):
            if number > 1 and config.delay:
                time.sleep(config.delay / 1e9)
            started = time.time()
            go_back = switch_back_command if uses_switch(c, back=True) else swap_back_command
            jobs = [(u.host, u.name, go_back(u.action, config.monitor / 1e9)) for u in batch]
            outcomes = run_marked(session, jobs)
            by_unit = {u: outcomes[(u.host, u.name)] for u in batch}
            for unit, error in by_unit.items():
                result.states[unit] = "rolled_back" if error is None else "failed"
                if error is not None:
                    result.problems.setdefault(unit.host, []).append(
                        f"rolling back {unit.name}: {error}"
                    )
            _audit(
                session, run, result, "rollback", by_unit, started, time.time() - started, number
            )
    # The failed replacements put their old container back themselves
    # (unless the host gave no word, or the command said it could not: those
    # stay failed).
    for unit, state in list(result.states.items()):
        mine = unit.action.container is not None and unit.action.container.stack == stack
        error = result.errors.get(unit, "")
        said = not error.startswith(NO_RESULT) and f"{unit.name}: {NOT_BACK}" not in error
        if state == "failed" and mine and said and unit not in back:
            result.states[unit] = "rolled_back"


def _audit(
    session: Session,
    run: Run,
    result: RolloutResult,
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
        from_revision, to_revision = result.revisions(unit, back=action == "rollback")
        record = entry(
            run,
            host=unit.host,
            action=action,
            at=at,
            stack=c.stack if c else None,
            service=c.service.name if c else None,
            resource=unit.name,
            container_ids={"old": unit.action.container_id, "new": None},
            from_revision=from_revision,
            to_revision=to_revision,
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
