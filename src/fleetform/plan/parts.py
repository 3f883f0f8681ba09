"""The value types of a container spec's composite fields: mounts, networks, healthcheck...

They are re-exported by :mod:`fleetform.plan.spec`, where the spec and its
field table live.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleetform.model import Pairs


@dataclass(frozen=True)
class MountSpec:
    type: str  # volume | bind | tmpfs
    target: str
    source: str = ""  # docker volume name, host path, or "" (anonymous / tmpfs)
    read_only: bool = False
    tmpfs_size: int | None = None
    nocopy: bool = False  # volume: not filled from the image (hashed only when set)
    #: bind: ``z``/``Z`` SELinux relabelling (``--volume``; hashed only when set)
    selinux: str = ""

    def key(self) -> str:
        src = f"{self.source}:" if self.source else ""
        opts = ":ro" if self.read_only else ""
        opts += ":nocopy" if self.nocopy else ""
        opts += f":{self.selinux}" if self.selinux else ""
        size = f" size={self.tmpfs_size}" if self.tmpfs_size else ""
        return f"{self.type} {src}{self.target}{opts}{size}"


@dataclass(frozen=True)
class NetSpec:
    name: str  # Docker name of the network
    aliases: tuple[str, ...] = ()  # sorted
    ipv4_address: str | None = None


@dataclass(frozen=True)
class HealthSpec:
    test: tuple[str, ...] = ()  # () means "the image's test"
    interval: int | None = None  # ns; None means the image's / Docker's default
    timeout: int | None = None
    retries: int | None = None
    start_period: int | None = None
    start_interval: int | None = None  # Docker Engine 25+ (API 1.44)


@dataclass(frozen=True)
class LogSpec:
    driver: str
    options: Pairs = ()


def log_text(log: LogSpec | None) -> str:
    """A logging setting as a plan shows it.

    >>> log_text(LogSpec("json-file", (("max-size", "1m"),))), log_text(None)
    ('json-file {max-size=1m}', '(daemon default)')
    """
    if log is None:
        return "(daemon default)"
    opts = ",".join(f"{k}={v}" for k, v in log.options)
    return f"{log.driver} {{{opts}}}" if opts else log.driver


@dataclass(frozen=True, order=True)
class UlimitSpec:
    name: str
    soft: int
    hard: int

    def text(self) -> str:
        """``name=soft:hard``, as ``docker create --ulimit`` takes it and a plan shows it."""
        return f"{self.name}={self.soft}:{self.hard}"


def ulimits(raw: list[Mapping[str, Any]] | None) -> tuple[UlimitSpec, ...]:
    """``HostConfig.Ulimits`` of a ``docker inspect`` container entry, sorted."""
    return tuple(
        sorted(UlimitSpec(u["Name"], u.get("Soft", 0), u.get("Hard", 0)) for u in raw or ())
    )
