"""What the lab looks like now: its hosts, their addresses and groups.

Groups: ``web`` holds every lab host, ``db`` the last one.

    >>> cfg = LabConfig.for_name("lab")
    >>> [h.groups for h in hosts_from_observed(cfg, {1: "running", 2: "running"})]
    [('web',), ('web', 'db')]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from fleetform.lab.config import LabConfig
from fleetform.lab.hosts import observe_hosts


@dataclass(frozen=True)
class LabHost:
    name: str  # inventory name and hostname, e.g. lab-1
    address: str  # IPv4 address on the lab network
    container: str  # container name on the control engine
    state: str  # docker's container state: running, exited, ...
    groups: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["groups"] = list(self.groups)
        return data


def groups_for(index: int, last: int) -> tuple[str, ...]:
    return ("web", "db") if index == last else ("web",)


def hosts_from_observed(cfg: LabConfig, states: dict[int, str]) -> list[LabHost]:
    """LabHosts from {index: container state}; pure, so it is tested without Docker."""
    last = max(states, default=0)
    return [
        LabHost(
            name=cfg.host_name(i),
            address=cfg.host_address(i),
            container=cfg.host_name(i),
            state=states[i],
            groups=groups_for(i, last),
        )
        for i in sorted(states)
    ]


def lab_hosts(cfg: LabConfig | None = None) -> list[LabHost]:
    """The lab's host containers, whatever their state, ordered by index."""
    cfg = cfg or LabConfig.from_env()
    return hosts_from_observed(cfg, {i: h.state for i, h in observe_hosts(cfg).items()})
