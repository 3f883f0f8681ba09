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
from fleetform.plan.fields import (
    Field,
    as_is,
    as_tuple,
    capabilities,
    config,
    cpus,
    host_config,
    hostname,
    memory_args,
    port_bindings,
    restart_policy,
    seconds_ceil,
    show_bytes,
    sorted_pairs,
    sorted_tuple,
)
from fleetform.plan.parts import (
    HealthSpec,
    LogSpec,
    MountSpec,
    NetSpec,
    UlimitSpec,
    log_text,
    ulimits,
)
from fleetform.plan.runfields import RUN_FIELDS
from fleetform.secrets import is_secret

__all__ = [
    "FIELDS",
    "HASH_V1_FIELDS",
    "IN_PLACE_FIELDS",
    "ContainerSpec",
    "HealthSpec",
    "ImageConfig",
    "LogSpec",
    "MountSpec",
    "NetSpec",
    "UlimitSpec",
    "config_hash",
    "spec_to_json",
    "with_image_defaults",
    "without_image_volumes",
    "without_implicit_aliases",
]

HASH_VERSION = "v1"

#: The fields the ``v1`` hash was defined over: always hashed.  A field added
#: to :data:`FIELDS` later is hashed only when it is set, so adding one leaves
#: the label of every existing container true (no recreate on an upgrade).
HASH_V1_FIELDS = frozenset(
    {
        *("image", "command", "entrypoint", "env", "labels", "user", "working_dir"),
        *("hostname", "ports", "mounts", "networks", "healthcheck", "cap_add", "cap_drop"),
        *("read_only", "privileged", "init", "stop_signal", "stop_timeout", "logging"),
        *("ulimits", "sysctls", "extra_hosts", "dns", "restart", "cpus", "memory"),
        *("memory_reservation", "cpu_shares"),
    }
)


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
    exposed: tuple[str, ...] = ()  # the image's EXPOSE ports, ``port/proto``, sorted


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
    # -- Compose's `docker run` keys (issue #14); hashed only when set --
    expose: tuple[str, ...] = ()  # port/proto, sorted
    platform: str | None = None  # recorded in the fleetform.platform label
    runtime: str | None = None  # None: the daemon's default
    #: host, none, or container:<name> (a service's replica 1); None: ``networks``
    network_mode: str | None = None
    stdin_open: bool = False
    tty: bool = False
    pid: str | None = None
    ipc: str | None = None  # None: the daemon's default
    shm_size: int | None = None  # bytes; None: the daemon's default
    tmpfs: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()  # host:container:permissions
    security_opt: tuple[str, ...] = ()
    group_add: tuple[str, ...] = ()
    # -- changed in place by `docker update`, not hashed --
    restart: str = "no"  # RestartPolicy's str form: no, always, on-failure[:N], unless-stopped
    cpus: float | None = None
    memory: int | None = None
    memory_reservation: int | None = None
    cpu_shares: int | None = None  # from resources.cpus_reservation (x 1024)


