"""Field-level differences between two container specs, as reasons people read.

``diff_specs(want, have, secret_keys)`` compares the spec a container should
have (declared spec filled with its image's defaults) with the one it has,
field by field, and returns :class:`FieldChange` items such as
``environment.LOG_LEVEL: info -> debug`` or ``ports: + 8081:80/tcp``.
Secret values never appear: a changed secret reads ``(secret changed)``.  A
value is masked when either side is or was secret: the stack marks the key
secret, its name looks secret, or the container was created with the key
secret (its ``fleetform.secret-keys`` label; see :mod:`fleetform.secrets`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from fleetform.plan.fields import UNSET, Field
from fleetform.plan.fields import show as _show
from fleetform.plan.spec import FIELDS, ContainerSpec, HealthSpec, NetSpec
from fleetform.secrets import SECRET, is_secret, looks_secret

__all__ = ["UNSET", "FieldChange", "diff_specs", "env_secret"]


@dataclass(frozen=True)
class FieldChange:
    """One difference. ``old``/``new`` are display strings, None for "not there"."""

    path: str
    old: str | None
    new: str | None
    in_place: bool = False  # docker update can apply it

    def __str__(self) -> str:
        if self.old == SECRET and self.new == SECRET:
            return f"{self.path}: (secret changed)"
        if self.old is None:
            return f"{self.path}: + {self.new}"
        if self.new is None:
            return f"{self.path}: - {self.old}"
        return f"{self.path}: {self.old} -> {self.new}"


def _duration(ns: int | None) -> str:
    if ns is None:
        return "(default)"
    seconds = ns / 1e9
    return f"{seconds:g}s"


def _pairs(
    path: str,
    want: tuple[tuple[str, str], ...],
    have: tuple[tuple[str, str], ...],
    secret: Callable[[str], bool],
) -> Iterator[FieldChange]:
    w, h = dict(want), dict(have)
    for key in sorted(w.keys() | h.keys()):
        if w.get(key) == h.get(key):
            continue
        # Both sides are masked when either is secret: a secret turned into a
        # literal still shows no value, old or new.
        masked = secret(key)
        if key not in h:
            yield FieldChange(f"{path}.{key}", UNSET, SECRET if masked else w[key])
        elif key not in w:
            yield FieldChange(f"{path}.{key}", SECRET if masked else h[key], UNSET)
        elif masked:
            yield FieldChange(f"{path}.{key}", SECRET, SECRET)
        else:
            yield FieldChange(f"{path}.{key}", h[key], w[key])


def env_secret(
    secret_keys: frozenset[str], had_secret: frozenset[str] | None
) -> Callable[[str], bool]:
    """Whether an environment key's values are masked in a diff.

    ``secret_keys`` are the stack's secret keys; ``had_secret`` the keys the
    container recorded as secret when it was created, or None for a container
    that predates that record: its values could be secret, so all are masked.
    """
    if had_secret is None:
        return lambda key: True
    return lambda key: is_secret(key, secret_keys) or key in had_secret


def _sets(path: str, want: tuple[str, ...], have: tuple[str, ...]) -> Iterator[FieldChange]:
    for item in sorted(set(have) - set(want)):
        yield FieldChange(path, item, None)
    for item in sorted(set(want) - set(have)):
        yield FieldChange(path, None, item)
    if set(want) == set(have) and want != have:
        yield FieldChange(path, _show(have), _show(want))


def _networks(want: tuple[NetSpec, ...], have: tuple[NetSpec, ...]) -> Iterator[FieldChange]:
    w, h = {n.name: n for n in want}, {n.name: n for n in have}
    for name in sorted(w.keys() | h.keys()):
        if name not in w:
            yield FieldChange("networks", name, None)
        elif name not in h:
            yield FieldChange("networks", None, name)
        else:
            if w[name].aliases != h[name].aliases:
                yield FieldChange(
                    f"networks.{name}.aliases", _show(h[name].aliases), _show(w[name].aliases)
                )
            if w[name].ipv4_address != h[name].ipv4_address:
                yield FieldChange(
                    f"networks.{name}.ipv4_address",
                    _show(h[name].ipv4_address),
                    _show(w[name].ipv4_address),
                )


def _health_text(hc: HealthSpec | None) -> str:
    return "(none)" if hc is None else " ".join(hc.test) or "(image test)"


def _health(want: HealthSpec | None, have: HealthSpec | None) -> Iterator[FieldChange]:
    if want == have:
        return
    if want is None or have is None or want.test != have.test:
        yield FieldChange("healthcheck.test", _health_text(have), _health_text(want))
        if want is None or have is None:
            return
    for name in ("interval", "timeout", "start_period", "start_interval"):
        old, new = getattr(have, name), getattr(want, name)
        if old != new:
            yield FieldChange(f"healthcheck.{name}", _duration(old), _duration(new))
    if want.retries != have.retries:
        yield FieldChange("healthcheck.retries", _show(have.retries), _show(want.retries))


def _by_table(field: Field, want: Any, have: Any) -> Iterator[FieldChange]:
    if field.daemon_default and want is None:
        return
    if field.shape == "set":
        changes: Iterator[FieldChange] = _sets(field.path, field.items(want), field.items(have))
    elif field.shape == "pairs":
        changes = _pairs(field.path, want, have, looks_secret)
    elif want != have:
        changes = iter((FieldChange(field.path, field.show(have), field.show(want)),))
    else:
        return
    for change in changes:
        yield replace(change, in_place=field.in_place)


#: How this module compares the fields :data:`fleetform.plan.spec.FIELDS`
#: leaves to it (``shape=None``); ``secret`` masks environment values.
_BY_HAND: dict[
    str, Callable[[ContainerSpec, ContainerSpec, Callable[[str], bool]], Iterator[FieldChange]]
] = {
    "env": lambda w, h, secret: _pairs("environment", w.env, h.env, secret),
    "mounts": lambda w, h, _: _sets(
        "volumes", tuple(m.key() for m in w.mounts), tuple(m.key() for m in h.mounts)
    ),
    "networks": lambda w, h, _: _networks(w.networks, h.networks),
    "healthcheck": lambda w, h, _: _health(w.healthcheck, h.healthcheck),
}
BY_HAND = frozenset(_BY_HAND)


def diff_specs(
    want: ContainerSpec,
    have: ContainerSpec,
    secret_keys: frozenset[str] = frozenset(),
    had_secret: frozenset[str] | None = frozenset(),
) -> tuple[FieldChange, ...]:
    """Every difference between ``want`` and ``have``, in the order of the field table.

    ``secret_keys`` and ``had_secret``: see :func:`env_secret`.
    """
    secret = env_secret(secret_keys, had_secret)
    out: list[FieldChange] = []
    for field in FIELDS:
        if field.name in _BY_HAND:
            out += _BY_HAND[field.name](want, have, secret)
        else:
            out += _by_table(field, getattr(want, field.name), getattr(have, field.name))
    return tuple(out)
