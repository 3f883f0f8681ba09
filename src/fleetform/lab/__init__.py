"""The lab: a local fleet of Debian hosts (systemd, sshd, python3) in containers.

Python API for tests and tools::

    from fleetform.lab import ensure_lab, lab_hosts, ssh_config

    hosts = ensure_lab(3)          # lab up (idempotent, fast when already up)
    hosts[0].name, hosts[0].address, hosts[0].groups   # 'lab-1', '10.213.0.11', ('web',)
    ssh = ssh_config()             # .user, .key_file, .known_hosts_file

The lab is chosen by ``FLEETFORM_LAB_NAME`` (default ``lab``) and keeps its
keys in ``FLEETFORM_LAB_DIR`` (default ``/var/lib/fleetform/<name>``).
"""

from __future__ import annotations

from fleetform.lab.config import REGISTRY, LabConfig, LabError
from fleetform.lab.ssh import SshConfig
from fleetform.lab.ssh import ssh_config as _ssh_config
from fleetform.lab.status import LabHost, lab_hosts


def ssh_config(cfg: LabConfig | None = None) -> SshConfig:
    """User, private key and known_hosts file for logging in to the lab's hosts."""
    return _ssh_config(cfg or LabConfig.from_env())


def ensure_lab(hosts: int = 3, cfg: LabConfig | None = None, quiet: bool = True) -> list[LabHost]:
    """``lab up --hosts N`` from Python; returns the running hosts (lab-1 first).

    Serialised with a file lock, so parallel pytest sessions may all call it.
    """
    from fleetform.lab.lifecycle import up
    from fleetform.lab.progress import Progress

    return up(cfg or LabConfig.from_env(), hosts, Progress(quiet=quiet))


def ca_cert_pem(cfg: LabConfig | None = None) -> str:
    """The lab CA that signs ``registry.lab:5000``'s certificate (PEM)."""
    return (cfg or LabConfig.from_env()).ca_cert.read_text()


__all__ = [
    "REGISTRY",
    "LabConfig",
    "LabError",
    "LabHost",
    "SshConfig",
    "ca_cert_pem",
    "ensure_lab",
    "lab_hosts",
    "ssh_config",
]
