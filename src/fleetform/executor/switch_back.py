"""Going back to a kept container through the proxy, start-first (docs/proxy.md).

The way back runs the forward switch's steps (:mod:`fleetform.executor.switch`)
the other way round: the kept container starts, passes its healthcheck and
HAProxy's check in the free slot of its pair, and only then does the
current one drain and leave.

- :func:`switch_back_command`: the automatic rollback of a failed rollout;
  the current container is removed and the kept one takes its name.
- :func:`kept_switch_command`: ``fleetform rollback``; the two trade names,
  so the replaced one is kept and a second rollback goes forth again.

Example::

    run_marked(session, [(swap.host, swap.name, kept_switch_command(...))])
"""

from __future__ import annotations

import shlex

from fleetform.executor import argv as A
from fleetform.executor.shell import (
    baseline_command,
    if_owned,
    monitor_command,
    wait_healthy_command,
)
from fleetform.executor.slot_functions import deciseconds, functions, functions_of
from fleetform.executor.steps import OLD_SUFFIX, health_wait_seconds
from fleetform.executor.switch import NOT_BACK, has_health
from fleetform.plan.actions import Action
from fleetform.revisions.rollback import ProxySwitch

_q = shlex.quote


def switch_back_command(action: Action, monitor_seconds: float) -> str:
    """Back to the kept container of a start-first replacement, through the proxy.

    The kept container starts under its kept name, passes its healthcheck and
    HAProxy's check in the free slot, the current one drains and is removed
    (without ``--volumes``: its anonymous volumes are the kept one's), and the
    kept one gets its name back and is watched for ``monitor_seconds``.
    """
    c = action.container
    assert c is not None and c.service.proxy is not None
    proxy = c.service.proxy
    kept = c.name + OLD_SUFFIX
    healthy = f"( {wait_healthy_command(kept, health_wait_seconds(c))} )" if has_health(c) else ":"
    up = [
        f"{shlex.join(A.start_argv(kept))} >/dev/null",
        baseline_command(kept),
        healthy,
        f'kip=$(ff_ip {_q(kept)}) && [ -n "$kip" ]',
        f'ff_set "$ns" "addr $kip port {proxy.target_port}"',
        'ff_set "$ns" "state ready"',
        'ff_up "$ns"',
    ]
    failed = _q(f"fleetform: {c.name}: the kept container failed; the current one keeps serving")
    half = _q(f"fleetform: {c.name}: going back to the kept container failed half-way")
    fail = "; ".join(
        [
            'ff_set "$ns" "state maint" 2>/dev/null',
            f"{shlex.join(A.stop_argv(kept, None))} >/dev/null 2>&1",
            f"echo {failed} >&2",
            "exit 1",
        ]
    )
    switch = "\n".join(
        [
            functions_of(c),
            f"cip=$(ff_ip {_q(c.name)}) || cip=",
            'ff_pick "$cip"',
            f"if ! {{ {' && '.join(up)}; }}; then {fail}; fi",
            # One chain: a step that fails stops the rest and fails the command
            # (the current one is removed only once it left the rotation).
            " && ".join(
                [
                    f'{{ [ -z "$os" ] || ff_drain "$os" {deciseconds(proxy.drain)}; }}',
                    f"{shlex.join(A.rm_argv(c.name, force=True))} >/dev/null",
                    shlex.join(A.rename_argv(kept, c.name)),
                    f"( {monitor_command(c.name, monitor_seconds)} )",
                ]
            )
            + f" || {{ echo {half} >&2; exit 1; }}",
        ]
    )
    missing = _q(f"fleetform: {c.name}: no kept container to go back to")
    rename_start = " && ".join(
        [shlex.join(A.rename_argv(kept, c.name)), f"{shlex.join(A.start_argv(c.name))} >/dev/null"]
    )
    return if_owned(
        kept,
        c.stack,
        if_owned(c.name, c.stack, f"( {switch}\n)", rename_start),
        f"echo {missing} >&2; exit 1",
    )


