"""The lab: a local fleet of Debian hosts (systemd, sshd, python3) in containers.

Python API for tests and tools::

    from fleetform.lab import ensure_lab, lab_hosts, ssh_config

    lab = ensure_lab(3)            # lab up (idempotent, < 1 s when already up)
    h = lab.hosts[0]               # LabHost(name='lab-1', address='10.213.0.11',
                                   #         container='lab-1', state='running', groups=('web',))
    lab.run(h, "systemctl is-system-running").stdout   # over SSH, host key checked
    lab.ssh.key_file, lab.ssh.known_hosts_file          # also: ssh_config()
    lab.ca_pem                     # the CA of registry.lab:5000

The lab is chosen by ``FLEETFORM_LAB_NAME`` (default ``lab``) and keeps its
keys in ``FLEETFORM_LAB_DIR`` (default ``/var/lib/fleetform/<name>``).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from fleetform.lab.config import REGISTRY, LabConfig, LabError
from fleetform.lab.ssh import SshConfig, run_ssh
from fleetform.lab.ssh import ssh_config as _ssh_config
from fleetform.lab.status import LabHost, lab_hosts


def ssh_config(cfg: LabConfig | None = None) -> SshConfig:
    """User, private key and known_hosts file for logging in to the lab's hosts."""
    return _ssh_config(cfg or LabConfig.from_env())


@dataclass(frozen=True)
class RunningLab:
    cfg: LabConfig
    hosts: list[LabHost]
    ssh: SshConfig

    @property
    def ca_pem(self) -> str:
        return self.cfg.ca_cert.read_text()

    def host(self, name: str) -> LabHost:
        return next(h for h in self.hosts if h.name == name)

    def run(self, host: LabHost | str, command: str) -> subprocess.CompletedProcess[str]:
        """Run a shell command on a lab host as root over SSH (not checked; see returncode)."""
        target = self.host(host) if isinstance(host, str) else host
        return run_ssh(self.cfg, target.address, command)


def ensure_lab(
    hosts: int = 3, cfg: LabConfig | None = None, quiet: bool = True, shrink: bool = False
) -> RunningLab:
    """``lab up --hosts N`` from Python; by default keeps hosts beyond N (``shrink=False``).

    Serialised with a file lock, so parallel pytest sessions may all call it.
    """
    from fleetform.lab.lifecycle import up
    from fleetform.lab.progress import Progress

    cfg = cfg or LabConfig.from_env()
    running = up(cfg, hosts, Progress(quiet=quiet), shrink=shrink)
    return RunningLab(cfg, running, _ssh_config(cfg))


__all__ = [
    "REGISTRY",
    "LabConfig",
    "LabError",
    "LabHost",
    "RunningLab",
    "SshConfig",
    "ensure_lab",
    "lab_hosts",
    "ssh_config",
]
