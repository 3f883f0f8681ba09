"""The typed, immutable model of stack files.

Everything after loading (engine deploy, plan, apply, verify) reads only these
classes.  The loader (``fleetform.stackfile``) fills defaults and normalises
every short form to its long form, so consumers never see raw YAML.

Conventions:
- maps are tuples of ``(key, value)`` pairs sorted by key, so a model is
  hashable and compares by value;
- durations are integer nanoseconds, memory sizes integer bytes, CPUs floats;
- names are the names in the stack file; ``docker_name`` gives the name of the
  Docker object on a host.

Example::

    >>> from fleetform.stackfile import load_stacks
    >>> stacks = load_stacks(["stacks/demo.yml"])
    >>> stacks[0].service("web").container_name("demo", 1)
    'demo-web-1'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

T = TypeVar("T")

Pairs = tuple[tuple[str, str], ...]

SourceKind = Literal["distro", "docker-ce"]
ServiceState = Literal["running", "stopped", "absent"]
PullPolicy = Literal["missing", "always", "never"]
MountType = Literal["volume", "bind", "tmpfs"]
Protocol = Literal["tcp", "udp", "sctp"]
DependencyCondition = Literal[
    "service_started", "service_healthy", "service_completed_successfully"
]

#: Labels that mark a Docker object as fleetform's.  Ownership is decided by
#: these labels only; anything without them is never touched.
LABEL_STACK = "fleetform.stack"
#: Which stack file made the object (:func:`fleetform.stackfile.identity.stack_file_identity`):
#: two files with one stack name never remove each other's containers.
LABEL_STACK_FILE = "fleetform.stack-file"
LABEL_SERVICE = "fleetform.service"
LABEL_REPLICA = "fleetform.replica"
LABEL_CONFIG_HASH = "fleetform.config-hash"
#: Names (never values) of a container's secret environment keys; see fleetform.secrets.
LABEL_SECRET_KEYS = "fleetform.secret-keys"
#: A container's mounted secrets: targets and keyed digests, never values; see
#: fleetform.plan.secrets.
LABEL_SECRETS = "fleetform.secrets"
#: A container's uploaded project files and configs: targets and content
#: digests (sha256: they are not secret); see fleetform.plan.projectfiles.
LABEL_PROJECT_FILES = "fleetform.project-files"
#: ``platform`` a container was created for: Docker shows only its OS.
LABEL_PLATFORM = "fleetform.platform"
LABEL_NETWORK = "fleetform.network"
LABEL_VOLUME = "fleetform.volume"

#: A rolled-out replica's previous container stays on the host, stopped, as
#: ``<name>`` + KEPT_SUFFIX: a rollback starts it again without a pull
#: (docs/rollouts.md).  Service container names end with the replica number,
#: so no service's own container can be called that.
KEPT_SUFFIX = ".fleetform-old"


def kept_base(name: str) -> str | None:
    """The container a kept previous container belongs to, or None.

    >>> kept_base("demo-web-1.fleetform-old"), kept_base("demo-web-1")
    ('demo-web-1', None)
    """
    return name[: -len(KEPT_SUFFIX)] if name.endswith(KEPT_SUFFIX) else None


def pairs(mapping: dict[str, str] | None) -> Pairs:
    """Return a mapping as sorted, hashable pairs."""
    return tuple(sorted((mapping or {}).items()))


@dataclass(frozen=True)
class RegistryCA:
    """A registry whose TLS certificate is signed by ``ca_cert`` (PEM text)."""

    registry: str  # host[:port], e.g. registry.lab:5000
    ca_cert: str


AdvisoryMode = Literal["fail", "warn", "ignore"]
SeverityName = Literal["low", "medium", "high", "critical"]


@dataclass(frozen=True)
class EnginePolicy:
    """What plan and apply do about advisories affecting a host's engine layers."""

    advisories: AdvisoryMode = "warn"
    min_severity: SeverityName = "low"
    #: advisory ids (or aliases) that never count
    allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class Engine:
    """How dockerd, containerd and runc are installed and configured."""

    source: SourceKind = "distro"
    version: str | None = None
    #: Content of /etc/docker/daemon.json as canonical JSON text, or None when
    #: the stack does not manage daemon.json.  ``"{}"`` means "manage it, and
    #: it should be empty" (the file is removed).
    daemon_json: str | None = None
    registries: tuple[RegistryCA, ...] = ()
    #: Users added to the ``docker`` group.
    users: tuple[str, ...] = ()
    #: the stack's ``engine.policy``, or None when it declares none (default: warn)
    policy: EnginePolicy | None = None