def kept_switch_command(
    name: str,
    stack: str,
    replica: int,
    proxy: ProxySwitch,
    monitor: float,
    wait: int,
    swap_suffix: str,
) -> str:
    """``fleetform rollback``'s swap of a proxied replica, start-first through the proxy.

    The kept container (``<name>.fleetform-old``) starts, passes its healthcheck
    and HAProxy's check in the free slot of the pair, the running one drains,
    goes to ``maint`` and stops, and the two trade names: the running one is
    kept, so a second rollback goes forth again.  Before the switch a failure
    stops the kept container again (the running one never stopped serving);
    after it (the kept one fails its ``monitor`` window) the running one
    starts again, serves from the other slot, then the kept one drains and
    stops, and both get their names back.
    """
    kept, tmp = name + OLD_SUFFIX, name + swap_suffix
    port = proxy.target_port
    running = "{{.State.Running}}"
    up = [
        f"{shlex.join(A.start_argv(kept))} >/dev/null",
        baseline_command(kept),
        f"( {wait_healthy_command(kept, wait)} )",
        f'kip=$(ff_ip {_q(kept)}) && [ -n "$kip" ]',
        f'ff_set "$ns" "addr $kip port {port}"',
        'ff_set "$ns" "state ready"',
        'ff_up "$ns"',
    ]
    failed = _q(f"fleetform: {name}: the kept container failed; the running one keeps serving")
    not_up = "; ".join(
        [
            'ff_set "$ns" "state maint" 2>/dev/null',
            f"{shlex.join(A.stop_argv(kept, None))} >/dev/null 2>&1",
            f"echo {failed} >&2",
            "exit 1",
        ]
    )
    hand_over = [
        f"{shlex.join(A.stop_argv(name, None))} >/dev/null",
        shlex.join(A.rename_argv(name, tmp)),
        "s=1",
        shlex.join(A.rename_argv(kept, name)),
        "s=2",
        f"( {monitor_command(name, monitor)} )",
    ]
    back = _q(
        f"fleetform: {name}: the kept container did not stay up; putting the running one back"
    )
    # The one that ran serves again (its address may have changed) before the other goes.
    serve_again = " && ".join(
        [
            f"{shlex.join(A.start_argv(name))} >/dev/null",
            f"( {wait_healthy_command(name, wait)} )",
            f"rip=$(ff_ip {_q(name)})",
            f'ff_set "$xs" "addr $rip port {port}"',
            'ff_set "$xs" "state ready"',
            'ff_up "$xs"',
        ]
    )
    # The kept one leaves the rotation and stops only once the names are back
    # and the one that ran serves again: never both gone.
    leave = f'ff_drain "$ns" 10; {shlex.join(A.stop_argv(kept, None))} >/dev/null 2>&1'
    stays = _q(f"fleetform: {name}: {NOT_BACK}; the kept one stays in the rotation")
    is_back = _q(f"fleetform: {name}: the running one is back")
    put_back = "; ".join(
        [
            f"echo {back} >&2",
            f'{{ [ "$s" -lt 2 ] || {shlex.join(A.rename_argv(name, kept))}; }} && '
            f'{{ [ "$s" -lt 1 ] || {shlex.join(A.rename_argv(tmp, name))}; }} && '
            f'{{ [ "$was" != true ] || {{ {serve_again}; }}; }} && {{ {leave}; }} '
            f"&& echo {is_back} >&2 || echo {stays} >&2",
            "exit 1",
        ]
    )
    switch = "\n".join(
        [
            functions(proxy.backend, proxy.network, stack, replica),
            # (not $r: ff_set uses it)
            f"was=$(docker container inspect --format {_q(running)} {_q(name)}) || exit 1",
            f'cip=; if [ "$was" = true ]; then cip=$(ff_ip {_q(name)}) || cip=; fi',
            'ff_pick "$cip"',
            f"if ! {{ {' && '.join(up)}; }}; then {not_up}; fi",
            f'if [ -n "$os" ]; then ff_drain "$os" {deciseconds(proxy.drain)}; fi',
            "s=0",
            f"if {' && '.join(hand_over)}; then {shlex.join(A.rename_argv(tmp, kept))}; "
            f"else {put_back}; fi",
        ]
    )
    gone = _q(f"fleetform: {name} is not on the host any more")
    no_kept = _q(f"fleetform: {name} has no kept container any more")
    return if_owned(
        kept,
        stack,
        if_owned(name, stack, f"( {switch}\n)", f"echo {gone} >&2; exit 1"),
        f"echo {no_kept} >&2; exit 1",
    )
