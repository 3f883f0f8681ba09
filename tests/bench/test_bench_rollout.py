"""The rollout scenario's probe arithmetic and report rows, from made-up samples."""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ is a top-level package run as `python -m bench` from the repo root, not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import yaml

from bench import report
from bench.results import FULL, Results, RolloutRun
from bench.rollout import failing_windows, longest_intersection, longest_union, stack_doc


def test_a_failing_window_runs_from_the_first_failure_to_the_next_answer() -> None:
    samples = [(0.0, True), (1.0, False), (1.5, False), (2.0, True), (3.0, False)]
    assert failing_windows(samples, end=4.0) == [(1.0, 2.0), (3.0, 4.0)]
    assert failing_windows([(0.0, True), (1.0, True)], end=2.0) == []


def test_one_host_down_at_a_time_never_leaves_every_host_down() -> None:
    one_at_a_time = [[(1.0, 2.0)], [(5.0, 6.5)], [(9.0, 9.5)]]
    assert longest_union(one_at_a_time) == 1.5
    assert longest_intersection(one_at_a_time) == 0.0
    all_at_once = [[(1.0, 2.0)], [(1.2, 2.4)], [(0.9, 1.8)]]
    assert longest_union(all_at_once) == 1.5  # 0.9 .. 2.4
    assert abs(longest_intersection(all_at_once) - 0.6) < 1e-9  # 1.2 .. 1.8


def test_the_bench_stack_is_the_demo_web_service_on_a_bench_port_with_a_mode() -> None:
    doc = stack_doc("100%", "v1")
    web = doc["services"]["web"]
    assert web["image"] == "registry.lab:5000/fleetform/demo:1"
    assert web["ports"] == ["18190:8080"] and "hosts" not in web and "proxy" not in web
    assert web["environment"]["BENCH_VALUE"] == "v1"
    assert web["deploy"]["update_config"] == {"parallelism": "100%", "order": "stop-first"}
    assert web["deploy"]["replicas"] == 1
    assert web["labels"]["bench.tool"] == "fleetform-rollout"


def test_the_proxied_bench_stack_serves_the_same_port_through_the_proxy(tmp_path: Path) -> None:
    doc = stack_doc(1, "v3", proxy=True)
    web = doc["services"]["web"]
    assert "ports" not in web
    assert web["proxy"]["listen"] == 18190 and web["proxy"]["target_port"] == 8080
    assert web["deploy"]["update_config"] == {"parallelism": 1, "order": "start-first"}
    assert web["deploy"]["replicas"] == 1
    # both stacks pass fleetform's own rules
    from fleetform.stackfile import load_stacks

    for name, d in (("a", stack_doc(1, "v1")), ("b", doc)):
        path = tmp_path / f"{name}.yml"
        path.write_text(yaml.safe_dump(d))
        load_stacks([str(path)])


def test_the_report_puts_both_modes_side_by_side() -> None:
    r = Results(plan=FULL, smoke=False, started="today", total_seconds=600)
    r.rollout = [
        RolloutRun("all at once", '"100%"', 3, 20.9, [18.9], 1245, 30, 1.7, 1.4),
        RolloutRun("one at a time", "1", 3, 56.1, [18.0, 18.1, 17.9], 3250, 16, 1.3, 0.0),
        RolloutRun("broken", "1", 3, error="apply exited 1: boom"),
    ]
    text = report.render(r, None)
    assert "## Rollout: an environment change on 3 host(s)" in text
    assert "| failed requests | 30 | 16 | 0 |" in text
    assert "| longest window with no host serving | 1.4 s | 0.0 s | 0.0 s |" in text
    assert "| batches: seconds each | 1: 18.9 | 3: 18.0, 18.1, 17.9 | 0:  |" in text
    assert "- rollout, broken: apply exited 1: boom" in text
