"""Audit lines of an apply, written on each host after it ran; reading them back.

One line per planned action (its stack, service, resource, the id of the
container it acted on and the id of the container there now), one per
engine change list, each with the host's result: a host's actions run as
one pyinfra operation, so ``result``, ``duration`` and ``error`` are those
of the host's apply.  Lines carry names and ids only (no values, so no
secret).
"""

from __future__ import annotations

import time
from typing import Any

from fleetform.executor.session import CommandResult, Session
from fleetform.plan import HostPlan
from fleetform.runlog.audit import (
    action_line_command,
    append_command,
    append_script,
    entry,
    line,
    read_command,
)
from fleetform.runlog.run import Run


def host_lines(
    run: Run, plan: HostPlan, *, at: float, duration: float, error: str | None
) -> list[str]:
    """The shell commands appending ``plan``'s audit lines on its host."""
    result = "ok" if error is None else "failed"
    common: dict[str, Any] = {"at": at, "duration": duration, "result": result, "error": error}
    commands = []
    if plan.engine:
        record = entry(
            run, host=plan.host, action="engine", details={"changes": list(plan.engine)}, **common
        )
        commands.append(append_command(line(record)))
    for action in plan.actions:
        container = action.container
        owner = action.network or action.volume
        stack = (
            container.stack
            if container is not None
            else owner.stack
            if owner is not None
            else action.owner_stack
        )
        is_container = action.resource_type == "container"
        record = entry(
            run,
            host=plan.host,
            action=action.kind,
            stack=stack,
            service=container.service.name if container is not None else None,
            resource=action.resource,
            container_ids={"old": action.container_id, "new": None} if is_container else None,
            **common,
        )
        # After a remove nothing is there; any other container action leaves one.
        now = action.resource if is_container and action.kind != "remove" else None
        commands.append(action_line_command(record, now))
    return commands


def write_apply_lines(
    session: Session,
    run: Run,
    plans: dict[str, HostPlan],
    failures: dict[str, str],
    duration: float,
) -> dict[str, CommandResult]:
    """Append every applied host's lines, one round trip per host, in parallel."""
    at = time.time()
    scripts = {
        name: append_script(
            host_lines(run, plan, at=at, duration=duration, error=failures.get(name))
        )
        for name, plan in plans.items()
        if plan.has_changes and not plan.errors
    }
    hosts = [h for h in session.hosts if h.name in scripts]
    # A host that failed its operation is no longer "active" in pyinfra, but
    # its connection still works: it must record its failure too.
    hosts += [
        h
        for h in session.loaded.hosts
        if h.name in scripts and h.name in failures and h not in hosts and h.connected
    ]
    return session.run_everywhere(lambda h: scripts[h.name], hosts=hosts)


def read_logs(session: Session) -> dict[str, CommandResult]:
    """Every connected host's newest audit lines."""
    command = read_command()
    return session.run_everywhere(lambda h: command)
