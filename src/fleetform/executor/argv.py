"""Docker CLI argv builders: pure functions from desired state to ``list[str]``.

Nothing here runs anything or quotes anything; :mod:`fleetform.executor.steps`
joins argv with :func:`shlex.join` once.  Example::

    >>> volume_rm_argv("demo_data")
    ['docker', 'volume', 'rm', 'demo_data']
"""

from __future__ import annotations

from collections.abc import Callable

from fleetform.model import (
    LABEL_CONFIG_HASH,
    LABEL_NETWORK,
    LABEL_PLATFORM,
    LABEL_PROJECT_FILES,
    LABEL_REPLICA,
    LABEL_SECRET_KEYS,
    LABEL_SECRETS,
    LABEL_SERVICE,
    LABEL_STACK,
    LABEL_STACK_FILE,
    LABEL_VOLUME,
)
from fleetform.plan.desired import (
    DEFAULT_BRIDGE,
    DesiredContainer,
    DesiredImage,
    DesiredNetwork,
    DesiredVolume,
)
from fleetform.plan.projectfiles import host_path
from fleetform.plan.secrets import host_files
from fleetform.plan.spec import FIELDS, ContainerSpec, MountSpec, NetSpec
from fleetform.secrets import secret_keys_label


def _labels(pairs: tuple[tuple[str, str], ...]) -> list[str]:
    # A hand-made model may have no stack file identity: no label then, which
    # later plans read as "this file's" (as for objects of earlier versions).
    pairs = tuple((k, v) for k, v in pairs if k != LABEL_STACK_FILE or v)
    return [arg for k, v in pairs for arg in ("--label", f"{k}={v}")]


def network_create_argv(dn: DesiredNetwork) -> list[str]:
    net = dn.network
    argv = ["docker", "network", "create", "--driver", net.driver]
    for k, v in net.driver_opts:
        argv += ["--opt", f"{k}={v}"]
    if net.internal:
        argv.append("--internal")
    if net.attachable:
        argv.append("--attachable")
    if net.ipam_driver:
        argv += ["--ipam-driver", net.ipam_driver]
    for pool in net.ipam_config:
        if pool.subnet:
            argv += ["--subnet", pool.subnet]
        if pool.ip_range:
            argv += ["--ip-range", pool.ip_range]
        if pool.gateway:
            argv += ["--gateway", pool.gateway]
    argv += _labels(
        (
            (LABEL_STACK, dn.stack),
            (LABEL_STACK_FILE, dn.identity),
            (LABEL_NETWORK, net.name),
            *net.labels,
        )
    )
    return [*argv, net.docker_name]


def volume_create_argv(dv: DesiredVolume) -> list[str]:
    vol = dv.volume
    argv = ["docker", "volume", "create", "--driver", vol.driver]
    for k, v in vol.driver_opts:
        argv += ["--opt", f"{k}={v}"]
    argv += _labels(
        (
            (LABEL_STACK, dv.stack),
            (LABEL_STACK_FILE, dv.identity),
            (LABEL_VOLUME, vol.name),
            *vol.labels,
        )
    )
    return [*argv, vol.docker_name]


def volume_rm_argv(name: str) -> list[str]:
    return ["docker", "volume", "rm", name]


def pull_argv(image: DesiredImage) -> list[str]:
    platform = ["--platform", image.platform] if image.platform else []
    return ["docker", "pull", *platform, image.ref]


def load_argv(archive_path: str) -> list[str]:
    return ["docker", "load", "--input", archive_path]


def build_argv(image: DesiredImage, context_dir: str) -> list[str]:
    """``docker build`` of an uploaded context folder (``context_dir`` on the host)."""
    assert image.build is not None
    build = image.build
    argv = ["docker", "build", "--tag", image.ref]
    argv += ["--file", f"{context_dir}/{build.dockerfile_path}"]
    for k, v in build.args:
        argv += ["--build-arg", f"{k}={v}"]
    if build.target:
        argv += ["--target", build.target]
    for k, v in build.labels:
        argv += ["--label", f"{k}={v}"]
    if build.network:
        argv += ["--network", build.network]
    for entry in build.extra_hosts:
        argv += ["--add-host", entry]
    return [*argv, context_dir]


def _mount_field(what: str, text: str) -> str:
    # `--mount` is one CSV record of key=value fields: a `,` would start a new
    # field (`/x,type=bind,source=/etc`), quotes change the splitting.  The
    # loader refuses these; this keeps a hand-made model from slipping through.
    if any(c in text for c in ",=\"'") or not text.isprintable():
        raise ValueError(
            f"refusing mount {what} {text!r}: it holds `,`, `=`, a quote or a control character"
        )
    return text


