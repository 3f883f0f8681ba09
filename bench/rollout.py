"""The rollout scenario: what clients of a host port see while fleetform rolls.

The demo's ``web`` service (stacks/demo.yml: its image, healthcheck, restart
policy and default stop timeout), one replica on each of the first hosts,
served on the same host port in each mode.  An ``environment`` change is
applied in each mode, one after the other:

- stop-first, the port published by the container (no proxy):
  ``parallelism: "100%"`` (all at once), then ``parallelism: 1``;
- start-first through the host's HAProxy (``proxy``, the demo's settings on
  the bench port): ``parallelism: "100%"``, then ``parallelism: 1``.

Meanwhile a probe thread per host sends ``GET /healthz`` to the host's lab
address in a loop, bounded in count and time: the same probe for every mode.
For each run: requests, failed requests, the longest window in which some
host failed, the longest window in which no host answered, the apply's wall
time and its batches' times.

    python -m bench.rollout   # against the lab FLEETFORM_LAB_NAME names, 3 hosts
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from bench.labhosts import Host
from bench.paths import REPO, WORK
from bench.results import RolloutRun
from bench.workload import LABEL_BENCH

STACK = "benchroll"
PORT = 18190
#: bounds of the probe: per host, and for one apply
MAX_REQUESTS = 4000
MAX_SECONDS = 240.0
PAUSE = 0.05  # between two requests of one host's probe
#: (mode, parallelism as the report shows it, parallelism, through the proxy)
MODES = (
    ("stop-first, all at once", '"100%"', "100%", False),
    ("stop-first, one at a time", "1", 1, False),
    ("start-first through the proxy, all at once", '"100%"', "100%", True),
    ("start-first through the proxy, one at a time", "1", 1, True),
)


def stack_doc(mode: Any, value: str, proxy: bool = False, state: str = "running") -> dict[str, Any]:
    """The bench stack: the demo's ``web`` service on the bench port, one replica a host.

    Without ``proxy`` the container publishes the port and rolls out stop-first;
    with it the host's HAProxy serves the port (the demo's ``proxy`` settings)
    and the rollout is start-first, its default there.
    """
    demo = yaml.safe_load((REPO / "stacks" / "demo.yml").read_text())
    web = {
        k: v for k, v in demo["services"]["web"].items() if k not in ("hosts", "networks", "proxy")
    }
    if proxy:
        web["proxy"] = {**demo["services"]["web"]["proxy"], "listen": PORT}
        order = "start-first"
    else:
        web["ports"] = [f"{PORT}:8080"]
        order = "stop-first"
    web["environment"] = {**web.get("environment", {}), "BENCH_VALUE": value}
    web["labels"] = {**web.get("labels", {}), LABEL_BENCH: "fleetform-rollout"}
    deploy = web.setdefault("deploy", {})
    deploy["replicas"] = 1  # a published port holds one replica a host: the same in each mode
    deploy["update_config"] = {"parallelism": mode, "order": order}
    web["state"] = state
    return {"version": 1, "name": STACK, "services": {"web": web}}


# --- the probe -----------------------------------------------------------------------
Sample = tuple[float, bool]  # (time the request was sent, answered 200)


def failing_windows(samples: list[Sample], end: float) -> list[tuple[float, float]]:
    """Intervals in which a host failed: from its first failed request to its next
    answered one (or ``end``)."""
    windows = []
    start: float | None = None
    for at, ok in samples:
        if not ok and start is None:
            start = at
        elif ok and start is not None:
            windows.append((start, at))
            start = None
    if start is not None:
        windows.append((start, end))
    return windows


def longest_union(per_host: list[list[tuple[float, float]]]) -> float:
    """Longest interval in which at least one host was failing."""
    merged: list[list[float]] = []
    for a, b in sorted(w for windows in per_host for w in windows):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return max((b - a for a, b in merged), default=0.0)


def longest_intersection(per_host: list[list[tuple[float, float]]]) -> float:
    """Longest interval in which every host was failing at once."""
    if not per_host:
        return 0.0
    common = per_host[0]
    for windows in per_host[1:]:
        common = [
            (max(a, c), min(b, d)) for a, b in common for c, d in windows if max(a, c) < min(b, d)
        ]
    return max((b - a for a, b in common), default=0.0)


class Probe:
    """One thread per host sending requests until stopped (or its bounds are reached)."""

    def __init__(self, hosts: list[Host]) -> None:
        self.hosts = hosts
        self.samples: dict[str, list[Sample]] = {h.name: [] for h in hosts}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(h,)) for h in hosts]

    def _run(self, host: Host) -> None:
        url = f"http://{host.address}:{PORT}/healthz"
        deadline = time.monotonic() + MAX_SECONDS
        samples = self.samples[host.name]
        while not self._stop.is_set() and len(samples) < MAX_REQUESTS:
            at = time.monotonic()
            if at > deadline:
                break
            try:
                with urllib.request.urlopen(url, timeout=1) as reply:
                    ok = reply.status == 200
            except OSError:
                ok = False
            samples.append((at, ok))
            time.sleep(PAUSE)

    def __enter__(self) -> Probe:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    def measure(self, run: RolloutRun) -> None:
        end = time.monotonic()
        windows = [failing_windows(s, end) for s in self.samples.values()]
        run.requests = sum(len(s) for s in self.samples.values())
        run.failed = sum(1 for s in self.samples.values() for _, ok in s if not ok)
        run.some_host_down = longest_union(windows)
        run.all_hosts_down = longest_intersection(windows)


# --- the scenario ----------------------------------------------------------------------
def _apply(inventory: Path, stack: Path) -> tuple[float, dict[str, Any]]:
    t0 = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fleetform.cli",
            "apply",
            "-i",
            str(inventory),
            str(stack),
            "--yes",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=MAX_SECONDS,
        check=False,
    )
    seconds = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"apply exited {proc.returncode}: {proc.stderr[-800:]}")
    return seconds, json.loads(proc.stdout)


def run_scenario(hosts: list[Host], work: Path = WORK / "rollout") -> list[RolloutRun]:
    """Every mode, one after the other, on ``hosts`` (the stack is removed afterwards)."""
    from bench.tools import pyinfra_inventory

    inventory = pyinfra_inventory(hosts, work / "inventory.py")
    stack = work / f"{STACK}.yml"
    runs = []
    proxied: bool | None = None
    try:
        for number, (mode, label, parallelism, proxy) in enumerate(MODES, 1):
            run = RolloutRun(mode, label, len(hosts))
            runs.append(run)
            try:
                if proxy != proxied:
                    # untimed: the port changes hands (the container's, then the
                    # proxy's), so the service goes first and comes back served so
                    _set_up(inventory, stack, proxy, parallelism)
                    proxied = proxy
                stack.write_text(yaml.safe_dump(stack_doc(parallelism, f"v{number}", proxy)))
                with Probe(hosts) as probe:
                    time.sleep(1)  # every host answers before the change
                    run.seconds, doc = _apply(inventory, stack)
                    time.sleep(1)
                probe.measure(run)
                run.batches = [b["seconds"] for b in doc.get("rollout", {}).get("batches", [])]
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                run.error = str(exc)
    finally:
        try:
            # the stack's proxy backend goes from the hosts' haproxy.cfg too
            stack.write_text(yaml.safe_dump(stack_doc(1, "end", True, state="absent")))
            _apply(inventory, stack)
        except (RuntimeError, subprocess.TimeoutExpired, ValueError):
            pass  # cleanup below removes the containers in any case
        cleanup(hosts)
    return runs


def _set_up(inventory: Path, stack: Path, proxy: bool, parallelism: Any) -> None:
    for state in ("absent", "running"):
        stack.write_text(yaml.safe_dump(stack_doc(parallelism, "v0", proxy, state=state)))
        _apply(inventory, stack)


def cleanup(hosts: list[Host]) -> None:
    """Remove the stack's containers and networks (only those labelled with it)."""
    from bench.labhosts import ssh

    label = f"label=fleetform.stack={STACK}"
    for host in hosts:
        ssh(
            host,
            f"ids=$(docker ps -aq --filter {label}); "
            'if [ -n "$ids" ]; then docker rm -f $ids >/dev/null; fi; '
            f"nets=$(docker network ls -q --filter {label}); "
            'if [ -n "$nets" ]; then docker network rm $nets >/dev/null; fi',
        )


def main() -> int:
    from bench.labhosts import up
    from bench.report import rollout_table

    hosts = up(3)[:3]
    runs = run_scenario(hosts)
    print("\n".join(rollout_table(runs)))
    for r in runs:
        if r.error:
            print(f"{r.mode}: {r.error}", file=sys.stderr)
    return 1 if any(r.error for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
