"""How one container field is declared, read, compared, passed to Docker and shown.

A :class:`Field` is one row of the container field table
(:data:`fleetform.plan.spec.FIELDS`): it names a :class:`~fleetform.plan.spec.ContainerSpec`
attribute once and binds it to everything that handles it:

- ``declared``: the value a stack's :class:`~fleetform.model.Service` asks for
  (:func:`fleetform.plan.desired.spec_for_service`);
- ``observed``: the value a ``docker inspect`` container entry shows
  (:func:`fleetform.observe.inspect.spec_from_inspect`);
- ``shape`` and ``show``: how two values are compared and shown in a plan
  (:func:`fleetform.plan.diff.diff_specs`);
- ``flag`` and ``arg``: the ``docker create`` option
  (:mod:`fleetform.executor.argv`); an ``in_place`` field also goes to
  ``docker update`` and stays out of the config hash.

A binding left ``None`` is written by hand where it is used (networks, mounts,
the healthcheck, the environment...): each of those modules lists the fields
it handles itself, and a test checks that every row is handled exactly once.

This module holds no field: only the row type and the readers and formatters
rows share, so it depends on nothing but the model.

Example::

    >>> user = Field("user", observed=config("User"), flag="--user")
    >>> user.observed({"Config": {"User": ""}}) is None
    True
    >>> user.create_args("1000:1000"), user.create_args(None)
    (['--user', '1000:1000'], [])
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fleetform.model import Service

Json = Mapping[str, Any]

#: How two values of a field compare: ``scalar`` (one value), ``set`` (items
#: added and removed; order alone shows as one change), ``pairs`` (key by key;
#: values of keys that look secret are masked).
Shape = Literal["scalar", "set", "pairs"]

UNSET = "(unset)"


def show(value: object) -> str:
    """One value as a plan shows it.

    >>> show(None), show(True), show(("a", "b")), show(5)
    ('(unset)', 'true', '["a", "b"]', '5')
    """
    if value is None:
        return UNSET
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return json.dumps(list(value))
    return str(value)


def show_bytes(value: int | None) -> str:
    """A byte count in the largest unit that divides it.

    >>> show_bytes(64 << 20), show_bytes(1000), show_bytes(None)
    ('64MiB', '1000', '(unset)')
    """
    if value is None:
        return UNSET
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value % size == 0:
            return f"{value // size}{unit}"
    return str(value)


def or_none(value: Any) -> Any:
    """Docker's "unset" spellings (``null``, ``""``, ``0``, ``[]``, ``{}``) as None."""
    return value or None


def as_is(value: Any) -> Any:
    return value


def sorted_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(sorted(value or ()))


def as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value or ())


def sorted_pairs(mapping: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((mapping or {}).items()))


def capability(name: str) -> str:
    """Docker's spelling of a capability: upper case, without ``CAP_``.

    >>> capability("cap_net_admin"), capability("SYS_TIME")
    ('NET_ADMIN', 'SYS_TIME')
    """
    return name.upper().removeprefix("CAP_")


def capabilities(names: Any) -> tuple[str, ...]:
    return tuple(sorted(capability(c) for c in names or ()))


def config(key: str, convert: Callable[[Any], Any] = or_none) -> Callable[[Json], Any]:
    """A reader of ``Config.<key>`` of a ``docker inspect`` container entry."""
    return lambda container: convert((container.get("Config") or {}).get(key))


def host_config(key: str, convert: Callable[[Any], Any] = or_none) -> Callable[[Json], Any]:
    """A reader of ``HostConfig.<key>`` of a ``docker inspect`` container entry."""
    return lambda container: convert((container.get("HostConfig") or {}).get(key))


def port_bindings(bindings: Mapping[str, list[Json] | None] | None) -> tuple[str, ...]:
    """``HostConfig.PortBindings`` as sorted ``[ip:]published:target/proto`` keys."""
    keys = []
    for port_proto, binds in (bindings or {}).items():
        target, _, proto = port_proto.partition("/")
        for b in binds or [{}]:
            host_ip = b.get("HostIp") or ""
            published = b.get("HostPort") or ""
            keys.append(
                (f"{host_ip}:" if host_ip else "")
                + (f"{published}:" if published else "")
                + f"{target}/{proto or 'tcp'}"
            )
    return tuple(sorted(keys))


def restart_policy(raw: Json | None) -> str:
    """``HostConfig.RestartPolicy`` in the form of :class:`fleetform.model.RestartPolicy`'s str."""
    raw = raw or {}
    name: str = raw.get("Name") or "no"
    retries = raw.get("MaximumRetryCount") or 0
    return f"{name}:{retries}" if name == "on-failure" and retries else name


