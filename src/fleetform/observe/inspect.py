"""``docker inspect`` JSON -> :class:`~fleetform.plan.spec.ContainerSpec` and ImageConfig.

The inverse of what :mod:`fleetform.executor.steps` asks Docker for, so a
container fleetform created parses back to ``with_image_defaults(declared,
image)``.  Docker's "unset" spellings (``null``, ``[]``, ``{}``, ``0``, ``""``)
all become the model's unset value.  The table of container fields
(:data:`fleetform.plan.spec.FIELDS`) reads the simple fields; this module
reads the rest (:data:`BY_HAND`) and the image's config.
"""

from __future__ import annotations

import re

from fleetform.model import (
    LABEL_CONFIG_HASH,
    LABEL_PLATFORM,
    LABEL_PROJECT_FILES,
    LABEL_REPLICA,
    LABEL_SECRET_KEYS,
    LABEL_SECRETS,
    LABEL_SERVICE,
    LABEL_STACK,
    LABEL_STACK_FILE,
    PROJECTS_DIR,
    Pairs,
)
from fleetform.plan.fields import Json, sorted_pairs
from fleetform.plan.spec import (
    FIELDS,
    ContainerSpec,
    HealthSpec,
    ImageConfig,
    LogSpec,
    MountSpec,
    NetSpec,
)
from fleetform.secrets import SECRET_FILES_DIR

#: Labels fleetform sets on every container it owns; they are not part of the spec.
OWNERSHIP_LABELS = frozenset(
    {
        LABEL_STACK,
        LABEL_STACK_FILE,
        LABEL_SERVICE,
        LABEL_REPLICA,
        LABEL_CONFIG_HASH,
        LABEL_SECRET_KEYS,
        LABEL_SECRETS,
        LABEL_PROJECT_FILES,
        LABEL_PLATFORM,
    }
)

#: Docker names an anonymous volume with a random 64-digit hex id (named
#: volumes that fleetform creates are ``<stack>_<name>``).
_ANONYMOUS = re.compile(r"[0-9a-f]{64}")


def is_anonymous_volume(name: str) -> bool:
    """True for the name Docker generates for an anonymous volume.

    >>> is_anonymous_volume("0" * 64), is_anonymous_volume("demo_data")
    (True, False)
    """
    return bool(_ANONYMOUS.fullmatch(name))


def anonymous_volumes(container: Json) -> tuple[tuple[str, str], ...]:
    """``(target, volume name)`` of every anonymous volume ``container`` mounts.

    Read from the top-level ``Mounts`` (what is mounted), which, unlike
    ``HostConfig.Mounts`` (what was asked for), also lists the volumes Docker
    made for the image's ``VOLUME`` targets.
    """
    found = (
        (m.get("Destination") or "", m.get("Name") or "")
        for m in container.get("Mounts") or ()
        if m.get("Type") == "volume"
    )
    return tuple(sorted((t, n) for t, n in found if t and is_anonymous_volume(n)))


def _env_pairs(env: list[str] | None) -> Pairs:
    out: dict[str, str] = {}
    for item in env or []:
        key, _, value = item.partition("=")
        out[key] = value
    return tuple(sorted(out.items()))


def _argv(value: list[str] | str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):  # very old images store a string
        return (value,)
    return tuple(value) or None


def _health(raw: Json | None) -> HealthSpec | None:
    if not raw:
        return None
    return HealthSpec(
        test=tuple(raw.get("Test") or ()),
        interval=raw.get("Interval") or None,
        timeout=raw.get("Timeout") or None,
        retries=raw.get("Retries") or None,
        start_period=raw.get("StartPeriod") or None,
        start_interval=raw.get("StartInterval") or None,
    )


def image_config(image_inspect: Json) -> ImageConfig:
    """The inheritable ``Config`` of one ``docker image inspect`` entry."""
    cfg = image_inspect.get("Config") or {}
    return ImageConfig(
        env=_env_pairs(cfg.get("Env")),
        labels=sorted_pairs(cfg.get("Labels")),
        cmd=_argv(cfg.get("Cmd")),
        entrypoint=_argv(cfg.get("Entrypoint")),
        user=cfg.get("User") or None,
        working_dir=cfg.get("WorkingDir") or None,
        healthcheck=_health(cfg.get("Healthcheck")),
        stop_signal=cfg.get("StopSignal") or None,
        volumes=tuple(sorted(cfg.get("Volumes") or {})),
        exposed=tuple(sorted(cfg.get("ExposedPorts") or {})),
    )


