"""start-first replacement of a proxied replica, switched through HAProxy (docs/proxy.md).

Old and new run side by side; traffic moves by runtime API commands only, so
no request meets a stopped container:

1. the new container starts beside the old one, as ``<name>.fleetform-new``
   (a proxied service publishes no fixed host port: the rules refuse one),
   and passes its own healthcheck;
2. it takes the free slot of its replica's pair (:func:`fleetform.proxy.slots.pair`),
   ``ready``, and the command waits until HAProxy's own check says it runs;
3. the old slot drains (no new requests) for up to ``drain`` or until its
   sessions are 0, then goes to ``maint``;
4. the old container stops and stays as ``<name>.fleetform-old`` (the
   planner and ``fleetform rollback`` rely on that name); the new one takes
   ``<name>`` and is watched for ``monitor``.

On a failure before step 3 the new slot goes to ``maint``, the new container
is removed and the old slot stays ready.  On a failure during steps 3-4, or
if the new container fails its ``monitor`` window, the old one gets its name
back, starts again, takes the other slot of the pair (its address may have
changed) and passes HAProxy's check; only then does the new one drain and
go.  If the old one cannot serve again, the new one stays where it is and
the command says :data:`NOT_BACK`, so the rollout does not count the
replica as rolled back.

The way back to a kept container runs the same steps the other way round
(:mod:`fleetform.executor.switch_back`); the shell functions over the slot
pair are :mod:`fleetform.executor.slot_functions`.

Example::

    run_marked(session, [(unit.host, unit.name, start_first_command(unit.action, 5.0))])
"""

from __future__ import annotations

import shlex

from fleetform.executor import argv as A
from fleetform.executor.rollout_steps import drop_kept, gone_then_create
from fleetform.executor.shell import (
    baseline_command,
    if_owned,
    join_steps,
    monitor_command,
    remove_on_exit,
    wait_exit_zero_command,
    wait_healthy_command,
)
from fleetform.executor.slot_functions import deciseconds, functions_of
from fleetform.executor.steps import (
    NEW_REF,
    NEW_SUFFIX,
    OLD_SUFFIX,
    SECRET_ENV_DIR,
    WAIT_MAX,
    connect_steps,
    env_file_of,
    health_wait_seconds,
    on_new,
)
from fleetform.model import ProxyConfig
from fleetform.plan.actions import Action
from fleetform.plan.desired import DesiredContainer

#: Said (on stderr) by a switch that failed and could not put the replica's
#: previous container back: the rollout must not count it as rolled back.
NOT_BACK = "the previous container is not back"

_q = shlex.quote


def uses_switch(c: DesiredContainer | None, back: bool = False) -> bool:
    """Whether ``c``'s rollout (``back``: its rollback) switches start-first through the proxy."""
    if c is None or c.service.proxy is None:
        return False
    config = c.service.rollback_config if back else c.service.update_config
    return config.order == "start-first"


def has_health(c: DesiredContainer) -> bool:
    """Whether ``c`` has a healthcheck its switch waits for."""
    return c.spec.healthcheck is not None and c.spec.healthcheck.test != ("NONE",)