def _mount(
    m_type: str, target: str, source: str, read_only: bool, size: int | None, nocopy: bool = False
) -> str:
    target, source = _mount_field("target", target), _mount_field("source", source)
    parts = [f"type={m_type}"]
    if source:
        parts.append(f"source={source}")
    parts.append(f"target={target}")
    if read_only:
        parts.append("readonly")
    if size:
        parts.append(f"tmpfs-size={size}")
    if nocopy:
        parts.append("volume-nocopy=true")
    return ",".join(parts)


def _relabelled_bind(target: str, source: str, read_only: bool, selinux: str) -> list[str]:
    """``--volume SRC:DST:[ro,]z``: ``--mount`` has no way to ask for SELinux relabelling.

    Unlike ``--mount``, ``--volume`` creates a missing source folder.  A `:` in
    either path would split the value differently (the short syntax the loader
    reads cannot hold one; this keeps a hand-made model from slipping through).
    """
    target, source = _mount_field("target", target), _mount_field("source", source)
    if ":" in target or ":" in source:
        raise ValueError(f"refusing relabelled bind {source!r}:{target!r}: it holds `:`")
    options = ",".join(["ro", selinux] if read_only else [selinux])
    return ["--volume", f"{source}:{target}:{options}"]


def _mount_args(m: MountSpec) -> list[str]:
    if m.type == "bind" and m.selinux:
        return _relabelled_bind(m.target, m.source, m.read_only, m.selinux)
    return ["--mount", _mount(m.type, m.target, m.source, m.read_only, m.tmpfs_size, m.nocopy)]


def _mounts(spec: ContainerSpec, carried: tuple[tuple[str, str], ...]) -> list[str]:
    # A carried anonymous volume takes the place of the declared anonymous
    # mount at its target (keeping its options), or of the one Docker would
    # make for the image's VOLUME there.
    by_target = {m.target: m for m in spec.mounts}
    for target, volume in carried:
        declared = by_target.get(target)
        read_only = declared.read_only if declared is not None else False
        by_target[target] = MountSpec("volume", target, volume, read_only)
    return [
        arg for m in sorted(by_target.values(), key=lambda m: m.target) for arg in _mount_args(m)
    ]


def _first_network(spec: ContainerSpec) -> list[str]:
    if spec.network_mode or not spec.networks or spec.networks[0].name == DEFAULT_BRIDGE:
        # A shared network stack (host, none, a container's) is the table's
        # `network_mode` row; Docker lists it as the container's network.
        return []
    first = spec.networks[0]
    argv = ["--network", first.name]
    for alias in first.aliases:
        argv += ["--network-alias", alias]
    if first.ipv4_address:
        argv += ["--ip", first.ipv4_address]
    return argv


def _health(spec: ContainerSpec) -> list[str]:
    hc = spec.healthcheck
    if hc is None:
        return []
    if hc.test == ("NONE",):
        return ["--no-healthcheck"]
    argv: list[str] = []
    if len(hc.test) > 1:  # ("CMD-SHELL", "...") -- desired specs hold only shell tests
        argv += ["--health-cmd", hc.test[1]]
    for flag, ns in (
        ("--health-interval", hc.interval),
        ("--health-timeout", hc.timeout),
        ("--health-start-period", hc.start_period),
        ("--health-start-interval", hc.start_interval),
    ):
        if ns:
            argv += [flag, f"{ns // 1_000_000}ms"]
    if hc.retries:
        argv += ["--health-retries", str(hc.retries)]
    return argv


def _logging(spec: ContainerSpec) -> list[str]:
    if spec.logging is None:
        return []
    argv = ["--log-driver", spec.logging.driver]
    return argv + [a for k, v in spec.logging.options for a in ("--log-opt", f"{k}={v}")]


#: Options of the fields the table (:data:`fleetform.plan.spec.FIELDS`) leaves
#: to this module, built in the table's order ...
_BY_HAND: dict[str, Callable[[ContainerSpec, tuple[tuple[str, str], ...]], list[str]]] = {
    "mounts": _mounts,
    "networks": lambda spec, _: _first_network(spec),
    "healthcheck": lambda spec, _: _health(spec),
    "logging": lambda spec, _: _logging(spec),
}
#: ... and of those :func:`container_create_argv` places itself: the name and
#: the labels come first, the image and its command last.
_AROUND = frozenset({"image", "command", "entrypoint", "env", "labels"})
BY_HAND = frozenset(_BY_HAND) | _AROUND


def _options(spec: ContainerSpec, carried: tuple[tuple[str, str], ...]) -> list[str]:
    argv: list[str] = []
    for field in FIELDS:
        if field.name in _BY_HAND:
            argv += _BY_HAND[field.name](spec, carried)
        elif field.passed:
            argv += field.create_args(getattr(spec, field.name))
    return argv


