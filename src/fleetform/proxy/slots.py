"""Which replica serves from which backend slot: reading a host, and the runtime API
commands that set every slot right.

Replica ``k`` owns the slot pair ``s(2k-1)``, ``s(2k)``
(:attr:`fleetform.proxy.config.ProxiedService.slots`): the running container
takes one, a start-first replacement the other (:mod:`fleetform.executor.switch`).
After containers were created or started, :func:`slot_commands` puts each
running replica's address into a slot of its pair (unless one already serves
it) and every other slot into maintenance: a slot left ready at an old
address would be a stale backend.

    >>> slot_commands(SlotTarget("demo", "web", 1, 8080, "demo_default"), {1: "172.18.0.5"}, ())
    ['set server demo-web/s1 addr 172.18.0.5 port 8080', 'set server demo-web/s1 state ready']
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fleetform.model import LABEL_STACK
from fleetform.proxy.runtime import (
    RuntimeReplyError,
    ServerState,
    parse_servers_state,
    set_server_addr,
    set_server_state,
    show_servers_state,
)

_BEGIN, _STATE, _END = "@fleetform-backend", "@fleetform-state", "@fleetform-end"


def pair(replica: int) -> tuple[str, str]:
    """The two slots of replica ``replica`` (1-based)."""
    return f"s{2 * replica - 1}", f"s{2 * replica}"


@dataclass(frozen=True)
class SlotTarget:
    """One proxied service on one host, as the slots need it."""

    stack: str
    service: str
    replicas: int
    target_port: int
    network: str  # the stack network the proxy reaches the replicas on

    @property
    def backend(self) -> str:
        return f"{self.stack}-{self.service}"

    def container(self, replica: int) -> str:
        return f"{self.stack}-{self.service}-{replica}"


def address_format(network: str, stack: str) -> str:
    """``docker inspect`` format: ``<stack label> <running> <address on network>``."""
    return (
        f'{{{{index .Config.Labels "{LABEL_STACK}"}}}}|{{{{.State.Running}}}}|'
        f'{{{{with index .NetworkSettings.Networks "{network}"}}}}{{{{.IPAddress}}}}{{{{end}}}}'
    )


def read_script(targets: Iterable[SlotTarget]) -> str:
    """Print each backend's running replicas (address) and its ``show servers state``."""
    lines = []
    for t in targets:
        lines.append(f"echo {shlex.quote(f'{_BEGIN} {t.backend}')}")
        fmt = shlex.quote(address_format(t.network, t.stack))
        for k in range(1, t.replicas + 1):
            name = shlex.quote(t.container(k))
            lines.append(
                f'echo "{k}|$(docker container inspect --format {fmt} {name} 2>/dev/null)"'
            )
        lines.append(f"echo {_STATE}")
        lines.append(f"ff_hapx {shlex.quote(show_servers_state(t.backend))}")
        lines.append(f"echo {_END}")
    return "\n".join(lines)


def parse_read(
    text: str, targets: Iterable[SlotTarget]
) -> dict[str, tuple[dict[int, str], tuple[ServerState, ...]]]:
    """Backend -> (replica -> address of its running container, the backend's slots)."""
    stacks = {t.backend: t.stack for t in targets}
    out: dict[str, tuple[dict[int, str], tuple[ServerState, ...]]] = {}
    backend: str | None = None
    running: dict[int, str] = {}
    state: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(_BEGIN + " "):
            backend, running, state = line.split()[1], {}, None
        elif backend is None:
            continue
        elif line == _STATE:
            state = []
        elif line == _END:
            try:
                states = parse_servers_state("\n".join(state or []))
            except RuntimeReplyError:
                states = ()  # HAProxy not installed or not running yet: no slot serves
            out[backend] = (running, states)
            backend = None
        elif state is not None:
            state.append(line)
        else:
            k, _, rest = line.partition("|")
            label, is_running, address = [*rest.split("|"), "", ""][:3]
            # Only the stack's own running containers are put behind its proxy.
            if label == stacks.get(backend) and is_running == "true" and address:
                running[int(k)] = address
    return out


def wanted_slots(
    target: SlotTarget, running: Mapping[int, str], states: Iterable[ServerState]
) -> dict[str, str]:
    """Slot -> address of the replica it should serve: every running replica in one
    slot of its pair, the one serving it already if any (``running``: replica
    number -> its container's address on the stack network)."""
    by_slot = {s.server: s for s in states if s.backend == target.backend}
    out: dict[str, str] = {}
    for k, address in sorted(running.items()):
        if not 1 <= k <= target.replicas:
            continue
        slots = pair(k)

        def serves(slot: str, address: str = address) -> bool:
            s = by_slot.get(slot)
            return (
                s is not None
                and s.admin == "ready"
                and s.address == address
                and s.port == target.target_port
            )

        keep = next((slot for slot in slots if serves(slot)), None)
        if keep is None:
            free = [slot for slot in slots if slot not in by_slot or by_slot[slot].admin == "maint"]
            keep = (free or list(slots))[0]
        out[keep] = address
    return out


def serving_slots(backend: str, states: Iterable[ServerState]) -> dict[str, str]:
    """Slot -> address of the slots that serve now: ready and passing their checks (a
    backend left as it is).  A ready slot failing its checks is not carried into
    the file: it may point anywhere, even at the proxy's own port."""
    return {s.server: s.address for s in states if s.backend == backend and s.serving}


def slot_commands(
    target: SlotTarget, running: Mapping[int, str], states: Iterable[ServerState]
) -> list[str]:
    """The runtime API lines that make the backend's slots match ``running``.

    Nothing when the slots match already.
    """
    states = tuple(states)
    by_slot = {s.server: s for s in states if s.backend == target.backend}
    wanted = wanted_slots(target, running, states)
    out: list[str] = []
    b = target.backend
    for k in range(1, target.replicas + 1):
        for slot in pair(k):
            s = by_slot.get(slot)
            if slot in wanted:
                serving = (
                    s is not None
                    and s.admin == "ready"
                    and s.address == wanted[slot]
                    and s.port == target.target_port
                )
                if not serving:
                    out.append(set_server_addr(b, slot, wanted[slot], target.target_port))
                    out.append(set_server_state(b, slot, "ready"))
    for k in range(1, target.replicas + 1):
        for slot in pair(k):
            s = by_slot.get(slot)
            if slot not in wanted and s is not None and s.admin != "maint":
                out.append(set_server_state(b, slot, "maint"))
    return out