def hostname(container: Json) -> str | None:
    mode = network_mode((container.get("HostConfig") or {}).get("NetworkMode"))
    if mode is not None and mode != "none":
        return None  # the host's or the other container's name: not this container's setting
    hostname: str | None = (container.get("Config") or {}).get("Hostname") or None
    # Docker names an unnamed host after the short container id.
    return None if hostname == container.get("Id", "")[:12] else hostname


def label(key: str) -> Callable[[Json], Any]:
    """A reader of one label of a ``docker inspect`` container entry."""
    return lambda container: ((container.get("Config") or {}).get("Labels") or {}).get(key)


def network_mode(raw: str | None) -> str | None:
    """``HostConfig.NetworkMode`` when it is not a network: ``host``, ``none``, ``container:<id>``.

    >>> network_mode("host"), network_mode("default"), network_mode("demo_default")
    ('host', None, None)
    """
    if raw in ("host", "none") or (raw or "").startswith("container:"):
        return raw
    return None


def tmpfs_list(mapping: Mapping[str, str] | None) -> tuple[str, ...]:
    """``HostConfig.Tmpfs`` as sorted ``/path[:options]``."""
    return tuple(sorted(f"{p}:{o}" if o else p for p, o in (mapping or {}).items()))


def device_list(devices: list[Json] | None) -> tuple[str, ...]:
    """``HostConfig.Devices`` as sorted ``host:container:permissions``."""
    return tuple(
        sorted(
            f"{d.get('PathOnHost', '')}:{d.get('PathInContainer', '')}:"
            f"{d.get('CgroupPermissions') or 'rwm'}"
            for d in devices or ()
        )
    )


#: The security option Docker adds by itself to a privileged container.
PRIVILEGED_LABEL_OPT = "label=disable"


def security_opts(container: Json) -> tuple[str, ...]:
    """``HostConfig.SecurityOpt`` without the option ``--privileged`` adds by itself."""
    host = container.get("HostConfig") or {}
    opts = host.get("SecurityOpt") or ()
    if host.get("Privileged"):
        opts = [o for o in opts if o != PRIVILEGED_LABEL_OPT]
    return tuple(sorted(opts))


def declared_security_opts(opts: tuple[str, ...], privileged: bool) -> tuple[str, ...]:
    """The declared options as :func:`security_opts` reads them back."""
    return tuple(sorted(o for o in opts if not (privileged and o == PRIVILEGED_LABEL_OPT)))


def seconds_ceil(ns: int | None) -> int | None:
    """Nanoseconds as whole seconds, rounded up (Docker's stop timeout is in seconds)."""
    return None if ns is None else math.ceil(ns / 1_000_000_000)


def memory_args(memory: int | None) -> list[str]:
    # Docker's own default for a fresh container; given explicitly so that
    # `docker update` can raise the limit later.
    return [] if memory is None else ["--memory", str(memory), "--memory-swap", str(2 * memory)]


def cpus(value: float | None) -> float | None:
    return round(value * 1e9) / 1e9 if value else None


@dataclass(frozen=True)
class Field:
    """One container field; see the module docstring.  ``None`` bindings are hand-written."""

    name: str  # the ContainerSpec attribute, and its key in the config hash
    declared: Callable[[Service], Any] | None = None
    observed: Callable[[Json], Any] | None = None
    shape: Shape | None = "scalar"
    show: Callable[[Any], str] = show
    #: the ``docker create`` option; ``arg`` gives its argument for one value
    #: (for a ``set``, one item; the plan shows set items the same way).
    flag: str | None = None
    arg: Callable[[Any], str] = str
    #: the whole option for one value, when ``flag`` + ``arg`` cannot say it.
    args: Callable[[Any], list[str]] | None = None
    in_place: bool = False  # `docker update` changes it on a running container
    #: unset in the stack means the daemon's default, which the stack does not
    #: manage (a host's daemon.json may change it): not compared then.  The
    #: config hash still notices a key removed from the stack.
    daemon_default: bool = False
    label: str = ""  # the path a plan shows; the name when empty

    @property
    def path(self) -> str:
        return self.label or self.name

    @property
    def passed(self) -> bool:
        """Whether the table builds this field's ``docker create`` option."""
        return self.flag is not None or self.args is not None

    def items(self, value: Any) -> tuple[str, ...]:
        """A ``set`` value's items as text (what the plan shows and Docker gets)."""
        return tuple(self.arg(item) for item in value)

    def create_args(self, value: Any) -> list[str]:
        """The ``docker create`` (or ``docker update``) option for ``value``.

        Unset values (None, False, empty) pass nothing: Docker's default.
        """
        if self.args is not None:
            return self.args(value)
        if self.flag is None or value is None or value is False:
            return []
        if value is True:
            return [self.flag]
        if self.shape == "set":
            return [a for item in self.items(value) for a in (self.flag, item)]
        if self.shape == "pairs":
            return [a for k, v in value for a in (self.flag, f"{k}={v}")]
        return [self.flag, self.arg(value)]
