"""Shell functions over one proxied replica's slot pair, for the switches through HAProxy.

The start-first switch of a rollout (:mod:`fleetform.executor.switch`), the
way back to a kept container (:mod:`fleetform.executor.switch_back`) and the
stop-first ``fleetform rollback`` that re-points a slot
(:mod:`fleetform.executor.rollback`) all drive the runtime API through these:
``ff_set`` (one ``set server`` line, refused answers fail), ``ff_slot``,
``ff_ip`` (a container's address on the stack network), ``ff_holds``,
``ff_up`` (wait for HAProxy's own check), ``ff_drain`` and ``ff_pick``
(which slot of the pair serves an address, which one is free).

    >>> "ff_pick()" in functions("demo-web", "demo_default", "demo", 1)
    True
"""

from __future__ import annotations

import shlex

from fleetform.plan.desired import DesiredContainer
from fleetform.proxy.host import HAPX
from fleetform.proxy.slots import address_format, pair

#: How long HAProxy's own check may take to pass a new replica (seconds).
CHECK_WAIT = 60

_q = shlex.quote


def functions_of(c: DesiredContainer) -> str:
    """:func:`functions` over ``c``'s slot pair (its stack's backend and first network)."""
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


def deciseconds(ns: int) -> int:
    """A duration in nanoseconds as the tenths of a second ``ff_drain`` counts."""
    return max(0, ns // 100_000_000)
