"""The host commands of rollouts: replace in a batch, go back, drop a kept container.

Pure string builders over :mod:`fleetform.executor.steps`' recreate
(``swap_in``): a rollout's recreate keeps the old container, stopped, as
``<name>.fleetform-old`` (docs/rollouts.md); ``order: start-first`` starts the
new one beside the old one first; a rollback swaps back to the kept one.
Example::

    >>> from fleetform.model import KEPT_SUFFIX
    >>> KEPT_SUFFIX
    '.fleetform-old'
"""

from __future__ import annotations

import shlex

from fleetform.executor import argv as A
from fleetform.executor.shell import (
    baseline_command,
    if_owned,
    join_steps,
    monitor_command,
    remove_on_exit,
    wait_exit_zero_command,
    wait_healthy_command,
)
from fleetform.executor.steps import (
    NEW_REF,
    NEW_SUFFIX,
    OLD_SUFFIX,
    SECRET_ENV_DIR,
    WAIT_MAX,
    connect_steps,
    create_and_start,
    env_file_of,
    health_wait_seconds,
    on_new,
    swap_in,
)
from fleetform.plan.actions import Action
from fleetform.plan.desired import DesiredContainer

_q = shlex.quote


def _start_first(action: Action, c: DesiredContainer, env_dir: str, monitor: float) -> str:
    """``order: start-first``: the new container starts and passes its health wait and
    ``monitor`` beside the old one, which runs until then; only then is the old one
    stopped and kept, and the new one takes its name.

    ``validate`` refuses start-first for a service with a fixed host port, so
    old and new never need the same port.  On any failure the new container is
    removed; the old one keeps running (or is put back, if the switch failed).
    """
    old = action.container_id or c.name
    tmp = c.name + NEW_SUFFIX
    create = A.container_create_argv(
        c, env_file_of(c, env_dir), name=tmp, carried=action.carried_volumes
    )
    drop_new = f"{on_new(shlex.join(A.rm_argv(NEW_REF, force=True)))} >/dev/null"
    prepare = connect_steps(c, NEW_REF)
    prepare += [wait_exit_zero_command(dep, WAIT_MAX) for dep in c.after_exit]
    # The baseline of the monitor window is taken right after the start: a
    # restart during the health wait fails the window too.
    gate = [
        f"{on_new(shlex.join(A.start_argv(NEW_REF)))} >/dev/null",
        on_new(baseline_command(NEW_REF)),
    ]
    if c.spec.healthcheck is not None and c.spec.healthcheck.test != ("NONE",):
        gate.append(f"( {wait_healthy_command(tmp, health_wait_seconds(c))} )")
    gate.append(f"( {monitor_command(tmp, monitor)} )")
    switch = [
        f"{shlex.join(A.stop_argv(old, action.stop_timeout))} >/dev/null",
        shlex.join(A.rename_argv(old, c.name + OLD_SUFFIX)),
        "m=1",
        on_new(shlex.join(A.rename_argv(NEW_REF, c.name))),
    ]
    failed = _q(f"fleetform: {c.name}: the new container failed beside the old one")
    put_back = _q(f"fleetform: {c.name}: the switch failed; the old container is put back")
    running = "{{.State.Running}}"
    return "".join(
        [
            f"( {drop_kept(c)} ) || exit 1; ",
            f"new=$({shlex.join(create)}) || exit 1; m=; ",
            f"if ! ( {on_new(join_steps(prepare))} ); then {drop_new}; exit 1; fi; "
            if prepare
            else "",
            f"if ! {{ {' && '.join(gate)}; }}; then echo {failed} >&2; {drop_new}; exit 1; fi; ",
            f"r=$(docker container inspect --format {_q(running)} {_q(old)}) ",
            f"|| {{ {drop_new}; exit 1; }}; ",
            f"if {' && '.join(switch)}; then :; ",
            f"else echo {put_back} >&2; {drop_new}; ",
            f'if [ -n "$m" ]; then {shlex.join(A.rename_argv(old, c.name))}; fi; ',
            f'if [ "$r" = true ]; then {shlex.join(A.start_argv(old))} >/dev/null; fi; ',
            "exit 1; fi",
        ]
    )


