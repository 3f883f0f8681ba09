"""What a host should have: the stacks' model narrowed to one host.

Example::

    >>> from fleetform.model import Service, Stack
    >>> from pathlib import Path
    >>> stack = Stack("demo", Path("demo.yml"), services=(Service("web", "busybox"),))
    >>> want = desired_for_host([stack], "host-a", frozenset({"web"}))
    >>> [c.name for c in want.containers]
    ['demo-web-1']
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fleetform.model import (
    Build,
    Healthcheck,
    Network,
    Pairs,
    ProjectFile,
    PullPolicy,
    Service,
    Stack,
    Volume,
)
from fleetform.plan.projectfiles import (
    data_mounts,
    data_path,
    files_label,
    host_path,
    observed_kind,
)
from fleetform.plan.secrets import DesiredSecret, desired_secrets
from fleetform.plan.spec import (
    FIELDS,
    ContainerSpec,
    HealthSpec,
    LogSpec,
    MountSpec,
    NetSpec,
    config_hash,
)
from fleetform.secrets import is_secret

#: Docker's default network, used when a service lists no network.
DEFAULT_BRIDGE = "bridge"


@dataclass(frozen=True)
class DesiredContainer:
    stack: str
    service: Service
    replica: int
    name: str  # <stack>-<service>-<replica>
    spec: ContainerSpec  # declared fields only; see fleetform.plan.spec
    config_hash: str
    #: the container is a one-shot job others wait for (depends_on condition
    #: service_completed_successfully): exited with code 0 is its converged state.
    run_once: bool = False
    #: names of containers on this host that must have exited 0 before this one starts.
    after_exit: tuple[str, ...] = ()
    #: the stack file's identity (the ``fleetform.stack-file`` label)
    identity: str = ""
    #: the secrets it mounts, with their content (see fleetform.plan.secrets)
    secrets: tuple[DesiredSecret, ...] = ()
    #: the ``fleetform.secrets`` label; the planner sets it, with the host's key
    secrets_label: str = ""
    #: the project files, read-only project folders and configs it mounts
    #: (uploaded; see fleetform.plan.projectfiles)
    files: tuple[ProjectFile, ...] = ()
    #: its data folders the host does not have yet (relative paths); the
    #: planner sets it from the observation, None: not known, all may be missing
    missing_data: tuple[str, ...] | None = None

    @property
    def files_label(self) -> str:
        """The ``fleetform.project-files`` label (origins and digests)."""
        return files_label(self.files)

    @property
    def state(self) -> str:
        return self.service.state

    @property
    def secret_keys(self) -> frozenset[str]:
        """Keys whose values are secret: marked by the stack, or named like a secret."""
        named = {k for k, _ in self.spec.env if is_secret(k)}
        return self.service.secret_keys | named

    @property
    def secret_env_keys(self) -> tuple[str, ...]:
        """The secret keys this container's environment holds, sorted (names only)."""
        return tuple(k for k, _ in self.spec.env if k in self.secret_keys)


@dataclass(frozen=True)
class DesiredNetwork:
    stack: str
    network: Network
    identity: str = ""  # the stack file's (``fleetform.stack-file`` label)

    @property
    def name(self) -> str:
        return self.network.docker_name


@dataclass(frozen=True)
class DesiredVolume:
    stack: str
    volume: Volume
    identity: str = ""  # the stack file's (``fleetform.stack-file`` label)

    @property
    def name(self) -> str:
        return self.volume.docker_name


@dataclass(frozen=True)
class DesiredImage:
    ref: str
    pull: PullPolicy = "missing"
    build: Build | None = None
    archive: Path | None = None
    platform: str | None = None  # ``docker pull --platform``


@dataclass(frozen=True)
class HostDesired:
    host: str
    #: names of ALL stacks being applied: their orphans on this host are removed
    #: even when none of their services is placed here.
    stacks: tuple[str, ...]
    containers: tuple[DesiredContainer, ...] = ()
    networks: tuple[DesiredNetwork, ...] = ()
    volumes: tuple[DesiredVolume, ...] = ()
    images: tuple[DesiredImage, ...] = ()
    #: (stack name, stack file identity) of every stack being applied: a
    #: stack's orphans are only those its own file made.
    stack_files: Pairs = ()
    #: (stack, service) left out by profiles: containers left alone, never orphans.
    inactive: Pairs = ()

    def container(self, name: str) -> DesiredContainer | None:
        return next((c for c in self.containers if c.name == name), None)

    def identity_of(self, stack: str) -> str | None:
        """The identity of the file that declares ``stack`` here, None when unknown."""
        return dict(self.stack_files).get(stack)


