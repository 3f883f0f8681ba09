"""Loading pyinfra inventories into the hosts fleetform targets.

fleetform takes the same inventories as ``pyinfra``: an inventory file
(``inventory/lab.py``), a comma-separated host list, or a connector such as
``@local``.  ``--limit`` narrows the targets by host or group name.

Example::

    >>> inv = load_inventory("@fake/web-1,@fake/db-1", ["@fake/db-1"])
    >>> [t.name for t in inv.targets]
    ['@fake/db-1']

With ``inventory/lab.py`` and ``["db"]`` the target is the lab's last host.

``@local`` (pull mode: a host converging itself) has no name in the fleet's
inventory, so a stack naming hosts would never select it.  ``--host-name
NAME`` / ``FLEETFORM_HOST_NAME`` gives it one: under ``-i @local``, stacks
and ``--limit`` naming ``NAME`` select this host (docs/gitops-agents.md).
Other inventories ignore it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class InventoryError(Exception):
    """The inventory could not be loaded, or the limit matches nothing."""


#: the environment variable (and ``--host-name``) naming ``@local`` in the fleet's inventory
HOST_NAME_ENV = "FLEETFORM_HOST_NAME"
_HOST_NAME = re.compile(r"^[A-Za-z0-9_.@/-]+$")


def local_host_name(spec: str) -> str | None:
    """The inventory name ``@local`` answers to (None: none given, or not ``@local``).

    >>> os.environ[HOST_NAME_ENV] = "web-3"
    >>> local_host_name("@local"), local_host_name("inventory/prod.py")
    ('web-3', None)
    >>> del os.environ[HOST_NAME_ENV]
    """
    value = os.environ.get(HOST_NAME_ENV, "").strip()
    if spec.strip() != "@local" or not value:
        return None
    if not _HOST_NAME.match(value):
        raise InventoryError(
            f"--host-name / {HOST_NAME_ENV}: {value!r} is not a host name "
            "(letters, digits and . _ - @ / only)"
        )
    return value


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
    # pyinfra raises many kinds for a bad inventory file, and the file itself
    # may raise anything, sys.exit() included
    except (Exception, SystemExit) as exc:
        raise InventoryError(f"{spec}: cannot load inventory: {_describe(exc, spec)}") from None
    finally:
        pyinfra_logger.removeHandler(handler)

    alias = local_host_name(spec)
    all_hosts = list(inventory)
    if not all_hosts:
        detail = buf.getvalue().strip()
        raise InventoryError(f"{spec}: inventory has no hosts" + (f" ({detail})" if detail else ""))

    def groups(host: Any) -> frozenset[str]:
        return frozenset(host.groups) | ({alias} if alias and host.name == "@local" else set())

    wanted = split_limits(limits)
    hosts = all_hosts
    if wanted:
        known = {h.name for h in all_hosts} | {g for h in all_hosts for g in groups(h)}
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise InventoryError(
                f"--limit {', '.join(unknown)}: no such host or group in {spec} "
                f"(known: {', '.join(sorted(known))})"
            )
        hosts = [h for h in all_hosts if h.name in wanted or groups(h) & set(wanted)]
    problems = [p for h in hosts for p in host_data_problems(h.name, h.data)]
    if problems:
        raise InventoryError(f"{spec}: " + f"\n{spec}: ".join(problems))
    targets = [TargetHost(h.name, groups(h)) for h in hosts]
    return LoadedInventory(inventory=inventory, targets=targets, hosts=hosts, state=state)


def _describe(exc: BaseException, spec: str) -> str:
    """One line for an exception raised while loading inventory file ``spec``."""
    # pyinfra wraps what the file raised; the wrapper's own str() fails
    inner = getattr(exc, "exception", None)
    if isinstance(inner, BaseException):
        exc = inner
    if isinstance(exc, SystemExit):
        return f"the inventory file called sys.exit({exc.code!r})"
    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not hide the error itself
        text = ""
    where = [
        f"line {frame.lineno}: "
        for frame in traceback.extract_tb(exc.__traceback__)
        if Path(frame.filename).resolve() == Path(spec).resolve()
    ]
    return f"{where[-1] if where else ''}{type(exc).__name__}" + (f": {text}" if text else "")


#: host data fleetform reads: registry -> CA PEM, and stack files (plain pyinfra)
REGISTRIES_DATA = "fleetform_registries"
STACKS_DATA = "fleetform_stacks"
_PEM = "-----BEGIN CERTIFICATE-----"


def host_data_problems(name: str, data: Any) -> list[str]:
    """Type errors in the host data fleetform reads, one message each.

    ``fleetform_registries`` maps registry names (``host[:port]``) to CA
    certificates as PEM text; ``fleetform_stacks`` is a list of stack files or
    one comma-separated string.
    """
    problems = []
    registries = data.get(REGISTRIES_DATA)
    if registries is not None:
        if not isinstance(registries, Mapping):
            problems.append(
                f"host {name}: {REGISTRIES_DATA} must map registry names to CA "
                f"certificates (PEM text), not {type(registries).__name__}"
            )
        else:
            for registry, pem in registries.items():
                if not isinstance(registry, str) or not registry:
                    problems.append(
                        f"host {name}: {REGISTRIES_DATA}: registry names are "
                        f"host[:port] strings, not {registry!r}"
                    )
                elif not isinstance(pem, str) or _PEM not in pem:
                    problems.append(
                        f"host {name}: {REGISTRIES_DATA}[{registry!r}] is not a PEM "
                        f"certificate (no `{_PEM}` line)"
                    )
    stacks = data.get(STACKS_DATA)
    if stacks is not None and not (
        isinstance(stacks, str)
        or (isinstance(stacks, list | tuple) and all(isinstance(s, str) for s in stacks))
    ):
        problems.append(
            f"host {name}: {STACKS_DATA} must be a list of stack files or a "
            f"comma-separated string, not {stacks!r}"
        )
    return problems


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
