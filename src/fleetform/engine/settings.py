"""What the Docker engine on one host should look like, merged from stacks.

Pure: no pyinfra import, no host access.  Every stack placed on a host may
carry an ``engine:`` section; they must agree, because one host has one
engine.

Example::

    >>> from fleetform.engine.settings import engine_for_host
    >>> from fleetform.stackfile import load_stacks
    >>> stacks = load_stacks(["stacks/demo.yml"])
    >>> settings = engine_for_host(stacks, "lab-1", ["web"])
    >>> settings.source, settings.daemon_json
    ('distro', None)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from fleetform.model import Engine, EnginePolicy, RegistryCA, SourceKind, Stack
from fleetform.stackfile.daemon import daemon_problems

# host[:port]; it becomes a directory name under /etc/docker/certs.d, so no
# slashes or dots-only names may slip through.
REGISTRY_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$")
USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_VERSION_RE = re.compile(r"^[0-9A-Za-z.:~+-]+$")


class EngineSettingsError(ValueError):
    """Engine settings that cannot be applied; the message is for people."""


@dataclass(frozen=True)
class EngineSettings:
    """The engine one host should have.

    ``daemon_json`` is canonical JSON text, or None when no stack on the host
    manages daemon.json (the file is then left as it is).  ``"{}"`` means
    "managed and empty": the file is removed.
    """

    source: SourceKind = "distro"
    version: str | None = None
    daemon_json: str | None = None
    registries: tuple[RegistryCA, ...] = ()
    users: tuple[str, ...] = ()
    #: stack files these settings come from (for messages only).
    origins: tuple[Path, ...] = ()
    #: the advisory policy (docs/engine.md); None when no stack on the host has an
    #: ``engine:`` section (the engine is left alone, and so is its check)
    policy: EnginePolicy | None = None

    def with_registries(self, extra: Mapping[str, str]) -> EngineSettings:
        """Add registry CAs (e.g. host data ``fleetform_registries``); stacks win on conflict."""
        have = {r.registry for r in self.registries}
        added = [RegistryCA(name, pem) for name, pem in extra.items() if name not in have]
        for reg in added:
            _check_registry(reg.registry, "host data fleetform_registries")
        merged = tuple(sorted((*self.registries, *added), key=lambda r: r.registry))
        return replace(self, registries=merged)


def stack_targets_host(stack: Stack, host_name: str, host_groups: Iterable[str]) -> bool:
    """True when ``stack.hosts`` is empty or names the host or one of its groups."""
    if not stack.hosts:
        return True
    wanted = set(stack.hosts)
    return host_name in wanted or bool(wanted.intersection(host_groups))


def engine_for_host(
    stacks: Iterable[Stack], host_name: str, host_groups: Iterable[str]
) -> EngineSettings:
    """Merge the ``engine:`` sections of every stack placed on the host.

    Raises EngineSettingsError when two stacks disagree (naming both files and
    the host) or when a setting is unsafe (e.g. the API on TCP without TLS).
    """
    groups = list(host_groups)
    placed = [
        (s.source, s.engine)
        for s in stacks
        if s.engine is not None and stack_targets_host(s, host_name, groups)
    ]
    if not placed:
        return EngineSettings()
    source = _agree(host_name, "source", [(p, e.source) for p, e in placed])
    version = _agree(host_name, "version", [(p, e.version) for p, e in placed])
    daemon = _agree(
        host_name, "daemon", [(p, e.daemon_json) for p, e in placed if e.daemon_json is not None]
    )
    if version is not None and not _VERSION_RE.match(version):
        raise EngineSettingsError(f"engine.version: {version!r} is not a package version")
    if daemon is not None:
        problems = daemon_json_problems(daemon)
        if problems:
            where = next(p for p, e in placed if e.daemon_json is not None)
            raise EngineSettingsError(f"{where}: engine.daemon: {problems[0]}")
    return EngineSettings(
        source=source or "distro",
        version=version,
        daemon_json=daemon,
        registries=_merge_registries(host_name, placed),
        users=_merge_users(placed),
        origins=tuple(dict.fromkeys(p for p, _ in placed)),
        policy=_agree(
            host_name, "policy", [(p, e.policy) for p, e in placed if e.policy is not None]
        )
        or EnginePolicy(),
    )


T = TypeVar("T")


def _agree(host_name: str, what: str, values: list[tuple[Path, T]]) -> T | None:
    """The one value every stack gives, or an error naming two files that differ."""
    if not values:
        return None
    first_path, first = values[0]
    for path, value in values[1:]:
        if value != first:
            raise EngineSettingsError(
                f"{first_path} and {path} give host {host_name} different engine settings: "
                f"{what} {_show(first)} vs {_show(value)}"
            )
    return first


def _merge_registries(host_name: str, placed: list[tuple[Path, Engine]]) -> tuple[RegistryCA, ...]:
    seen: dict[str, tuple[RegistryCA, Path]] = {}
    for path, engine in placed:
        for reg in engine.registries:
            _check_registry(reg.registry, str(path))
            before = seen.get(reg.registry)
            if before is not None and before[0].ca_cert != reg.ca_cert:
                raise EngineSettingsError(
                    f"{before[1]} and {path} give host {host_name} different CA "
                    f"certificates for registry {reg.registry}"
                )
            seen[reg.registry] = (reg, path)
    return tuple(reg for _, (reg, _) in sorted(seen.items()))


def _merge_users(placed: list[tuple[Path, Engine]]) -> tuple[str, ...]:
    users: set[str] = set()
    for path, engine in placed:
        for user in engine.users:
            if not USER_RE.match(user):
                raise EngineSettingsError(f"{path}: engine.users: {user!r} is not a user name")
            users.add(user)
    return tuple(sorted(users))


def _show(value: object) -> str:
    return value if isinstance(value, str) and value.startswith("{") else repr(value)


def _check_registry(name: str, where: str) -> None:
    if not REGISTRY_RE.match(name):
        raise EngineSettingsError(f"{where}: {name!r} is not a registry host[:port]")


def canonical_daemon_json(config: Mapping[str, object]) -> str:
    """The one text form of a daemon.json mapping (sorted keys, no spaces)."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


