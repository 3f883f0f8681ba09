"""The container spec: one normal form shared by the stack side and the host side.

A :class:`ContainerSpec` holds every field fleetform manages on a container,
in the form ``docker inspect`` shows it (durations in ns, ports as
``[ip:]published:target/proto``, network and volume names as Docker names,
capabilities without ``CAP_``, sorted collections).  Both sides are brought
to this form:

- the stack side (:func:`fleetform.plan.desired.spec_for_service`) holds only
  what the stack *declares*; ``None`` means "the image's default";
- the host side (:func:`fleetform.observe.inspect.spec_from_inspect`) holds what
  the container *has*, image defaults included.

:func:`with_image_defaults` fills a declared spec with an image's defaults
(env, labels, cmd, entrypoint, user, working dir, healthcheck, stop signal),
the same merge ``docker create`` does, so ``with_image_defaults(declared,
image) == observed`` exactly when the container is what the stack asks for.
This is why removing a key from a stack is drift: the container keeps the key,
the image does not have it.

:func:`config_hash` is stored in the ``fleetform.config-hash`` label; it leaves
secret values out.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

from fleetform.model import Pairs
from fleetform.secrets import is_secret

#: Spec fields Docker changes in place (``docker update``).  They are left out
#: of the config hash, because a container's labels cannot change after it is
#: created: an in-place update must leave the hash label true.
IN_PLACE_FIELDS = frozenset({"restart", "cpus", "memory", "memory_reservation", "cpu_shares"})

HASH_VERSION = "v1"


@dataclass(frozen=True)
class MountSpec:
    type: str  # volume | bind | tmpfs
    target: str
    source: str = ""  # docker volume name, host path, or "" (anonymous / tmpfs)
    read_only: bool = False
    tmpfs_size: int | None = None

    def key(self) -> str:
        src = f"{self.source}:" if self.source else ""
        opts = ":ro" if self.read_only else ""
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


@dataclass(frozen=True)
class LogSpec:
    driver: str
    options: Pairs = ()


@dataclass(frozen=True, order=True)
class UlimitSpec:
    name: str
    soft: int
    hard: int


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an image's ``Config`` that a container inherits."""

    env: Pairs = ()
    labels: Pairs = ()
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    user: str | None = None
    working_dir: str | None = None
    healthcheck: HealthSpec | None = None
    stop_signal: str | None = None
    volumes: tuple[str, ...] = ()  # targets of the image's VOLUME instructions, sorted


@dataclass(frozen=True)
class ContainerSpec:
    image: str
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    env: Pairs = ()
    labels: Pairs = ()  # user labels only; fleetform.* ownership labels are not part of it
    user: str | None = None
    working_dir: str | None = None
    hostname: str | None = None
    ports: tuple[str, ...] = ()
    mounts: tuple[MountSpec, ...] = ()  # sorted by target
    networks: tuple[NetSpec, ...] = ()  # sorted by name
    healthcheck: HealthSpec | None = None
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    read_only: bool = False
    privileged: bool = False
    init: bool = False
    stop_signal: str | None = None
    stop_timeout: int | None = None  # seconds
    logging: LogSpec | None = None  # None: the daemon's default, not compared
    ulimits: tuple[UlimitSpec, ...] = ()
    sysctls: Pairs = ()
    extra_hosts: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    # -- changed in place by `docker update`, not hashed --
    restart: str = "no"  # RestartPolicy's str form: no, always, on-failure[:N], unless-stopped
    cpus: float | None = None
    memory: int | None = None
    memory_reservation: int | None = None
    cpu_shares: int | None = None  # from resources.cpus_reservation (x 1024)


def _merge_pairs(base: Pairs, over: Pairs) -> Pairs:
    merged = dict(base)
    merged.update(over)
    return tuple(sorted(merged.items()))


def _merge_health(declared: HealthSpec | None, image: HealthSpec | None) -> HealthSpec | None:
    # Docker merges a healthcheck field by field: what the container leaves
    # unset (empty test, zero durations) comes from the image.
    if declared is None:
        return image
    if image is None:
        return declared
    return HealthSpec(
        test=declared.test or image.test,
        interval=declared.interval or image.interval,
        timeout=declared.timeout or image.timeout,
        retries=declared.retries or image.retries,
        start_period=declared.start_period or image.start_period,
    )