def _switch(
    action: Action, c: DesiredContainer, proxy: ProxyConfig, env_dir: str, monitor: float
) -> str:
    old = action.container_id or c.name
    new_name = c.name + NEW_SUFFIX
    create = A.container_create_argv(
        c, env_file_of(c, env_dir), name=new_name, carried=action.carried_volumes
    )
    port = proxy.target_port
    prepare = [on_new(step) for step in connect_steps(c, NEW_REF)]
    # The one-shot jobs it depends on (a migration) completed, as for any recreate.
    prepare += [wait_exit_zero_command(dep, WAIT_MAX) for dep in c.after_exit]
    steps = [
        f"( {join_steps(prepare)} )" if prepare else ":",
        on_new(f"{shlex.join(A.start_argv(NEW_REF))} >/dev/null"),
        # the monitor window's baseline: a restart from here on fails it
        on_new(baseline_command(NEW_REF)),
    ]
    if has_health(c):
        steps.append(f"( {wait_healthy_command(new_name, health_wait_seconds(c))} )")
    steps += [
        'nip=$(ff_ip "$new") && [ -n "$nip" ]',
        f'ff_set "$ns" "addr $nip port {port}"',
        'ff_set "$ns" "state ready"',
        'ff_up "$ns"',
    ]
    failed = _q(f"fleetform: {c.name}: the new container failed; the old one keeps serving")
    back_out = "; ".join(
        [
            'ff_set "$ns" "state maint" 2>/dev/null',
            on_new(f"{shlex.join(A.rm_argv(NEW_REF, force=True))} >/dev/null 2>&1"),
            f"echo {failed} >&2",
            "exit 1",
        ]
    )
    # Requests leave the old container before it stops; it is kept for rollback.
    # $h counts the steps done, so a failure half-way undoes exactly those.
    hand_over = [
        f'if [ -n "$os" ]; then ff_drain "$os" {deciseconds(proxy.drain)}; fi',
        f"{shlex.join(A.stop_argv(old, action.stop_timeout))} >/dev/null",
        "h=1",
        shlex.join(A.rename_argv(old, c.name + OLD_SUFFIX)),
        "h=2",
        f'docker rename "$new" {_q(c.name)}',
    ]
    healthy = [f"( {wait_healthy_command(old, health_wait_seconds(c))} )"] if has_health(c) else []
    # The old one serves again (from the other slot of the pair, at its
    # address after a restart) before the new one leaves; if it cannot, the
    # new one stays where it is: never both gone.
    old_serves = " && ".join(
        [
            f"{shlex.join(A.start_argv(old))} >/dev/null",
            *healthy,
            f'oip=$(ff_ip {_q(old)}) && [ -n "$oip" ]',
            f'ff_set "$xs" "addr $oip port {port}"',
            'ff_set "$xs" "state ready"',
            'ff_up "$xs"',
        ]
    )
    not_back = _q(f"fleetform: {c.name}: {NOT_BACK}: it did not serve again; the new one stays")
    half = _q(f"fleetform: {c.name}: the switch failed half-way; putting the old one back")
    back = _q(f"fleetform: {c.name}: the old one is back")
    half_way = "; ".join(
        [
            f"echo {half} >&2",
            f'if [ "$h" -ge 2 ]; then {shlex.join(A.rename_argv(old, c.name))} '
            f"|| {{ echo {not_back} >&2; exit 1; }}; fi",
            f"if {old_serves}; then "
            + on_new(
                f'ff_drain "$ns" 10; {shlex.join(A.rm_argv(NEW_REF, force=True))} >/dev/null; '
            )
            + f"echo {back} >&2; else echo {not_back} >&2; fi",
            "exit 1",
        ]
    )
    # The new container failed its monitor window: the old one serves again
    # before the new one goes.
    put_back = _q(
        f"fleetform: {c.name}: the new container did not stay up; putting the old one back"
    )
    untidy = _q(f"fleetform: {c.name}: the old one serves again; removing the new one failed")
    restore = "; ".join(
        [
            f"echo {put_back} >&2",
            f"if {old_serves}; then "
            + " && ".join(
                [
                    'ff_drain "$ns" 10',
                    on_new(f"{shlex.join(A.rm_argv(NEW_REF, force=True))} >/dev/null"),
                    shlex.join(A.rename_argv(old, c.name)),
                ]
            )
            + f" && echo {back} >&2 || echo {untidy} >&2; else echo {not_back} >&2; fi",
            "exit 1",
        ]
    )
    return "\n".join(
        [
            functions_of(c),
            f"( {drop_kept(c)} ) || exit 1",
            f"new=$({shlex.join(create)}) || exit 1",
            f"oip=$(ff_ip {_q(old)}) || oip=",
            'ff_pick "$oip"',
            f"if ! {{ {' && '.join(steps)}; }}; then {back_out}; fi",
            f"h=0; {' && '.join(hand_over)} || {{ {half_way}; }}",
            f"if ! ( {monitor_command(c.name, monitor)} ); then {restore}; fi",
        ]
    )


def start_first_command(
    action: Action, monitor_seconds: float, env_dir: str = SECRET_ENV_DIR
) -> str:
    """The rollout command of one proxied replica, start-first (see the module)."""
    c = action.container
    assert c is not None and c.service.proxy is not None
    old = action.container_id or c.name
    env_file = env_file_of(c, env_dir)
    command = if_owned(
        old,
        action.owner_stack,
        f"( {_switch(action, c, c.service.proxy, env_dir, monitor_seconds)}\n)",
        gone_then_create(c, env_dir),
    )
    return f"{remove_on_exit(env_file)}; {command}" if env_file else command
