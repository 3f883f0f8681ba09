"""The bench's report and target verdicts, from made-up numbers (no lab needed)."""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ is a top-level package run as `python -m bench` from the repo root, not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import labhosts, report, targets, workload
from bench.results import FULL, Results, Series


def _results() -> Results:
    r = Results(plan=FULL, smoke=False, started="today", total_seconds=600)
    for n, ff, an in [(1, 1.0, 2.0), (10, 1.05, 5.0), (40, 1.3, 18.0), (50, 1.4, 22.0),
                      (100, 1.9, 45.0)]:  # fmt: skip
        r.noop.setdefault("fleetform", {})[n] = Series([ff] * 5, ssh=[(1, 4)] * 5)
        r.noop.setdefault("ansible", {})[n] = Series([an] * 5, ssh=[(1, n)] * 5)
        r.noop.setdefault("pyinfra", {})[n] = Series([ff / 2] * 5, ssh=[(1, n)] * 5)
    r.change["fleetform"] = Series([1.5] * 5, touched=[1] * 5, applied=[True] * 5)
    r.change["pyinfra"] = Series([0.9] * 5, touched=[0] * 5, applied=[False] * 5)
    for h, ff in [(1, 1.0), (3, 1.2), (6, 1.6)]:
        r.fanout.setdefault("fleetform", {})[h] = Series([ff] * 5)
    r.engine = {"fleetform": Series([30.0]), "apt": Series([20.0])}
    return r


def test_a_tool_gets_its_own_container_names_and_one_changed_value() -> None:
    specs = workload.containers("pyinfra", 3, changed=2, value="b")
    assert [s.name for s in specs] == ["bpy-c001", "bpy-c002", "bpy-c003"]
    assert [dict(s.env)["BENCH_VALUE"] for s in specs] == ["a", "b", "a"]
    assert all(dict(s.labels)[workload.LABEL_BENCH] == "pyinfra" for s in specs)


def test_touched_counts_replaced_restarted_created_and_removed_containers() -> None:
    state = labhosts.ContainerState
    before = {"a": state("1", "t1", ()), "b": state("2", "t2", ()), "c": state("3", "t3", ())}
    after = {"a": state("1", "t1", ()), "b": state("9", "t9", ()), "d": state("4", "t4", ())}
    assert labhosts.touched(before, after) == ["b", "c", "d"]


def test_snapshot_lines_parse_names_ids_start_times_and_env() -> None:
    text = '"/x" "id1" "2024-01-01T00:00:00Z" ["A=1","B=2"]\n"/y" "id2" "0001" null\n'
    states = labhosts.parse_snapshot(text)
    assert states["x"].env == ("A=1", "B=2")
    assert states["y"] == labhosts.ContainerState("id2", "0001", ())


def test_targets_say_met_or_missed_with_the_measured_numbers() -> None:
    verdicts = {v.target: v for v in targets.judge(_results())}
    vs_ansible = verdicts["No-op at 50 containers at least 20x faster than Ansible"]
    assert vs_ansible.met is False
    assert "15.7x" in vs_ansible.measured
    assert "1.10 s" in vs_ansible.why  # the budget: 22 s / 20
    trips = verdicts["A no-op costs at most 2 round trips per host for observation"]
    assert trips.met is False and "does not grow" in trips.why
    assert verdicts["A no-op with 40 containers takes at most 1.5x the time of 1"].met is True
    assert verdicts["3 hosts take at most 1.5x the time of 1 host"].met is True
    assert verdicts["A single change touches exactly one container"].met is True


def test_report_has_ratios_within_the_run_and_the_honest_pyinfra_note(tmp_path: Path) -> None:
    out, png = report.write(_results(), tmp_path / "b.md")
    text = out.read_text()
    assert "| 50 | 1.40 s | 22.00 s | 0.70 s | 15.7x | 0.5x |" in text
    assert "does not detect configuration drift" in text
    assert "**missed**" in text and "## Errors" not in text
    assert png.read_bytes().startswith(b"\x89PNG")
