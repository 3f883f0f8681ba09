"""The rows of the container field table for Compose's ``docker run`` keys (issue #14).

They are spliced into :data:`fleetform.plan.spec.FIELDS` after ``dns``; see
:mod:`fleetform.plan.fields` for what a row binds.  Each is hashed only when
set (:data:`fleetform.plan.spec.HASH_V1_FIELDS`), so containers made before
these keys existed keep their config hash.
"""

from __future__ import annotations

from fleetform.model import LABEL_PLATFORM
from fleetform.plan.fields import (
    Field,
    config,
    declared_security_opts,
    device_list,
    host_config,
    label,
    network_mode,
    security_opts,
    show_bytes,
    sorted_tuple,
    tmpfs_list,
)

RUN_FIELDS: tuple[Field, ...] = (
    Field(
        "expose",
        lambda s: s.expose,
        config("ExposedPorts", lambda ports: tuple(sorted(ports or ()))),
        shape="set",
        flag="--expose",
    ),
    # Docker shows only the OS of a container's platform: the label keeps it.
    Field("platform", lambda s: s.platform, label(LABEL_PLATFORM), flag="--platform"),
    Field(
        "runtime",
        lambda s: s.runtime,
        host_config("Runtime"),
        flag="--runtime",
        daemon_default=True,
    ),
    Field(
        "network_mode",
        observed=host_config("NetworkMode", network_mode),
        args=lambda mode: ["--network", mode] if mode else [],
    ),
    Field("stdin_open", lambda s: s.stdin_open, config("OpenStdin", bool), flag="--interactive"),
    Field("tty", lambda s: s.tty, config("Tty", bool), flag="--tty"),
    Field("pid", lambda s: s.pid, host_config("PidMode"), flag="--pid"),
    Field("ipc", lambda s: s.ipc, host_config("IpcMode"), flag="--ipc", daemon_default=True),
    Field(
        "shm_size",
        lambda s: s.shm_size,
        host_config("ShmSize"),
        show=show_bytes,
        flag="--shm-size",
        daemon_default=True,
    ),
    Field(
        "tmpfs", lambda s: s.tmpfs, host_config("Tmpfs", tmpfs_list), shape="set", flag="--tmpfs"
    ),
    Field(
        "devices",
        lambda s: s.devices,
        host_config("Devices", device_list),
        shape="set",
        flag="--device",
    ),
    Field(
        "security_opt",
        lambda s: declared_security_opts(s.security_opt, s.privileged),
        security_opts,
        shape="set",
        flag="--security-opt",
    ),
    Field(
        "group_add",
        lambda s: s.group_add,
        host_config("GroupAdd", sorted_tuple),
        shape="set",
        flag="--group-add",
    ),
)
