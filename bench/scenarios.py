"""The measurements: each scenario sets up its state untimed, then times the tool's runs.

Tools run one after another, each on its own containers; before a tool's
series every bench container on the hosts is removed, so a tool never pays
for another tool's containers.  A tool that fails records its error in the
series and the run goes on with the next one.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from bench import labhosts, roundtrips, workload
from bench.labhosts import Host, HostError
from bench.results import Results, RolloutRun, Series
from bench.tools import Fleetform, Run, ToolError, bare_apt_install


class Tool(Protocol):
    key: str
    label: str

    def converge(self, hosts: list[Host], specs: list[workload.ContainerSpec]) -> Run: ...


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@dataclass
class Bench:
    results: Results
    tools: Sequence[Tool]
    hosts: list[Host]  # the tool hosts, 1..plan.tool_hosts

    # --- helpers ------------------------------------------------------------------
    def _reset(self) -> None:
        """Remove every bench container from every tool host (fan-out leaves some on 2..6)."""
        for h in self.hosts:
            labhosts.remove_bench_containers(h)

    def _series(self, tool: Tool, hosts: list[Host], n: int, series: Series) -> None:
        """Converge untimed, then time ``reps`` no-op runs, counting SSH on the first host."""
        specs = workload.containers(tool.key, n)
        self._reset()
        tool.converge(hosts, specs)  # creates the containers (untimed)
        for _ in range(self.results.plan.reps):
            before = labhosts.snapshot(hosts[0])
            position = roundtrips.cursor(hosts[0])
            run = tool.converge(hosts, specs)
            counts = roundtrips.count_since(hosts[0], position)
            after = labhosts.snapshot(hosts[0])
            series.seconds.append(run.seconds)
            series.ssh.append((counts.connections, counts.sessions))
            series.touched.append(len(labhosts.touched(before, after)))

    # --- scenarios ------------------------------------------------------------------
    def noop(self) -> None:
        """No-op converge of n containers on one host, for every n and tool."""
        for n in self.results.plan.noop_counts:
            for tool in self.tools:
                if not self.results.plan.runs_noop(tool.key, n):
                    continue
                series = self.results.noop.setdefault(tool.key, {}).setdefault(n, Series())
                log(f"no-op, {n} container(s), 1 host: {tool.label}")
                with recording(f"{tool.key} no-op {n}", series):
                    self._series(tool, self.hosts[:1], n, series)

    def change(self) -> None:
        """One env value changed on one container among plan.change_count."""
        n = self.results.plan.change_count
        changed = (n + 1) // 2
        for tool in self.tools:
            series = self.results.change.setdefault(tool.key, Series())
            log(f"one change among {n} containers: {tool.label}")
            with recording(f"{tool.key} change", series):
                self._change(tool, n, changed, series)

    def _change(self, tool: Tool, n: int, changed: int, series: Series) -> None:
        host = self.hosts[0]
        self._reset()
        tool.converge([host], workload.containers(tool.key, n))
        for rep in range(1, self.results.plan.reps + 1):
            value = f"v{rep}"  # each rep changes the value the previous rep set
            specs = workload.containers(tool.key, n, changed, value)
            before = labhosts.snapshot(host)
            position = roundtrips.cursor(host)
            run = tool.converge([host], specs)
            counts = roundtrips.count_since(host, position)
            after = labhosts.snapshot(host)
            series.seconds.append(run.seconds)
            series.ssh.append((counts.connections, counts.sessions))
            series.touched.append(len(labhosts.touched(before, after)))
            target = specs[changed - 1].name
            series.applied.append(target in after and f"BENCH_VALUE={value}" in after[target].env)

    def fanout(self) -> None:
        """The same no-op (plan.fanout_per_host containers each) on 1, 3, 6 hosts."""
        plan = self.results.plan
        for count in plan.fanout_hosts:
            for tool in self.tools:
                series = self.results.fanout.setdefault(tool.key, {}).setdefault(count, Series())
                log(f"fan-out, {plan.fanout_per_host} containers on {count} host(s): {tool.label}")
                with recording(f"{tool.key} fan-out {count}", series):
                    self._series(tool, self.hosts[:count], plan.fanout_per_host, series)

    def rollout(self) -> None:
        """An env change rolled all at once, then one container at a time, under a probe."""
        from bench.rollout import run_scenario

        hosts = self.hosts[: self.results.plan.rollout_hosts]
        log(f"rollout, {len(hosts)} host(s): stop-first, then start-first through the proxy")
        try:
            self.results.rollout = run_scenario(hosts)
        except (HostError, RuntimeError) as exc:  # the first apply or the cleanup failed
            self.results.rollout = [RolloutRun("setup", "-", len(hosts), error=str(exc))]

    def cleanup(self) -> None:
        self._reset()


def engine_installs(results: Results, fleetform: Fleetform) -> None:
    """fleetform's engine-only apply vs a bare apt-get, each on a freshly recreated host."""
    plan = results.plan
    ff = results.engine.setdefault("fleetform", Series())
    apt = results.engine.setdefault("apt", Series())
    a, b = plan.engine_hosts
    for rep in range(plan.engine_reps):
        log(f"engine install {rep + 1}/{plan.engine_reps}: recreating hosts {a} and {b}")
        hosts = {h.index: h for h in labhosts.recreate([a, b], plan.lab_hosts)}
        with recording("fleetform engine install", ff):
            ff.seconds.append(fleetform.install_engine([hosts[a]]).seconds)
        with recording("bare apt-get install", apt):
            apt.seconds.append(bare_apt_install(hosts[b]).seconds)


@contextlib.contextmanager
def recording(what: str, series: Series) -> Iterator[None]:
    """Record a tool's or host's failure in the series, and go on with the run."""
    try:
        yield
    except (ToolError, HostError) as exc:
        series.error = str(exc)
        log(f"{what} failed: {str(exc).splitlines()[0]}")
