"""The running lab as pyinfra inventory groups (used by ``inventory/lab.py``).

Each group is a list of ``(name, data)`` pairs, the form pyinfra inventory
files use.  Host data carries the SSH settings (host key checking on, the
lab's known_hosts) and the lab CA as ``fleetform_registries`` so the engine
deploy can install it::

    >>> cfg = LabConfig.for_name("lab")
    >>> hosts = hosts_from_observed(cfg, {1: "running", 2: "running"})
    >>> groups = build_groups(cfg, hosts, ca_pem="PEM")
    >>> [name for name, _ in groups["db"]], groups["db"][0][1]["ssh_hostname"]
    (['lab-2'], '10.213.0.12')
"""

from __future__ import annotations

import sys
from typing import Any

from fleetform.lab.config import REGISTRY, LabConfig, LabError
from fleetform.lab.status import LabHost, hosts_from_observed, lab_hosts

GROUPS = ("web", "db")
HostEntry = tuple[str, dict[str, Any]]


def host_data(cfg: LabConfig, host: LabHost, ca_pem: str) -> dict[str, Any]:
    return {
        "ssh_hostname": host.address,
        "ssh_user": "root",
        "ssh_key": str(cfg.ssh_key),
        "ssh_known_hosts_file": str(cfg.known_hosts),
        "ssh_strict_host_key_checking": "yes",
        "ssh_connect_retries": 2,
        "fleetform_lab": cfg.name,
        "fleetform_container": host.container,
        "fleetform_registries": {REGISTRY: ca_pem},
    }


def build_groups(cfg: LabConfig, hosts: list[LabHost], ca_pem: str) -> dict[str, list[HostEntry]]:
    """Groups of running hosts; pure, so it is tested on a recorded status."""
    groups: dict[str, list[HostEntry]] = {g: [] for g in GROUPS}
    for host in hosts:
        if host.state != "running":
            continue
        for group in host.groups:
            groups.setdefault(group, []).append((host.name, host_data(cfg, host, ca_pem)))
    return groups


def discover(cfg: LabConfig | None = None, warn: bool = True) -> dict[str, list[HostEntry]]:
    """The running lab's groups; empty groups (and a note on stderr) when it is down."""
    cfg = cfg or LabConfig.from_env()
    try:
        hosts = lab_hosts(cfg)
        ca_pem = cfg.ca_cert.read_text() if cfg.ca_cert.exists() else ""
    except LabError as exc:
        if warn:
            print(f"fleetform lab inventory: {exc}", file=sys.stderr)
        return {g: [] for g in GROUPS}
    groups = build_groups(cfg, hosts, ca_pem)
    if warn and not any(groups.values()):
        print(
            f"fleetform lab inventory: lab {cfg.name!r} has no running hosts; "
            "run `fleetform lab up` first",
            file=sys.stderr,
        )
    return groups


__all__ = ["build_groups", "discover", "hosts_from_observed"]