def rollout_recreate_command(
    action: Action, monitor_seconds: float, env_dir: str = SECRET_ENV_DIR
) -> str:
    """:func:`recreate_command` for a batch of a rollout (docs/rollouts.md).

    With ``update_config.order: start-first`` the new container passes its
    gate beside the old one first (:func:`_start_first`).

    The new container must also stay up for ``monitor_seconds`` after its
    health wait (:func:`~fleetform.executor.shell.monitor_command`), or the
    old one is put back as on any failure; and on success the old container
    is kept, stopped, as ``<name>.fleetform-old``: :func:`swap_back_command`
    returns to it if the rollout fails, and it stays as the previous container
    (for ``fleetform rollback``) once the rollout passed; a kept container
    from an earlier rollout is superseded first.  The secret env file, if any,
    goes when the command exits.
    """
    c = action.container
    assert c is not None
    old = action.container_id or c.name
    env_file = env_file_of(c, env_dir)
    start_first = c.service.update_config.order == "start-first" and c.state == "running"
    swap = (
        _start_first(action, c, env_dir, monitor_seconds)
        if start_first
        # The previous rollout's kept container (if any) is superseded: it goes
        # first, so the old container can take its name.
        else f"( {drop_kept(c)} ) || exit 1; "
        + swap_in(action, c, env_dir, keep_old=True, monitor=monitor_seconds)
    )
    command = if_owned(old, action.owner_stack, swap, gone_then_create(c, env_dir))
    return f"{remove_on_exit(env_file)}; {command}" if env_file else command


def gone_then_create(c: DesiredContainer, env_dir: str) -> str:
    """A rollout's unit whose old container is gone since the plan: create it, after
    dropping any kept container of an earlier revision (a rollback of this run must
    find none rather than start that one)."""
    return f"{{ ( {drop_kept(c)} ) || exit 1; {create_and_start(c, env_dir)}; }}"


def swap_back_command(action: Action, monitor_seconds: float | None = None) -> str:
    """Go back to the kept old container of a rolled-out recreate.

    The new container (checked to be the stack's) is removed without
    ``--volumes``: the anonymous volumes it mounts are the old container's,
    carried over, and stay.  The kept container gets its name back and starts;
    with ``monitor_seconds`` it must then become healthy and stay up that long
    (``rollback_config.monitor``), or the command fails.
    """
    c = action.container
    assert c is not None
    if monitor_seconds is not None and c.service.rollback_config.order == "start-first":
        return _start_first_back(action, monitor_seconds)
    if monitor_seconds is not None:
        gate = [
            wait_healthy_command(c.name, health_wait_seconds(c)),
            monitor_command(c.name, monitor_seconds),
        ]
        # The kept one started at the end of the swap: the window's baseline follows.
        return f"( {swap_back_command(action)} ) && {baseline_command(c.name)} && " + " && ".join(
            f"( {g} )" for g in gate
        )
    kept = c.name + OLD_SUFFIX
    stack = c.stack
    back = join_steps(
        [
            f"{shlex.join(A.rm_argv(c.name, force=True))} >/dev/null",
            shlex.join(A.rename_argv(kept, c.name)),
            f"{shlex.join(A.start_argv(c.name))} >/dev/null",
        ]
    )
    missing = _q(f"fleetform: {c.name}: no kept container to go back to")
    rename_start = join_steps(
        [shlex.join(A.rename_argv(kept, c.name)), f"{shlex.join(A.start_argv(c.name))} >/dev/null"]
    )
    return if_owned(
        kept,
        stack,
        if_owned(c.name, stack, back, rename_start),
        f"echo {missing} >&2; exit 1",
    )


def _start_first_back(action: Action, monitor_seconds: float) -> str:
    """``rollback_config.order: start-first``: the kept container starts (under its
    kept name) and passes its health wait and monitor while the new one still
    runs; then the new one is removed and the kept one takes the name."""
    c = action.container
    assert c is not None
    kept = c.name + OLD_SUFFIX
    gate = [
        f"{shlex.join(A.start_argv(kept))} >/dev/null",
        baseline_command(kept),
        f"( {wait_healthy_command(kept, health_wait_seconds(c))} )",
        f"( {monitor_command(kept, monitor_seconds)} )",
    ]
    failed = _q(f"fleetform: {c.name}: the kept container failed to start again")
    switch = join_steps(
        [
            f"{shlex.join(A.rm_argv(c.name, force=True))} >/dev/null",
            shlex.join(A.rename_argv(kept, c.name)),
        ]
    )
    back = (
        f"if ! {{ {' && '.join(gate)}; }}; then echo {failed} >&2; "
        f"{shlex.join(A.stop_argv(kept, None))} >/dev/null 2>&1; exit 1; fi; {switch}"
    )
    missing = _q(f"fleetform: {c.name}: no kept container to go back to")
    return if_owned(
        kept, c.stack, if_owned(c.name, c.stack, back, back), f"echo {missing} >&2; exit 1"
    )


def drop_kept(c: DesiredContainer) -> str:
    """Remove ``c``'s kept previous container, if the stack's (never ``--volumes``)."""
    kept = c.name + OLD_SUFFIX
    return if_owned(kept, c.stack, f"{shlex.join(A.rm_argv(kept, force=True))} >/dev/null")