def _local(image: DesiredImage) -> bool:
    return image.build is not None or image.archive is not None


def placed_on(hosts_selector: tuple[str, ...], host: str, groups: frozenset[str]) -> bool:
    """True when a ``hosts:`` selector (host names or groups; empty = all) picks ``host``."""
    if not hosts_selector:
        return True
    return any(sel == host or sel in groups for sel in hosts_selector)


def network_mode(stack: Stack, svc: Service) -> str | None:
    """The ``--network`` of a service that shares a network stack: ``host``, ``none``,
    or ``container:<name>`` of the service's replica 1 (``service:<name>``)."""
    mode = svc.network_mode
    if mode is not None and mode.startswith("service:"):
        return "container:" + stack.service(mode.removeprefix("service:")).container_name(
            stack.name, 1
        )
    return mode


def _networks(stack: Stack, svc: Service) -> tuple[NetSpec, ...]:
    if svc.network_mode in ("host", "none"):
        return (NetSpec(svc.network_mode),)  # how Docker lists the container's networks
    if svc.network_mode is not None:
        return ()  # another container's network stack
    if not svc.networks:
        return (NetSpec(DEFAULT_BRIDGE),)
    nets = []
    for att in svc.networks:
        # The service name is an alias on every user network, as in Compose,
        # so `depends_on` peers reach it by name.
        aliases = tuple(sorted({*att.aliases, svc.name}))
        nets.append(NetSpec(stack.network(att.name).docker_name, aliases, att.ipv4_address))
    return tuple(sorted(nets, key=lambda n: n.name))


def _mounts(stack: Stack, svc: Service) -> tuple[MountSpec, ...]:
    mounts = []
    for m in svc.volumes:
        if m.type == "volume":
            source = stack.volume(m.source).docker_name if m.source else ""
        elif m.data is not None:
            source = data_path(stack.name, m.data)
        else:
            source = m.source or ""
        mounts.append(
            MountSpec(
                m.type, m.target, source, m.read_only, m.tmpfs_size, m.nocopy, m.selinux or ""
            )
        )
    return tuple(sorted(mounts, key=lambda m: m.target))


def _health(hc: Healthcheck | None) -> HealthSpec | None:
    if hc is None:
        return None
    test = hc.test
    if test and test[0] == "CMD":
        # The docker CLI can only create shell tests (`--health-cmd`), so a
        # CMD test is declared in the form Docker will show.
        test = ("CMD-SHELL", shlex.join(test[1:]))
    return HealthSpec(test, hc.interval, hc.timeout, hc.retries, hc.start_period, hc.start_interval)


