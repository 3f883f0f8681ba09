"""Loading pyinfra inventories into the hosts fleetform targets.

fleetform takes the same inventories as ``pyinfra``: an inventory file
(``inventory/lab.py``), a comma-separated host list, or a connector such as
``@local``.  ``--limit`` narrows the targets by host or group name.

Example::

    >>> inv = load_inventory("inventory/lab.py", ["db"])
    >>> [t.name for t in inv.targets]
    ['lab-3']
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class InventoryError(Exception):
    """The inventory could not be loaded, or the limit matches nothing."""


@dataclass(frozen=True)
class TargetHost:
    name: str
    groups: frozenset[str]


@dataclass
class LoadedInventory:
    inventory: Any  # pyinfra.api.Inventory
    targets: list[TargetHost]
    #: pyinfra Host objects of the targets (the limit), in inventory order.
    hosts: list[Any]
    #: the (not yet initialised) pyinfra State the inventory was loaded with
    state: Any = None

    def target(self, name: str) -> TargetHost:
        for t in self.targets:
            if t.name == name:
                return t
        raise KeyError(name)


def split_limits(limits: Iterable[str]) -> list[str]:
    """``["web,lab-3", "db"]`` -> ``["web", "lab-3", "db"]``."""
    return [part.strip() for item in limits for part in item.split(",") if part.strip()]


def load_inventory(spec: str, limits: Sequence[str] = ()) -> LoadedInventory:
    """Load ``spec`` with pyinfra's own inventory loader and apply ``--limit``."""
    from pyinfra.api.state import State
    from pyinfra.context import ctx_state
    from pyinfra_cli.inventory import make_inventory

    if not spec:
        raise InventoryError("no inventory given (-i INVENTORY)")
    if spec.endswith(".py") and not Path(spec).exists():
        raise InventoryError(f"{spec}: inventory file not found")
    # pyinfra logs a warning and returns an empty inventory for a name it
    # cannot resolve; capture that so we can turn it into one clear error.
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    pyinfra_logger = logging.getLogger("pyinfra")
    pyinfra_logger.addHandler(handler)
    # pyinfra executes inventory files with a State in context; the same
    # State is initialised later by the session (as pyinfra's own CLI does).
    state = State(check_for_changes=False)
    try:
        with contextlib.redirect_stdout(io.StringIO()), ctx_state.use(state):
            inventory = make_inventory(spec, cwd=str(Path.cwd()))
    except Exception as exc:  # pyinfra raises many kinds for a bad inventory file
        raise InventoryError(f"{spec}: cannot load inventory: {exc}") from exc
    finally:
        pyinfra_logger.removeHandler(handler)

    all_hosts = list(inventory)
    if not all_hosts:
        detail = buf.getvalue().strip()
        raise InventoryError(f"{spec}: inventory has no hosts" + (f" ({detail})" if detail else ""))

    wanted = split_limits(limits)
    hosts = all_hosts
    if wanted:
        known = {h.name for h in all_hosts} | {g for h in all_hosts for g in h.groups}
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise InventoryError(
                f"--limit {', '.join(unknown)}: no such host or group in {spec} "
                f"(known: {', '.join(sorted(known))})"
            )
        hosts = [h for h in all_hosts if h.name in wanted or set(h.groups) & set(wanted)]
    targets = [TargetHost(h.name, frozenset(h.groups)) for h in hosts]
    return LoadedInventory(inventory=inventory, targets=targets, hosts=hosts, state=state)


#: pyinfra's SSH connector setting; its own default, ``accept-new``, trusts
#: any key a host shows the first time, and wins over ``StrictHostKeyChecking``
#: in ~/.ssh/config.
HOST_KEY_CHECKING = "ssh_strict_host_key_checking"


def check_host_keys(hosts: Iterable[Any], accept_new: bool = False) -> None:
    """Strict SSH host key checking for ``hosts``, as ``fleetform verify`` has.

    A host whose key is not in known_hosts is refused (``yes``), or trusted and
    recorded when the user asked for it (``accept-new``, never ``no``).  A
    value the inventory sets itself is kept.  Must run before the pyinfra
    State is initialised: each connector reads host data when it is created.
    """
    policy = "accept-new" if accept_new else "yes"
    for host in hosts:
        if host.data.get(HOST_KEY_CHECKING) is None:
            setattr(host.data, HOST_KEY_CHECKING, policy)