def _key_path(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def daemon_json_problems(text: str) -> list[str]:
    """Why this daemon.json must not be applied (empty list: fine).

    - A ``hosts`` entry on TCP without TLS gives root on the host to anyone who
      can reach the port, so it is refused.
    - Any ``hosts`` entry is refused: Debian's and Docker's units start dockerd
      with ``-H fd://``, and dockerd refuses to start when both are set, which
      would leave the host without an engine after the restart.
    - Values dockerd would refuse at start (``fleetform.stackfile.daemon``).
    """
    try:
        config = json.loads(text)
    except ValueError as exc:
        return [f"not valid JSON: {exc}"]
    if not isinstance(config, dict):
        return ["daemon.json must be a mapping"]
    values = [f"{_key_path(path)}: {message}" for path, message in daemon_problems(config)]
    return _hosts_problems(config) + values


def _hosts_problems(config: dict[str, object]) -> list[str]:
    hosts = config.get("hosts")
    if hosts is None:
        return []
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        return ["hosts must be a list of addresses"]
    tls_complete = config.get("tlsverify") is True and all(
        config.get(key) for key in ("tlscacert", "tlscert", "tlskey")
    )
    for address in hosts:
        if address.startswith("tcp://") and not tls_complete:
            return [
                f"hosts: {address} exposes the Docker API on TCP without TLS, which gives "
                "root on the host to anyone who reaches it; set tlsverify: true with "
                "tlscacert, tlscert and tlskey, or remove the tcp:// entry"
            ]
    return [
        "hosts: the docker service already passes -H fd:// to dockerd, and dockerd refuses "
        "to start when daemon.json sets hosts too; fleetform does not manage listen "
        "addresses, so remove hosts (set them in a systemd drop-in if you must)"
    ]