@dataclass(frozen=True)
class IPAMPool:
    subnet: str | None = None
    ip_range: str | None = None
    gateway: str | None = None


@dataclass(frozen=True)
class Network:
    name: str  # key in the stack file
    docker_name: str  # name on the host (default ``<stack>_<name>``)
    driver: str = "bridge"
    driver_opts: Pairs = ()
    internal: bool = False
    attachable: bool = False
    labels: Pairs = ()
    ipam_driver: str | None = None
    ipam_config: tuple[IPAMPool, ...] = ()
    external: bool = False


@dataclass(frozen=True)
class Volume:
    name: str
    docker_name: str  # default ``<stack>_<name>``
    driver: str = "local"
    driver_opts: Pairs = ()
    labels: Pairs = ()
    external: bool = False
    #: ``absent`` is the only way a named volume is ever removed.
    state: Literal["present", "absent"] = "present"


@dataclass(frozen=True)
class Port:
    target: int
    published: int | None = None  # None: no fixed host port (Docker picks one)
    host_ip: str = ""
    protocol: Protocol = "tcp"
    #: ``"8000-8010:80"``: Docker binds one free host port of ``published``..this.
    published_last: int | None = None

    @property
    def published_text(self) -> str:
        """``8080``, or ``8000-8010`` for a range; empty when no host port is fixed."""
        if self.published is None:
            return ""
        last = f"-{self.published_last}" if self.published_last is not None else ""
        return f"{self.published}{last}"

    def published_ports(self) -> range:
        """The host ports this port may bind (empty when Docker picks any)."""
        if self.published is None:
            return range(0)
        return range(self.published, (self.published_last or self.published) + 1)

    def key(self) -> str:
        """``[host_ip:]published:target/protocol``, the short form."""
        host = f"{self.host_ip}:" if self.host_ip else ""
        pub = f"{self.published_text}:" if self.published is not None else ""
        return f"{host}{pub}{self.target}/{self.protocol}"


@dataclass(frozen=True)
class Mount:
    type: MountType
    target: str
    #: volume: the key of the stack's ``volumes`` entry, or None for an
    #: anonymous volume; bind: absolute host path; tmpfs: None.
    source: str | None = None
    read_only: bool = False
    tmpfs_size: int | None = None  # bytes
    #: volume: ``nocopy``, the image's files at the target are not copied into
    #: a new volume.
    nocopy: bool = False
    #: a writable folder of the project (``./pgdata``), normalised and relative
    #: (``pgdata``): runtime data, kept in the stack's data folder on each host
    #: (:data:`PROJECTS_DIR`), so ``source`` is None.
    data: str | None = None
    #: where that folder is on this machine: it seeds the host's folder once,
    #: when it exists here.
    seed: Path | None = None
    #: bind: SELinux relabelling, ``z`` (shared) or ``Z`` (private), or None
    selinux: str | None = None


#: Where a host keeps each stack's project files (``<stack>/files``) and
#: runtime data folders (``<stack>/data``).
PROJECTS_DIR = "/var/lib/fleetform/projects"