def _entrypoint_command(
    svc: Service,
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    # `docker create --entrypoint` takes one word, and any entrypoint clears
    # the image's CMD; the rest of a longer entrypoint becomes the command's
    # head.  Docker runs the same argv; the spec says how it will look.
    if not svc.entrypoint:
        return svc.entrypoint, svc.command
    head, *rest = svc.entrypoint
    command = (*rest, *(svc.command or ()))
    return (head,), command or None


#: Fields :data:`fleetform.plan.spec.FIELDS` leaves to this module.
BY_HAND = frozenset(
    {"command", "entrypoint", "mounts", "networks", "healthcheck", "logging", "network_mode"}
)


def spec_for_service(stack: Stack, svc: Service) -> ContainerSpec:
    """The declared spec of ``svc``'s containers (see :mod:`fleetform.plan.spec`)."""
    entrypoint, command = _entrypoint_command(svc)
    return ContainerSpec(
        **{f.name: f.declared(svc) for f in FIELDS if f.declared is not None},
        command=command,
        entrypoint=entrypoint,
        mounts=_mounts(stack, svc),
        networks=_networks(stack, svc),
        healthcheck=_health(svc.healthcheck),
        network_mode=network_mode(stack, svc),
        logging=LogSpec(svc.logging.driver, svc.logging.options) if svc.logging else None,
    )


def _run_once_services(stack: Stack) -> set[str]:
    return {
        dep.service
        for svc in stack.services
        for dep in svc.depends_on
        if dep.condition == "service_completed_successfully"
    }


def _containers(stack: Stack, host: str, groups: frozenset[str]) -> list[DesiredContainer]:
    run_once = _run_once_services(stack)
    placed = [s for s in stack.services if placed_on(s.hosts, host, groups)]
    placed_names = {s.name for s in placed}
    out = []
    for svc in placed:
        spec = spec_for_service(stack, svc)
        digest = config_hash(spec, svc.secret_keys)
        secrets = desired_secrets(stack, svc.secrets)
        after_exit = tuple(
            stack.service(dep.service).container_name(stack.name, r)
            for dep in svc.depends_on
            if dep.condition == "service_completed_successfully" and dep.service in placed_names
            for r in range(1, stack.service(dep.service).replicas + 1)
        )
        for replica in range(1, svc.replicas + 1):
            out.append(
                DesiredContainer(
                    stack=stack.name,
                    service=svc,
                    replica=replica,
                    name=svc.container_name(stack.name, replica),
                    spec=spec,
                    config_hash=digest,
                    run_once=svc.name in run_once,
                    after_exit=after_exit,
                    identity=stack.file_identity,
                    secrets=secrets,
                    files=svc.files,
                )
            )
    return out


def project_paths(desired: HostDesired) -> tuple[tuple[str, str], ...]:
    """(kind, host path) of every uploaded file and data folder ``desired`` mounts,
    for the observation (:func:`fleetform.plan.projectfiles.observe_script`)."""
    out: set[tuple[str, str]] = set()
    for c in desired.containers:
        if c.state == "absent":
            continue
        for f in c.files:
            out.add((observed_kind(f), host_path(c.stack, f)))
        for m in data_mounts(c.service):
            out.add(("data", data_path(c.stack, m.data or "")))
    return tuple(sorted(out))


def desired_for_host(stacks: Sequence[Stack], host: str, groups: frozenset[str]) -> HostDesired:
    """Everything ``stacks`` want on ``host`` (a member of ``groups``)."""
    containers: list[DesiredContainer] = []
    networks: dict[str, DesiredNetwork] = {}
    volumes: dict[str, DesiredVolume] = {}
    images: dict[str, DesiredImage] = {}
    for stack in stacks:
        if not placed_on(stack.hosts, host, groups):
            continue
        placed = _containers(stack, host, groups)
        containers += placed
        # Only what a placed, present container uses is created here, so a
        # host does not collect every network of every stack.
        used = [c.service for c in placed if c.state != "absent"]
        for svc in used:
            for att in svc.networks:
                net = stack.network(att.name)
                networks.setdefault(
                    net.docker_name, DesiredNetwork(stack.name, net, stack.file_identity)
                )
            for m in svc.volumes:
                if m.type == "volume" and m.source:
                    vol = stack.volume(m.source)
                    volumes.setdefault(
                        vol.docker_name, DesiredVolume(stack.name, vol, stack.file_identity)
                    )
            image = DesiredImage(svc.image, svc.pull, svc.build, svc.image_archive, svc.platform)
            have = images.get(svc.image)
            # A service that only names an image another one builds or loads
            # shares that image: the build or load wins over a pull.
            if have is None or (_local(image) and not _local(have)):
                images[svc.image] = image
        for vol in stack.volumes:
            if vol.state == "absent":
                volumes.setdefault(
                    vol.docker_name, DesiredVolume(stack.name, vol, stack.file_identity)
                )
    return HostDesired(
        host=host,
        stacks=tuple(sorted({s.name for s in stacks})),
        containers=tuple(sorted(containers, key=lambda c: c.name)),
        networks=tuple(networks[k] for k in sorted(networks)),
        volumes=tuple(volumes[k] for k in sorted(volumes)),
        images=tuple(images[k] for k in sorted(images)),
        stack_files=tuple(sorted((s.name, s.file_identity) for s in stacks)),
        inactive=tuple(sorted((s.name, n) for s in stacks for n in s.inactive_services)),
    )
