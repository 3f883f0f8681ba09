"""Lab host containers: how one is created, and observing the ones that exist.

A host runs systemd as PID 1 without ``--privileged`` (refused on this
kernel, see ENVIRONMENT.md): every capability except SYS_RESOURCE, no
seccomp/apparmor confinement, the host cgroup namespace and a named volume
at /var/lib/docker so the inner overlay2 does not sit on overlay.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass

from fleetform.lab import engine, keys
from fleetform.lab._docker_import import Container
from fleetform.lab.config import (
    LABEL,
    LABEL_CONFIG,
    LABEL_INDEX,
    LABEL_NAME,
    LABEL_ROLE,
    REGISTRY,
    LabConfig,
    LabError,
)
from fleetform.lab.engine import ContainerSpec
from fleetform.lab.payload import File, build_tar

_CAPABILITIES_TEXT = (
    "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE "
    "NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO "
    "SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_TIME SYS_TTY_CONFIG MKNOD "
    "LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM "
    "BLOCK_SUSPEND AUDIT_READ"
)
# Every capability but SYS_RESOURCE, which the engine's bounding set lacks.
CAPABILITIES = tuple(_CAPABILITIES_TEXT.split())
SYSTEMPATHS_UNCONFINED = "systempaths=unconfined"
SECURITY_OPT = ("seccomp=unconfined", "apparmor=unconfined", SYSTEMPATHS_UNCONFINED)
DEVICE_CGROUP_RULES = ("a *:* rwm",)
CGROUP_BIND = "/sys/fs/cgroup:/sys/fs/cgroup:rw"
TMPFS = ("/run", "/run/lock")
STOP_SIGNAL = "SIGRTMIN+3"
#: The same settings as ``docker run`` flags: what people can type by hand, and
#: part of every host's config hash (so this text must not change for the
#: same settings, or every existing host is recreated).
RUN_FLAGS = (
    *(arg for cap in CAPABILITIES for arg in ("--cap-add", cap)),
    *(arg for opt in SECURITY_OPT for arg in ("--security-opt", opt)),
    *(arg for rule in DEVICE_CGROUP_RULES for arg in ("--device-cgroup-rule", rule)),
    "--cgroupns", "host",
    "--volume", CGROUP_BIND,
    *(arg for path in TMPFS for arg in ("--tmpfs", path)),
    "--stop-signal", STOP_SIGNAL,
)  # fmt: skip

ROLE_HOST = "host"
CA_PATH = f"/etc/docker/certs.d/{REGISTRY}/ca.crt"


@dataclass(frozen=True)
class ObservedHost:
    index: int
    name: str
    container_id: str
    state: str  # docker's State.Status: created, running, exited, ...
    config: str  # LABEL_CONFIG of the container


def host_files(cfg: LabConfig, index: int) -> list[File]:
    host_key = cfg.host_key_dir(index) / "ssh_host_ed25519_key"
    return [
        File("/etc/ssh/ssh_host_ed25519_key", host_key.read_bytes(), 0o600),
        File("/etc/ssh/ssh_host_ed25519_key.pub", (keys.public_key(host_key) + "\n").encode()),
        File("/root/.ssh/authorized_keys", (keys.public_key(cfg.ssh_key) + "\n").encode(), 0o600),
        # dockerd reads certs.d on every pull, so this works even when docker
        # is installed on the host later.
        File(CA_PATH, cfg.ca_cert.read_bytes()),
    ]


def host_config_hash(cfg: LabConfig, index: int, image: str) -> str:
    """Everything a host is created from; a host whose label differs is recreated."""
    files = [
        (f.path, f.mode, hashlib.sha256(f.content).hexdigest()) for f in host_files(cfg, index)
    ]
    payload = json.dumps([image, RUN_FLAGS, cfg.host_address(index), cfg.network, files])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def create_spec(cfg: LabConfig, index: int, image: str, config_hash: str) -> ContainerSpec:
    """How host ``index`` is created: the settings RUN_FLAGS spells as CLI flags."""
    name = cfg.host_name(index)
    labels = cfg.labels(ROLE_HOST, **{LABEL_INDEX: str(index), LABEL_CONFIG: config_hash})
    return ContainerSpec(
        image=image,
        name=name,
        hostname=name,
        labels=labels,
        network=cfg.network,
        endpoint={"aliases": [cfg.host_alias(index)], "ipv4_address": cfg.host_address(index)},
        host={
            "cap_add": list(CAPABILITIES),
            "security_opt": [o for o in SECURITY_OPT if o != SYSTEMPATHS_UNCONFINED],
            "device_cgroup_rules": list(DEVICE_CGROUP_RULES),
            "cgroupns": "host",
            "binds": [CGROUP_BIND, f"{cfg.host_volume(index)}:/var/lib/docker"],
            "tmpfs": dict.fromkeys(TMPFS, ""),
        },
        stop_signal=STOP_SIGNAL,
        unmask_system_paths=SYSTEMPATHS_UNCONFINED in SECURITY_OPT,
    )


def observe_hosts(cfg: LabConfig) -> dict[int, ObservedHost]:
    """The lab's host containers by index (found by label, so never anyone else's)."""
    found: dict[int, ObservedHost] = {}
    for c in engine.list_containers({LABEL: "1", LABEL_NAME: cfg.name, LABEL_ROLE: ROLE_HOST}):
        labels = c.get("Labels") or {}
        index = int(labels.get(LABEL_INDEX, "0"))
        found[index] = ObservedHost(
            index=index,
            name=str((c.get("Names") or [""])[0]).lstrip("/"),
            container_id=str(c["Id"]),
            state=str(c["State"]),
            config=labels.get(LABEL_CONFIG, ""),
        )
    return found


def ensure_volume(cfg: LabConfig, name: str) -> None:
    existing = engine.get_volume(name)
    if existing is not None:
        if engine.labels_of(existing).get(LABEL_NAME) != cfg.name:
            raise LabError(f"volume {name} exists but is not this lab's; remove or rename it")
        return
    with engine.calling("volume create"):
        engine.client().volumes.create(name, labels=cfg.labels("volume"))


def refuse_foreign_container(cfg: LabConfig, name: str) -> Container | None:
    """Stop when a container with a lab name exists without this lab's label; else return it."""
    existing = engine.get_container(name)
    if existing is not None and engine.labels_of(existing).get(LABEL_NAME) != cfg.name:
        raise LabError(f"container {name} exists but is not this lab's; remove or rename it")
    return existing