@dataclass(frozen=True)
class ProjectFile:
    """A file or read-only folder of the project, or a ``configs`` entry, that a
    service mounts: uploaded to a managed folder on each host and bind-mounted
    from there.  ``digest`` (``sha256:<hex>`` of the content; for a folder, of
    its tree) is in the container's ``fleetform.project-files`` label, so an
    edit recreates exactly the containers that mount it.
    """

    origin: str  # for plans: ``./nginx.conf``, ``config app``
    target: str  # absolute path in the container
    digest: str
    name: str  # the file's (or folder's) name on the host
    local: Path | None = None  # the file or folder on this machine; None: ``content``
    content: bytes = field(default=b"", repr=False)
    folder: bool = False
    read_only: bool = True
    #: owner and mode of the host's file (configs); None: as uploaded (root, the
    #: project file's own mode)
    uid: int | None = None
    gid: int | None = None
    mode: int | None = None
    selinux: str | None = None  # ``z`` or ``Z``: relabelled for SELinux when mounted


@dataclass(frozen=True)
class Secret:
    """A top-level ``secrets`` entry: its content, read (and decrypted) on the control machine.

    ``content`` is the plaintext, held in memory only; ``repr`` leaves it out so
    that a model printed in a log or a traceback never shows it.
    """

    name: str  # key in the stack file
    content: bytes = field(default=b"", repr=False)
    #: where it came from, for messages: ``file ./x`` or ``environment X``.
    origin: str = ""
    #: the file was SOPS-encrypted (decrypted when loaded).
    sops: bool = False


#: Where a secret appears in a container when its target is a bare name.
SECRETS_DIR = "/run/secrets"


@dataclass(frozen=True)
class SecretMount:
    """A service's ``secrets`` entry, long form: read-only at ``target`` in the container."""

    source: str  # key of the stack's ``secrets`` entry
    target: str  # absolute path in the container (``/run/secrets/<name>`` by default)
    uid: int = 0
    gid: int = 0
    mode: int = 0o444


@dataclass(frozen=True)
class NetworkAttachment:
    name: str  # key of the stack's ``networks`` entry
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None


@dataclass(frozen=True)
class Healthcheck:
    #: Docker's form: ("CMD", ...), ("CMD-SHELL", "..."), or ("NONE",).
    test: tuple[str, ...]
    interval: int | None = None  # ns
    timeout: int | None = None  # ns
    retries: int | None = None
    start_period: int | None = None  # ns
    start_interval: int | None = None  # ns; Docker Engine 25+ (API 1.44)

    @property
    def disabled(self) -> bool:
        return self.test == ("NONE",)


@dataclass(frozen=True)
class RestartPolicy:
    name: Literal["no", "always", "on-failure", "unless-stopped"] = "no"
    max_retries: int = 0

    def __str__(self) -> str:
        if self.name == "on-failure" and self.max_retries:
            return f"on-failure:{self.max_retries}"
        return self.name


@dataclass(frozen=True)
class Resources:
    cpus: float | None = None  # limit
    memory: int | None = None  # limit, bytes
    cpus_reservation: float | None = None
    memory_reservation: int | None = None  # bytes


@dataclass(frozen=True)
class Logging:
    driver: str
    options: Pairs = ()


@dataclass(frozen=True)
class Ulimit:
    name: str
    soft: int
    hard: int


@dataclass(frozen=True)
class Dependency:
    service: str
    condition: DependencyCondition = "service_started"
    #: ``required: false``: a dependency not placed on a host is not waited for there.
    required: bool = True
    #: ``restart: true``: recreating the dependency recreates this service's containers.
    restart: bool = False


@dataclass(frozen=True)
class Build:
    context: Path  # absolute, resolved against the stack file's folder
    dockerfile: str = "Dockerfile"
    args: Pairs = ()
    target: str | None = None
    #: the Dockerfile's text, instead of a file of the context (Compose's
    #: ``dockerfile_inline``): uploaded beside the context as INLINE_DOCKERFILE
    dockerfile_inline: str | None = None
    labels: Pairs = ()  # labels of the built image
    network: str | None = None  # the network RUN steps use (``host``, ``none``...)
    extra_hosts: tuple[str, ...] = ()  # ``name:ip`` for RUN steps

    @property
    def dockerfile_path(self) -> str:
        """The Dockerfile ``docker build --file`` reads, relative to the uploaded context."""
        return INLINE_DOCKERFILE if self.dockerfile_inline is not None else self.dockerfile


