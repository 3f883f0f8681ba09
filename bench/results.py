"""What one bench run measured, as plain data (the report reads only this)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Plan:
    """The sizes of one run: the full bench or the smoke version."""

    reps: int
    noop_counts: tuple[int, ...]  # containers on one host
    change_count: int
    fanout_hosts: tuple[int, ...]
    fanout_per_host: int
    engine_reps: int
    #: hosts recreated fresh for each engine install: (fleetform, bare apt-get)
    engine_hosts: tuple[int, int]
    tools: tuple[str, ...] = ("fleetform", "ansible", "pyinfra")
    #: (tool, containers) no-op sizes a tool skips: Ansible takes about a second per
    #: container per run here, and no target needs its 40-container no-op.
    skip_noop: frozenset[tuple[str, int]] = frozenset()
    #: hosts 1..rollout_hosts serve the rollout scenario's published port
    rollout_hosts: int = 3

    def runs_noop(self, tool: str, n: int) -> bool:
        return (tool, n) not in self.skip_noop

    @property
    def tool_hosts(self) -> int:
        """Hosts 1..tool_hosts run the tools."""
        return max(self.fanout_hosts)

    @property
    def lab_hosts(self) -> int:
        return max(self.tool_hosts, *self.engine_hosts)


FULL = Plan(
    reps=3,
    noop_counts=(1, 10, 40, 50, 100),
    change_count=50,
    fanout_hosts=(1, 3, 6),
    fanout_per_host=10,
    engine_reps=3,
    engine_hosts=(7, 8),
    skip_noop=frozenset({("ansible", 40)}),
)
SMOKE = Plan(
    reps=1,
    noop_counts=(1, 2),
    change_count=2,
    fanout_hosts=(1,),
    fanout_per_host=2,
    engine_reps=1,
    # The smoke run installs the engine of its one tool host as its measurement.
    engine_hosts=(1, 2),
    rollout_hosts=1,
)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Series:
    """Repeated measurements of one thing."""

    seconds: list[float] = field(default_factory=list)
    #: per rep: (connections, sessions) sshd counted on the (first) host
    ssh: list[tuple[int, int]] = field(default_factory=list)
    #: per rep: containers whose id or start time changed
    touched: list[int] = field(default_factory=list)
    #: per rep: did the wanted change reach the container (change runs only)
    applied: list[bool] = field(default_factory=list)
    error: str | None = None

    @property
    def median(self) -> float:
        return median(self.seconds)

    @property
    def median_sessions(self) -> float:
        return median([float(s) for _, s in self.ssh])

    @property
    def median_connections(self) -> float:
        return median([float(c) for c, _ in self.ssh])


@dataclass
class RolloutRun:
    """One apply of an ``environment`` change in the rollout scenario, and what a
    probe sending requests to every host saw meanwhile (bench/rollout.py)."""

    mode: str
    parallelism: str
    hosts: int
    seconds: float = 0.0
    batches: list[float] = field(default_factory=list)
    requests: int = 0
    failed: int = 0
    #: longest window in which at least one host failed its requests
    some_host_down: float = 0.0
    #: longest window in which every host failed (nobody was served)
    all_hosts_down: float = 0.0
    error: str | None = None


@dataclass
class Results:
    plan: Plan
    smoke: bool
    machine: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    setup_seconds: dict[str, float] = field(default_factory=dict)
    #: tool -> containers -> no-op on one host
    noop: dict[str, dict[int, Series]] = field(default_factory=dict)
    #: tool -> one changed field among plan.change_count containers
    change: dict[str, Series] = field(default_factory=dict)
    #: tool -> hosts -> no-op with plan.fanout_per_host containers per host
    fanout: dict[str, dict[int, Series]] = field(default_factory=dict)
    #: "fleetform" (engine-only apply) and "apt" (bare apt-get over SSH)
    engine: dict[str, Series] = field(default_factory=dict)
    #: the rollout scenario: all at once, then one at a time
    rollout: list[RolloutRun] = field(default_factory=list)
    started: str = ""
    cleanup_error: str = ""
    total_seconds: float = 0.0
