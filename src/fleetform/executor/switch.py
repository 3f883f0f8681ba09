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
:func:`switch_back_command` runs the same steps the other way round (an
automatic rollback).

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
from fleetform.proxy.host import HAPX
from fleetform.proxy.slots import address_format, pair
from fleetform.revisions.rollback import ProxySwitch

#: How long HAProxy's own check may take to pass a new replica (seconds).
CHECK_WAIT = 60
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


def _functions_of(c: DesiredContainer) -> str:
    network = c.spec.networks[0].name if c.spec.networks else "bridge"
    return functions(f"{c.stack}-{c.service.name}", network, c.stack, c.replica)


def functions(backend: str, network: str, stack: str, replica: int) -> str:
    """Shell functions over one replica's slot pair in ``backend``, addresses on ``network``.

    ``ff_pick ADDR`` sets ``$os`` (the slot serving ADDR, or empty), ``$ns`` (the
    other slot of the pair, for the container coming in) and ``$xs`` (the slot
    that is not ``$ns``, for putting the old one back).
    """
    fmt = _q(address_format(network, stack))
    show = _q(f"show servers state {backend}")
    tries = CHECK_WAIT * 5
    first, second = pair(replica)
    return "\n".join(
        [
            HAPX,
            f'ff_set() {{ r=$(ff_hapx "set server {backend}/$1 $2") || return 1; '
            'case "$r" in ""|"IP changed"*|"no need"*) return 0 ;; esac; '
            'echo "fleetform: the proxy refused: $r" >&2; return 1; }',
            # address | op state | admin bits of a slot
            f'ff_slot() {{ ff_hapx {show} | awk -v s="$1" \'$4==s {{print $5"|"$6"|"$7}}\'; }}',
            f'ff_ip() {{ docker container inspect --format {fmt} "$1" | cut -d"|" -f3; }}',
            # A slot serves an address: ready (no maintenance bit) at that address.
            'ff_holds() { _h=$(ff_slot "$1"); _ha=${_h%%|*}; _hb=${_h##*|}; '
            '[ -n "$2" ] && [ "$_ha" = "$2" ] && [ $((_hb & 35)) -eq 0 ]; }',
            f'ff_up() {{ i=0; while [ $i -lt {tries} ]; do s=$(ff_slot "$1"); o=${{s#*|}}; '
            '[ "${o%%|*}" = 2 ] && return 0; sleep 0.2; i=$((i+1)); done; '
            f'echo "fleetform: the proxy\'s check of {backend}/$1 did not pass" >&2; return 1; }}',
            # Drain: no new requests; up to $2 tenths of a second for the current ones.
            'ff_drain() { ff_set "$1" "state drain"; i=0; while [ $i -lt "$2" ]; do '
            f'n=$(ff_hapx \'show stat\' | awk -F, -v s="$1" \'$1=="{backend}" && $2==s '
            '{print $5}\'); [ "${n:-0}" = 0 ] && break; sleep 0.1; i=$((i+1)); done; '
            'ff_set "$1" "state maint"; }',
            # The pair slot serving $1's address -> $os (empty: none), the other -> $ns.
            f"ff_pick() {{ os=; ns={first}; xs={second}; "
            + f'if ff_holds {first} "$1"; then os={first}; ns={second}; xs={first}; '
            + f'elif ff_holds {second} "$1"; then os={second}; fi; }}',
        ]
    )


def _deciseconds(ns: int) -> int:
    return max(0, ns // 100_000_000)


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
    if _has_health(c):
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
        f'if [ -n "$os" ]; then ff_drain "$os" {_deciseconds(proxy.drain)}; fi',
        f"{shlex.join(A.stop_argv(old, action.stop_timeout))} >/dev/null",
        "h=1",
        shlex.join(A.rename_argv(old, c.name + OLD_SUFFIX)),
        "h=2",
        f'docker rename "$new" {_q(c.name)}',
    ]
    healthy = [f"( {wait_healthy_command(old, health_wait_seconds(c))} )"] if _has_health(c) else []
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
            _functions_of(c),
            f"( {drop_kept(c)} ) || exit 1",
            f"new=$({shlex.join(create)}) || exit 1",
            f"oip=$(ff_ip {_q(old)}) || oip=",
            'ff_pick "$oip"',
            f"if ! {{ {' && '.join(steps)}; }}; then {back_out}; fi",
            f"h=0; {' && '.join(hand_over)} || {{ {half_way}; }}",
            f"if ! ( {monitor_command(c.name, monitor)} ); then {restore}; fi",
        ]
    )


def _has_health(c: DesiredContainer) -> bool:
    return c.spec.healthcheck is not None and c.spec.healthcheck.test != ("NONE",)


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
    healthy = f"( {wait_healthy_command(kept, health_wait_seconds(c))} )" if _has_health(c) else ":"
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
            _functions_of(c),
            f"cip=$(ff_ip {_q(c.name)}) || cip=",
            'ff_pick "$cip"',
            f"if ! {{ {' && '.join(up)}; }}; then {fail}; fi",
            # One chain: a step that fails stops the rest and fails the command
            # (the current one is removed only once it left the rotation).
            " && ".join(
                [
                    f'{{ [ -z "$os" ] || ff_drain "$os" {_deciseconds(proxy.drain)}; }}',
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
            f'if [ -n "$os" ]; then ff_drain "$os" {_deciseconds(proxy.drain)}; fi',
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
