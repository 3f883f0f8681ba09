"""The issue's targets, judged from one run's numbers, with the reason when one is missed.

Each ``why`` is built from the measured numbers; the general explanation
after it names where the time or the round trips go.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.results import Results, Series


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    met: bool | None  # None: not measured in this run
    why: str = ""


def _med(series: Series | None) -> float:
    if series is None or series.error or not series.seconds:
        return math.nan
    return series.median


def _not_measured(target: str, what: str) -> Verdict:
    return Verdict(target, f"not measured ({what})", None)


def noop_vs_ansible(r: Results, n: int = 50) -> Verdict:
    target = f"No-op at {n} containers at least 20x faster than Ansible"
    ff = _med(r.noop.get("fleetform", {}).get(n))
    an = _med(r.noop.get("ansible", {}).get(n))
    if math.isnan(ff) or math.isnan(an):
        return _not_measured(target, f"no no-op of {n} containers by both tools")
    ratio = an / ff
    measured = f"{ratio:.1f}x (fleetform {ff:.2f} s, Ansible {an:.2f} s)"
    if ratio >= 20:
        return Verdict(target, measured, True)
    budget = an / 20
    small = min(r.plan.noop_counts)
    one = _med(r.noop.get("fleetform", {}).get(small))
    trips = r.noop.get("fleetform", {}).get(n)
    commands = f"{trips.median_sessions:g}" if trips and trips.ssh else "a few"
    why = (
        f"To be 20x faster fleetform would need {budget:.2f} s; it took {ff:.2f} s. "
        f"Its no-op of {small} container(s) already took {one:.2f} s, so the fixed cost of "
        "a run misses the budget, not the per-container cost: starting Python with "
        f"pyinfra, one SSH connection and {commands} command(s) on the host (counted by "
        "sshd). Ansible's cost is per container instead (one module run on the host per "
        "container, one after another), so the ratio grows with the container count."
    )
    if one <= budget:
        why = (
            f"To be 20x faster fleetform would need {budget:.2f} s; it took {ff:.2f} s, "
            f"while its no-op of {small} container(s) took {one:.2f} s: "
            "the time grows with the container count."
        )
    return Verdict(target, measured, False, why)


def round_trips(r: Results) -> Verdict:
    target = "A no-op costs at most 2 round trips per host for observation"
    by_n = {n: s for n, s in r.noop.get("fleetform", {}).items() if s.ssh and not s.error}
    if not by_n:
        return _not_measured(target, "no counted fleetform no-op")
    sessions = {n: s.median_sessions for n, s in sorted(by_n.items())}
    measured = ", ".join(f"{n} containers: {v:g}" for n, v in sessions.items())
    measured = f"SSH commands per no-op: {measured}"
    worst = max(sessions.values())
    if worst <= 2:
        return Verdict(target, measured, True)
    grows = max(sessions.values()) > min(sessions.values())
    why = (
        f"sshd started up to {worst:g} commands for a fleetform no-op; the bench counts every "
        "command of the run, so this includes more than observation. "
        + (
            "The count grows with the number of containers, so some step runs a command "
            "per container. "
            if grows
            else "The count does not grow with the number of containers: the extra commands "
            "are a fixed cost per host (checks beyond the one observation command). "
        )
    )
    return Verdict(target, measured, False, why)


def flat_in_containers(r: Results, small: int = 1, large: int = 40) -> Verdict:
    target = f"A no-op with {large} containers takes at most 1.5x the time of {small}"
    ff = r.noop.get("fleetform", {})
    a, b = _med(ff.get(small)), _med(ff.get(large))
    if math.isnan(a) or math.isnan(b):
        return _not_measured(target, f"fleetform no-ops of {small} and {large} containers")
    ratio = b / a
    measured = f"{ratio:.2f}x ({small}: {a:.2f} s, {large}: {b:.2f} s)"
    if ratio <= 1.5:
        return Verdict(target, measured, True)
    per = (b - a) / (large - small)
    why = (
        f"Each extra container costs fleetform {per * 1000:.0f} ms in a no-op. The SSH "
        "commands per host do not tell where (see the cost structure table): when they stay "
        "flat, the cost is on the control machine (loading and planning each container) or "
        "in the host's reply (inspecting each container)."
    )
    return Verdict(target, measured, False, why)


def flat_in_hosts(r: Results, one: int = 1, many: int = 3) -> Verdict:
    target = f"{many} hosts take at most 1.5x the time of {one} host"
    ff = r.fanout.get("fleetform", {})
    a, b = _med(ff.get(one)), _med(ff.get(many))
    if math.isnan(a) or math.isnan(b):
        return _not_measured(target, f"fleetform fan-out to {one} and {many} hosts")
    ratio = b / a
    measured = f"{ratio:.2f}x ({one}: {a:.2f} s, {many}: {b:.2f} s)"
    if ratio <= 1.5:
        return Verdict(target, measured, True)
    why = (
        f"Each extra host adds {(b - a) / (many - one):.2f} s. Hosts are handled in parallel "
        "(gevent), but the control machine's work per host (paramiko's key exchange and "
        "encryption, planning) shares one Python process on one core."
    )
    return Verdict(target, measured, False, why)


def single_change(r: Results) -> Verdict:
    target = "A single change touches exactly one container"
    s = r.change.get("fleetform")
    if s is None or s.error or not s.touched:
        return _not_measured(target, "no fleetform change run")
    measured = (
        f"touched {', '.join(map(str, s.touched))} per run; change applied in "
        f"{sum(s.applied)}/{len(s.applied)} runs"
    )
    if all(t == 1 for t in s.touched) and all(s.applied):
        return Verdict(target, measured, True)
    why = "fleetform recreated more or fewer containers than the one whose spec changed"
    if not all(s.applied):
        why = "the changed value did not reach the container"
    return Verdict(target, measured, False, why + ".")


def judge(r: Results) -> list[Verdict]:
    return [noop_vs_ansible(r), round_trips(r), flat_in_containers(r), flat_in_hosts(r),
            single_change(r)]  # fmt: skip