#: the name an inline Dockerfile gets in the uploaded build context
INLINE_DOCKERFILE = ".fleetform-inline.Dockerfile"


RolloutOrder = Literal["stop-first", "start-first"]
FailureAction = Literal["rollback", "pause", "continue"]


@dataclass(frozen=True)
class RolloutConfig:
    """``deploy.update_config`` / ``deploy.rollback_config`` (docs/rollouts.md)."""

    #: containers per batch, across all hosts and replicas of the service:
    #: a count, or a percentage of them when ``parallelism_percent`` is set.
    parallelism: int = 1
    parallelism_percent: bool = False
    delay: int = 0  # ns
    order: RolloutOrder = "stop-first"
    monitor: int = 5_000_000_000  # ns
    #: ``rollback`` by default, deliberately not Compose's ``pause``: a failed
    #: rollout should leave the fleet on the old revision, not half-way.
    failure_action: FailureAction = "rollback"
    max_failure_ratio: float = 0.0

    def batch_size(self, total: int) -> int:
        """Containers per batch out of ``total``: at least one.

        >>> RolloutConfig(parallelism=25, parallelism_percent=True).batch_size(6)
        1
        >>> RolloutConfig(parallelism=50, parallelism_percent=True).batch_size(6)
        3
        """
        if self.parallelism_percent:
            return max(1, total * self.parallelism // 100)
        return max(1, self.parallelism)

    def batches(self, items: Sequence[T]) -> tuple[tuple[T, ...], ...]:
        """``items`` in order, cut into batches of :meth:`batch_size`.

        >>> RolloutConfig(parallelism=2).batches("abcde")
        (('a', 'b'), ('c', 'd'), ('e',))
        """
        size = self.batch_size(len(items))
        return tuple(tuple(items[i : i + size]) for i in range(0, len(items), size))


#: Defaults of the ``proxy`` key (docs/proxy.md).
PROXY_HEALTH_PATH = "/"
PROXY_HEALTH_INTERVAL = 1_000_000_000  # ns
PROXY_HEALTH_TIMEOUT = 2_000_000_000  # ns
PROXY_DRAIN = 10_000_000_000  # ns


@dataclass(frozen=True)
class ProxyHealth:
    """The proxy's own HTTP check of each replica: only a passing replica gets traffic."""

    path: str = PROXY_HEALTH_PATH
    interval: int = PROXY_HEALTH_INTERVAL  # ns
    timeout: int = PROXY_HEALTH_TIMEOUT  # ns


@dataclass(frozen=True)
class ProxyConfig:
    """``proxy``: the host's HTTP proxy serves ``listen`` and balances over the replicas.

    The proxy reaches each replica at its address on the stack network and
    ``target_port``, so the service needs no host port of its own.
    """

    listen: int  # host port the proxy serves
    target_port: int  # container port
    health: ProxyHealth = field(default_factory=ProxyHealth)
    #: how long in-flight requests may finish on a replaced container.
    drain: int = PROXY_DRAIN  # ns


@dataclass(frozen=True)
class Service:
    name: str
    image: str
    build: Build | None = None
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    #: environment after env_file and pass-through variables are merged.
    environment: Pairs = ()
    #: keys whose values are secret: they never appear in plans, logs or labels
    #: (values from env_file, keys passed through from the control machine's
    #: environment, even when unset there, and keys that look like secrets).
    secret_keys: frozenset[str] = frozenset()
    ports: tuple[Port, ...] = ()
    volumes: tuple[Mount, ...] = ()
    #: in the stack file's order (validation rejects two at one target)
    secrets: tuple[SecretMount, ...] = ()
    #: project files, read-only project folders and configs it mounts
    files: tuple[ProjectFile, ...] = ()
    networks: tuple[NetworkAttachment, ...] = ()
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    healthcheck: Healthcheck | None = None
    labels: Pairs = ()
    user: str | None = None
    working_dir: str | None = None
    hostname: str | None = None
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    read_only: bool = False
    privileged: bool = False
    init: bool = False
    stop_signal: str | None = None
    stop_grace_period: int | None = None  # ns
    logging: Logging | None = None
    ulimits: tuple[Ulimit, ...] = ()
    sysctls: Pairs = ()
    extra_hosts: tuple[str, ...] = ()  # "name:ip", sorted
    dns: tuple[str, ...] = ()
    #: ``expose``: container ports as ``port/proto``, sorted (ranges expanded).
    expose: tuple[str, ...] = ()
    platform: str | None = None
    runtime: str | None = None
    #: ``host``, ``none``, ``service:<name>`` or ``container:<name>``; None: networks.
    network_mode: str | None = None
    stdin_open: bool = False
    tty: bool = False
    pid: str | None = None
    ipc: str | None = None
    shm_size: int | None = None  # bytes
    #: ``tmpfs``: ``/path`` or ``/path:options``, sorted.
    tmpfs: tuple[str, ...] = ()
    #: ``devices``: ``host:container:permissions``, sorted.
    devices: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()  # sorted
    group_add: tuple[str, ...] = ()  # sorted
    #: ``container_name``: the one container's name, instead of ``<stack>-<service>-1``.
    fixed_name: str | None = None
    depends_on: tuple[Dependency, ...] = ()
    replicas: int = 1
    resources: Resources = field(default_factory=Resources)
    update_config: RolloutConfig = field(default_factory=RolloutConfig)
    rollback_config: RolloutConfig = field(default_factory=RolloutConfig)
    #: fleetform's ``proxy`` key; None: no proxy in front of this service.
    proxy: ProxyConfig | None = None
    #: placement: inventory groups or hosts; empty means the stack's hosts.
    hosts: tuple[str, ...] = ()
    state: ServiceState = "running"
    pull: PullPolicy = "missing"
    #: an image archive (``docker save`` output) on the control machine, loaded
    #: with ``docker load`` when the image is missing on a host (air-gapped
    #: hosts).  Added for the planner; the loader may leave it None.
    image_archive: Path | None = None

    def container_name(self, stack: str, replica: int) -> str:
        # `container_name` is refused with more than one replica (validation).
        return self.fixed_name or f"{stack}-{self.name}-{replica}"


@dataclass(frozen=True)
class Stack:
    name: str
    source: Path  # the stack file, as given on the command line
    version: int = 1
    #: inventory groups or host names; empty means every host.
    hosts: tuple[str, ...] = ()
    engine: Engine | None = None
    networks: tuple[Network, ...] = ()
    volumes: tuple[Volume, ...] = ()
    secrets: tuple[Secret, ...] = ()
    services: tuple[Service, ...] = ()
    #: the stack file's identity (its path inside its git work tree, else its
    #: absolute path), set by the loader; empty means ``source`` as written.
    identity: str = ""
    #: services left out by ``profiles`` (none active): their containers on a
    #: host are left alone, neither converged nor removed.
    inactive_services: tuple[str, ...] = ()
    #: every file of the stack when it was merged from several (``-f a -f b``,
    #: or a ``compose.override.yaml``); ``source`` is the first.
    sources: tuple[Path, ...] = ()

    @property
    def file_identity(self) -> str:
        """The value of the ``fleetform.stack-file`` label of everything this stack makes."""
        return self.identity or self.source.as_posix()

    def service(self, name: str) -> Service:
        for svc in self.services:
            if svc.name == name:
                return svc
        raise KeyError(name)

    def network(self, name: str) -> Network:
        for net in self.networks:
            if net.name == name:
                return net
        raise KeyError(name)

    def volume(self, name: str) -> Volume:
        for vol in self.volumes:
            if vol.name == name:
                return vol
        raise KeyError(name)

    def secret(self, name: str) -> Secret:
        for sec in self.secrets:
            if sec.name == name:
                return sec
        raise KeyError(name)