#: Every field of :class:`ContainerSpec`, in the order a plan lists changes
#: and ``docker create`` gets options (see :mod:`fleetform.plan.fields`).
#: Fields without ``declared``, ``observed``, ``shape`` or a flag are handled
#: by hand in plan.desired, plan.inspect, plan.diff and executor.argv.
FIELDS: tuple[Field, ...] = (
    Field("image", lambda s: s.image, lambda c: (c.get("Config") or {}).get("Image", "")),
    Field("command"),
    Field("entrypoint"),
    Field("user", lambda s: s.user, config("User"), flag="--user"),
    Field("working_dir", lambda s: s.working_dir, config("WorkingDir"), flag="--workdir"),
    Field("hostname", lambda s: s.hostname, hostname, flag="--hostname"),
    Field("env", lambda s: s.environment, shape=None, label="environment"),
    Field("labels", lambda s: s.labels, shape="pairs"),
    Field(
        "ports",
        lambda s: tuple(sorted(p.key() for p in s.ports)),
        host_config("PortBindings", port_bindings),
        shape="set",
        flag="--publish",
    ),
    Field("mounts", shape=None, label="volumes"),
    Field("networks", shape=None),
    Field("healthcheck", shape=None),
    Field(
        "cap_add",
        lambda s: capabilities(s.cap_add),
        host_config("CapAdd", capabilities),
        shape="set",
        flag="--cap-add",
    ),
    Field(
        "cap_drop",
        lambda s: capabilities(s.cap_drop),
        host_config("CapDrop", capabilities),
        shape="set",
        flag="--cap-drop",
    ),
    Field(
        "read_only", lambda s: s.read_only, host_config("ReadonlyRootfs", bool), flag="--read-only"
    ),
    Field(
        "privileged", lambda s: s.privileged, host_config("Privileged", bool), flag="--privileged"
    ),
    Field("init", lambda s: s.init, host_config("Init", bool), flag="--init"),
    Field("stop_signal", lambda s: s.stop_signal, config("StopSignal"), flag="--stop-signal"),
    Field(
        "stop_timeout",
        lambda s: seconds_ceil(s.stop_grace_period),
        config("StopTimeout", as_is),
        flag="--stop-timeout",
    ),
    Field("logging", show=log_text, daemon_default=True),
    Field(
        "ulimits",
        lambda s: tuple(sorted(UlimitSpec(u.name, u.soft, u.hard) for u in s.ulimits)),
        host_config("Ulimits", ulimits),
        shape="set",
        flag="--ulimit",
        arg=UlimitSpec.text,
    ),
    Field(
        "sysctls",
        lambda s: s.sysctls,
        host_config("Sysctls", sorted_pairs),
        shape="pairs",
        flag="--sysctl",
    ),
    Field(
        "extra_hosts",
        lambda s: tuple(sorted(s.extra_hosts)),
        host_config("ExtraHosts", sorted_tuple),
        shape="set",
        flag="--add-host",
    ),
    Field("dns", lambda s: s.dns, host_config("Dns", as_tuple), shape="set", flag="--dns"),
    *RUN_FIELDS,
    # -- changed in place by `docker update`, not hashed --
    Field(
        "restart",
        lambda s: str(s.restart),
        host_config("RestartPolicy", restart_policy),
        flag="--restart",
        in_place=True,
    ),
    Field(
        "cpus",
        lambda s: cpus(s.resources.cpus),
        host_config("NanoCpus", lambda nano: nano / 1e9 if nano else None),
        flag="--cpus",
        arg=lambda cpus: f"{cpus:g}",
        in_place=True,
        label="resources.cpus",
    ),
    Field(
        "memory",
        lambda s: s.resources.memory or None,
        host_config("Memory"),
        show=show_bytes,
        args=memory_args,
        in_place=True,
        label="resources.memory",
    ),
    Field(
        "memory_reservation",
        lambda s: s.resources.memory_reservation or None,
        host_config("MemoryReservation"),
        show=show_bytes,
        flag="--memory-reservation",
        in_place=True,
        label="resources.memory_reservation",
    ),
    Field(
        "cpu_shares",
        lambda s: (
            round(s.resources.cpus_reservation * 1024) if s.resources.cpus_reservation else None
        ),
        host_config("CpuShares"),
        flag="--cpu-shares",
        in_place=True,
        label="resources.cpu_shares",
    ),
)

#: Spec fields Docker changes in place (``docker update``).  They are left out
#: of the config hash, because a container's labels cannot change after it is
#: created: an in-place update must leave the hash label true.
IN_PLACE_FIELDS = frozenset(f.name for f in FIELDS if f.in_place)


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
        start_interval=declared.start_interval or image.start_interval,
    )


def _exposed(spec: ContainerSpec, image: ImageConfig) -> tuple[str, ...]:
    # Docker lists every port a container has open in ExposedPorts: the
    # declared ones, the image's EXPOSE and each published port's target.
    published = {p.rsplit(":", 1)[-1] for p in spec.ports}
    ports = {*spec.expose, *image.exposed, *published}
    return tuple(sorted(ports))


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
        expose=_exposed(spec, image),
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
    """A JSON-able dict of the spec (tuples become lists).

    A field that is not one of :data:`HASH_V1_FIELDS` is left out while it
    has its default value, so the dict (and the hash) of a spec that does
    not use a field added later is what it was before.
    """
    unset = {f.name: f.default for f in dataclasses.fields(spec) if f.name not in HASH_V1_FIELDS}
    data = {
        k: v
        for k, v in dataclasses.asdict(spec).items()
        if k not in unset or getattr(spec, k) != unset[k]
    }
    # Added to these parts later: left out while unset, as above.
    if data["healthcheck"] is not None and data["healthcheck"]["start_interval"] is None:
        del data["healthcheck"]["start_interval"]
    for mount in data["mounts"]:
        if not mount["nocopy"]:
            del mount["nocopy"]
        if not mount["selinux"]:
            del mount["selinux"]
    return data


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