def with_image_defaults(spec: ContainerSpec, image: ImageConfig) -> ContainerSpec:
    """The spec ``docker inspect`` shows for a container created from ``spec`` on ``image``."""
    if spec.command is not None:
        command: tuple[str, ...] | None = spec.command or None
    elif spec.entrypoint is not None:
        # `--entrypoint` clears the image's CMD.
        command = None
    else:
        command = image.cmd
    entrypoint = spec.entrypoint if spec.entrypoint is not None else image.entrypoint
    return replace(
        spec,
        command=command,
        entrypoint=entrypoint or None,
        env=_merge_pairs(image.env, spec.env),
        labels=_merge_pairs(image.labels, spec.labels),
        user=spec.user if spec.user is not None else image.user,
        working_dir=spec.working_dir if spec.working_dir is not None else image.working_dir,
        healthcheck=_merge_health(spec.healthcheck, image.healthcheck),
        stop_signal=spec.stop_signal if spec.stop_signal is not None else image.stop_signal,
    )


def without_image_volumes(spec: ContainerSpec, image: ImageConfig) -> ContainerSpec:
    """``spec`` without the anonymous volume mounts at targets the image declares ``VOLUME``.

    Docker gives a container an anonymous volume at each of its image's
    ``VOLUME`` targets anyway, so an explicit anonymous read-write mount
    there (declared, or one that fleetform carried over on a recreate) means
    the same as none.  Both sides of a comparison go through this.
    """
    kept = tuple(
        m
        for m in spec.mounts
        if m.type != "volume" or m.source or m.read_only or m.target not in image.volumes
    )
    return spec if kept == spec.mounts else replace(spec, mounts=kept)


def without_implicit_aliases(spec: ContainerSpec, container_name: str) -> ContainerSpec:
    """``spec`` without the network aliases Docker may add by itself.

    On user networks Docker adds the container's hostname (and its short id)
    to the aliases unless it is there already, and lists a shared name once.
    So ``docker inspect`` cannot tell a declared alias equal to the hostname
    or to the container name from the one Docker added: both sides of a
    comparison drop these names (see :func:`fleetform.observe.inspect.spec_from_inspect`
    for the host side), or a stack whose ``hostname`` is also an alias would be
    recreated on every run.  The declared spec keeps them: containers are
    still created with the alias, whatever Docker's version does.
    """
    implicit = {container_name, spec.hostname}
    networks = tuple(
        replace(n, aliases=tuple(a for a in n.aliases if a not in implicit)) for n in spec.networks
    )
    return replace(spec, networks=networks)


def spec_to_json(spec: ContainerSpec) -> dict[str, Any]:
    """A JSON-able dict of the spec (tuples become lists)."""
    return dataclasses.asdict(spec)


def config_hash(spec: ContainerSpec, secret_keys: frozenset[str] = frozenset()) -> str:
    """``v1:`` + sha256 of the canonical JSON of the declared spec, secret values left out.

    Canonical JSON: ``json.dumps(sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`` of :func:`spec_to_json` without the in-place fields
    (:data:`IN_PLACE_FIELDS`), UTF-8 encoded, where the value of every secret
    environment key (``secret_keys`` or a name that looks secret, see
    :func:`fleetform.secrets.is_secret`) is replaced by ``null``.

    The label is readable by anyone who can ``docker inspect``, and an
    unsalted digest over a weak password can be guessed back, so secret values
    never enter it.  A changed secret is still found: the planner compares the
    container's environment value by value.  A spec without secrets hashes
    exactly as before secrets were left out.

    >>> config_hash(ContainerSpec(image="busybox")).startswith("v1:")
    True
    >>> a = ContainerSpec(image="busybox", env=(("DB_PASSWORD", "hunter2"),))
    >>> config_hash(a) == config_hash(replace(a, env=(("DB_PASSWORD", "letmein"),)))
    True
    """
    data = {k: v for k, v in spec_to_json(spec).items() if k not in IN_PLACE_FIELDS}
    data["env"] = [[k, None if is_secret(k, secret_keys) else v] for k, v in spec.env]
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{HASH_VERSION}:{hashlib.sha256(text.encode()).hexdigest()}"