def container_create_argv(
    c: DesiredContainer,
    env_file: str | None = None,
    *,
    name: str | None = None,
    carried: tuple[tuple[str, str], ...] = (),
) -> list[str]:
    """``docker create`` for ``c``.  Secret env values go to ``env_file`` only, never argv.

    ``name`` overrides the container name (a recreate creates the new
    container under a temporary name); ``carried`` is ``(target, volume)``
    of the old container's anonymous volumes to mount again (a recreate).
    """
    spec = c.spec
    argv = ["docker", "create", "--name", name or c.name]
    argv += _labels(
        (
            (LABEL_STACK, c.stack),
            # Which file made it: another file with the same stack name never
            # removes it as an orphan (plan.planner).
            (LABEL_STACK_FILE, c.identity),
            (LABEL_SERVICE, c.service.name),
            (LABEL_REPLICA, str(c.replica)),
            (LABEL_CONFIG_HASH, c.config_hash),
            # Names only: later plans mask these keys' values even once the
            # stack no longer marks them secret (fleetform.secrets).
            (LABEL_SECRET_KEYS, secret_keys_label(c.secret_env_keys)),
            # Targets and keyed digests of mounted secrets, never values.
            *(((LABEL_SECRETS, c.secrets_label),) if c.secrets else ()),
            # Origins and content digests of uploaded project files and configs.
            *(((LABEL_PROJECT_FILES, c.files_label),) if c.files else ()),
            # Docker shows only the OS of a container's platform.
            *(((LABEL_PLATFORM, spec.platform),) if spec.platform else ()),
            *spec.labels,
        )
    )
    argv += secret_mount_args(c)
    argv += project_mount_args(c)
    for key, value in spec.env:
        if key not in c.secret_keys:
            argv += ["--env", f"{key}={value}"]
    if env_file is not None:
        argv += ["--env-file", env_file]
    if spec.entrypoint is not None:
        argv += ["--entrypoint", spec.entrypoint[0] if spec.entrypoint else ""]
    argv += _options(spec, carried)
    # The spec's entrypoint is one word at most (see plan.desired).
    return [*argv, spec.image, *(spec.command or ())]


def secret_mount_args(c: DesiredContainer) -> list[str]:
    """``--mount`` of each secret's file on the host, read-only at its target.

    The files are uploaded before the container is created
    (:func:`fleetform.executor.steps.secret_files`); only their paths are here.
    """
    out = []
    for secret, path in host_files(c.name, c.secrets, c.secrets_label):
        out += ["--mount", _mount("bind", secret.target, path, True, None)]
    return out


def project_mount_args(c: DesiredContainer) -> list[str]:
    """``--mount`` of each uploaded project file, folder and config at its target.

    They are uploaded before the container is created
    (:mod:`fleetform.executor.project_uploads`); only their paths are here.
    """
    out = []
    for f in c.files:
        source = host_path(c.stack, f)
        if f.selinux:
            out += _relabelled_bind(f.target, source, f.read_only, f.selinux)
        else:
            out += ["--mount", _mount("bind", f.target, source, f.read_only, None)]
    return out


def network_connect_argv(net: NetSpec, container: str) -> list[str]:
    argv = ["docker", "network", "connect"]
    for alias in net.aliases:
        argv += ["--alias", alias]
    if net.ipv4_address:
        argv += ["--ip", net.ipv4_address]
    return [*argv, net.name, container]


def update_argv(spec: ContainerSpec, container: str) -> list[str]:
    """``docker update`` of every field Docker changes in place."""
    options = [a for f in FIELDS if f.in_place for a in f.create_args(getattr(spec, f.name))]
    return ["docker", "update", *options, container]


def start_argv(container: str) -> list[str]:
    return ["docker", "start", container]


def stop_argv(container: str, timeout: int | None) -> list[str]:
    argv = ["docker", "stop"]
    if timeout is not None:
        argv += ["--time", str(timeout)]
    return [*argv, container]


def rm_argv(container: str, *, force: bool = False) -> list[str]:
    """``docker rm``, never with ``--volumes``.

    ``--volumes`` would delete the container's anonymous volumes, image
    ``VOLUME``s included (a postgres database): a recreate mounts them in the
    new container, and a removed container's stay on the host.  A volume is
    only ever removed when a stack says ``state: absent`` for it.
    ``force`` kills a running container first (only used on the container a
    failed recreate has just created).
    """
    return ["docker", "rm", *(["--force"] if force else []), container]


def rename_argv(container: str, new_name: str) -> list[str]:
    return ["docker", "rename", container, new_name]
