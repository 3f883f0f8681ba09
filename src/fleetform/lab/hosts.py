"""Lab host containers: how one is created, and observing the ones that exist.

A host runs systemd as PID 1 without ``--privileged`` (refused on this
kernel, see ENVIRONMENT.md): every capability except SYS_RESOURCE, no
seccomp/apparmor confinement, the host cgroup namespace and a named volume
at /var/lib/docker so the inner overlay2 does not sit on overlay.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from fleetform.lab import keys
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
from fleetform.lab.docker_cli import docker, inspect, label_args, list_ids
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
RUN_FLAGS = (
    *(arg for cap in CAPABILITIES for arg in ("--cap-add", cap)),
    "--security-opt", "seccomp=unconfined",
    "--security-opt", "apparmor=unconfined",
    "--security-opt", "systempaths=unconfined",
    "--device-cgroup-rule", "a *:* rwm",
    "--cgroupns", "host",
    "--volume", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run",
    "--tmpfs", "/run/lock",
    "--stop-signal", "SIGRTMIN+3",
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


def create_argv(cfg: LabConfig, index: int, image: str, config_hash: str) -> list[str]:
    """``docker create`` arguments for host ``index``."""
    name = cfg.host_name(index)
    labels = cfg.labels(ROLE_HOST, **{LABEL_INDEX: str(index), LABEL_CONFIG: config_hash})
    return [
        "create",
        "--name", name,
        "--hostname", name,
        *label_args(labels),
        *RUN_FLAGS,
        "--volume", f"{cfg.host_volume(index)}:/var/lib/docker",
        "--network", cfg.network,
        "--ip", cfg.host_address(index),
        "--network-alias", cfg.host_alias(index),
        image,
    ]  # fmt: skip


def observe_hosts(cfg: LabConfig) -> dict[int, ObservedHost]:
    """The lab's host containers by index (found by label, so never anyone else's)."""
    ids = list_ids("container", {LABEL: "1", LABEL_NAME: cfg.name, LABEL_ROLE: ROLE_HOST})
    found: dict[int, ObservedHost] = {}
    for c in inspect("container", ids):
        labels = c["Config"]["Labels"] or {}
        index = int(labels.get(LABEL_INDEX, "0"))
        found[index] = ObservedHost(
            index=index,
            name=c["Name"].lstrip("/"),
            container_id=c["Id"],
            state=c["State"]["Status"],
            config=labels.get(LABEL_CONFIG, ""),
        )
    return found


def ensure_volume(cfg: LabConfig, name: str) -> None:
    existing = inspect("volume", [name])
    if existing:
        if (existing[0].get("Labels") or {}).get(LABEL_NAME) != cfg.name:
            raise LabError(f"volume {name} exists but is not this lab's; remove or rename it")
        return
    docker("volume", "create", *label_args(cfg.labels("volume")), name)


def refuse_foreign_container(cfg: LabConfig, name: str) -> None:
    """Stop when a container with a lab name exists without this lab's label."""
    existing = inspect("container", [name])
    if existing and (existing[0]["Config"]["Labels"] or {}).get(LABEL_NAME) != cfg.name:
        raise LabError(f"container {name} exists but is not this lab's; remove or rename it")


def create_host(cfg: LabConfig, index: int, image: str) -> None:
    """Create and start host ``index`` with its files in place before boot."""
    name = cfg.host_name(index)
    refuse_foreign_container(cfg, name)
    ensure_volume(cfg, cfg.host_volume(index))
    docker(*create_argv(cfg, index, image, host_config_hash(cfg, index, image)))
    docker("cp", "-", f"{name}:/", input=build_tar(host_files(cfg, index)))
    docker("start", name)


def remove_host(cfg: LabConfig, host: ObservedHost, keep_volume: bool = False) -> None:
    """Remove a host found by this lab's label, and (unless kept) its labelled volume.

    Safe: ``host`` comes from ``observe_hosts``, which only sees containers
    carrying this lab's label; the volume is checked for the label as well.
    """
    docker("rm", "-f", "-v", host.container_id)
    if not keep_volume:
        remove_labelled(cfg, "volume", cfg.host_volume(host.index))


def remove_labelled(cfg: LabConfig, kind: str, name: str) -> None:
    found = inspect(kind, [name])
    if found and (found[0].get("Labels") or {}).get(LABEL_NAME) == cfg.name:
        docker(kind, "rm", name, check=False)