def create_started(spec: ContainerSpec, files: list[File]) -> Container:
    """Create a container, copy ``files`` into it before it boots, and start it."""
    container = engine.create_container(spec)
    with engine.calling("cp"):
        container.put_archive("/", build_tar(files))
    with engine.calling("start"):
        container.start()
    return container


def create_host(cfg: LabConfig, index: int, image: str) -> None:
    """Create and start host ``index`` with its files in place before boot."""
    refuse_foreign_container(cfg, cfg.host_name(index))
    ensure_volume(cfg, cfg.host_volume(index))
    spec = create_spec(cfg, index, image, host_config_hash(cfg, index, image))
    create_started(spec, host_files(cfg, index))


def start(container_id: str) -> bool:
    """Start a stopped lab container; False when the engine refuses."""
    try:
        with engine.calling("start"):
            engine.client().api.start(container_id)
    except LabError:
        return False
    return True


def remove_container(container_id: str, volumes: bool = True) -> None:
    """``docker rm -f [-v]``: anonymous volumes go with the container when ``volumes``."""
    with engine.calling("rm"):
        engine.client().api.remove_container(container_id, v=volumes, force=True)


def remove_host(cfg: LabConfig, host: ObservedHost, keep_volume: bool = False) -> None:
    """Remove a host found by this lab's label, and (unless kept) its labelled volume.

    Safe: ``host`` comes from ``observe_hosts``, which only sees containers
    carrying this lab's label; the volume is checked for the label as well.
    """
    remove_container(host.container_id)
    if not keep_volume:
        remove_labelled_volume(cfg, cfg.host_volume(host.index))


def remove_labelled_volume(cfg: LabConfig, name: str) -> None:
    """Remove volume ``name`` if it carries this lab's label (a failure is left alone)."""
    found = engine.get_volume(name)
    if found is not None and engine.labels_of(found).get(LABEL_NAME) == cfg.name:
        with contextlib.suppress(LabError), engine.calling("volume rm"):
            found.remove()
