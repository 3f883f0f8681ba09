"""The run report, the Prometheus textfile and the saved state."""

from __future__ import annotations

import json
from pathlib import Path

from fleetform.gitops.report import prometheus_text, write_prometheus, write_report
from fleetform.gitops.state import STATE_FILE, State, load_state, save_state


def test_each_run_has_its_report_and_the_last_is_kept_apart(tmp_path: Path) -> None:
    doc = {"format_version": 1, "started_at_epoch": 0.0, "commit": "ab" * 20, "result": "in_sync"}
    path = write_report(tmp_path, doc)
    assert path.name == "reconcile-19700101T000000Z-abababababab.json"
    assert json.loads(path.read_text()) == doc
    assert json.loads((tmp_path / "last-reconcile.json").read_text()) == doc
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last-reconcile.json", path.name]


def test_the_textfile_has_one_result_set_and_the_counters(tmp_path: Path) -> None:
    state = State(last_success=12.5, failures_total=3, drift_total=2, runs_total=9)
    write_prometheus(tmp_path, prometheus_text("rolled_back", 3, 20.0, state))
    text = (tmp_path / "fleetform.prom").read_text()
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    assert samples['fleetform_reconcile_last_result{result="rolled_back"}'] == "1"
    assert sum(int(v) for k, v in samples.items() if "last_result{" in k) == 1
    assert samples["fleetform_reconcile_last_success_timestamp_seconds"] == "12.500"
    assert samples["fleetform_reconcile_last_run_timestamp_seconds"] == "20.000"
    assert samples["fleetform_reconcile_failures_total"] == "3"
    assert samples["fleetform_reconcile_drift_total"] == "2"
    assert samples["fleetform_reconcile_last_exit_code"] == "3"


def test_the_state_survives_a_run_and_a_damaged_file_starts_afresh(tmp_path: Path) -> None:
    save_state(tmp_path, State(commit="c1", outcome="converged", runs_total=4))
    assert load_state(tmp_path) == State(commit="c1", outcome="converged", runs_total=4)
    (tmp_path / STATE_FILE).write_text("{not json")
    assert load_state(tmp_path) == State()


def test_old_run_reports_are_pruned(tmp_path: Path) -> None:
    from fleetform.gitops import report

    for i in range(report.KEEP_REPORTS + 5):
        (tmp_path / f"reconcile-2026010{i // 100}T{i % 100:06d}Z-abc.json").write_text("{}")
    report.write_report(tmp_path, {"started_at_epoch": 1_900_000_000, "commit": "c0ffee"})
    runs = sorted(tmp_path.glob("reconcile-*.json"))
    assert len(runs) == report.KEEP_REPORTS
    assert runs[-1].name.endswith("-c0ffee.json")  # the newest stays
    assert (tmp_path / "last-reconcile.json").exists()