def _source(mount: Json) -> str:
    source: str = mount.get("Source") or ""
    # Which anonymous volume a container mounts is not configuration: a
    # recreate mounts the old container's anonymous volume by its name, and
    # that is still the stack's anonymous `- /target`.
    if mount.get("Type", "volume") == "volume" and is_anonymous_volume(source):
        return ""
    return source


def _uploaded(source: str) -> bool:
    """A mounted secret's file, or an uploaded project file or config: not a
    declared mount, its label stands for it (fleetform.plan.secrets,
    fleetform.plan.projectfiles)."""
    if source.startswith(f"{SECRET_FILES_DIR}/"):
        return True
    parts = source.removeprefix(f"{PROJECTS_DIR}/").split("/")
    return source.startswith(f"{PROJECTS_DIR}/") and len(parts) > 2 and parts[1] == "files"


def _mounts(raw: list[Json] | None) -> tuple[MountSpec, ...]:
    mounts = [
        MountSpec(
            type=m.get("Type", "volume"),
            target=m["Target"],
            source=_source(m),
            read_only=bool(m.get("ReadOnly")),
            tmpfs_size=(m.get("TmpfsOptions") or {}).get("SizeBytes") or None,
            nocopy=bool((m.get("VolumeOptions") or {}).get("NoCopy")),
        )
        for m in raw or []
        if not (m.get("Type") == "bind" and _uploaded(str(m.get("Source", ""))))
    ]
    return tuple(sorted(mounts, key=lambda m: m.target))


def _binds(raw: list[str] | None) -> tuple[MountSpec, ...]:
    """The ``--volume`` binds (``SRC:DST[:OPTS]``): fleetform uses them only for
    SELinux relabelling (``z``/``Z``), which ``--mount`` cannot ask for; any other
    ``Binds`` entry is read the same way, so it shows as drift."""
    mounts = []
    for text in raw or []:
        source, _, rest = str(text).partition(":")
        target, _, opts = rest.partition(":")
        options = set(opts.split(",")) if opts else set()
        if not source.startswith("/"):  # a named volume given with -v
            mounts.append(MountSpec("volume", target, source, "ro" in options))
        elif not _uploaded(source):
            selinux = next((o for o in ("z", "Z") if o in options), "")
            mounts.append(MountSpec("bind", target, source, "ro" in options, selinux=selinux))
    return tuple(mounts)


def _networks(container: Json) -> tuple[NetSpec, ...]:
    # Docker adds the short id and the hostname as aliases by itself (the
    # name too, when it is the hostname).  A declared alias equal to one of
    # them looks the same, so the planner drops these names from both sides
    # (fleetform.plan.spec.without_implicit_aliases).
    cfg = container.get("Config") or {}
    implicit = {
        container.get("Id", "")[:12],
        cfg.get("Hostname") or "",
        (container.get("Name") or "").lstrip("/"),
    }
    nets = []
    for name, ep in ((container.get("NetworkSettings") or {}).get("Networks") or {}).items():
        ep = ep or {}
        aliases = tuple(sorted({a for a in ep.get("Aliases") or () if a not in implicit}))
        ipv4 = (ep.get("IPAMConfig") or {}).get("IPv4Address") or None
        nets.append(NetSpec(name, aliases, ipv4))
    return tuple(sorted(nets, key=lambda n: n.name))


#: Fields :data:`fleetform.plan.spec.FIELDS` leaves to this module.
BY_HAND = frozenset(
    {"command", "entrypoint", "env", "labels", "mounts", "networks", "healthcheck", "logging"}
)


def spec_from_inspect(container: Json) -> ContainerSpec:
    """The spec of one ``docker inspect`` container entry (image defaults included)."""
    cfg = container.get("Config") or {}
    hc = container.get("HostConfig") or {}
    log = hc.get("LogConfig") or {}
    labels = {k: v for k, v in (cfg.get("Labels") or {}).items() if k not in OWNERSHIP_LABELS}
    return ContainerSpec(
        **{f.name: f.observed(container) for f in FIELDS if f.observed is not None},
        command=_argv(cfg.get("Cmd")),
        entrypoint=_argv(cfg.get("Entrypoint")),
        env=_env_pairs(cfg.get("Env")),
        labels=sorted_pairs(labels),
        mounts=tuple(
            sorted(_mounts(hc.get("Mounts")) + _binds(hc.get("Binds")), key=lambda m: m.target)
        ),
        networks=_networks(container),
        healthcheck=_health(cfg.get("Healthcheck")),
        logging=LogSpec(log["Type"], sorted_pairs(log.get("Config"))) if log.get("Type") else None,
    )
