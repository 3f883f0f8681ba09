"""The fleet report and its rendering, from recorded hosts (no host needed)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from fleetform.cli import main
from fleetform.commands.engines import host_tree
from fleetform.engine.advisories import load_advisories
from fleetform.engine.layers import COMPONENTS, parse_layers, unreachable
from fleetform.engine.report import EngineReport

DATA = Path(__file__).parent / "data" / "layers"


def _report() -> EngineReport:
    hosts = [
        parse_layers("lab-1", (DATA / "lab-docker-io.txt").read_text()),
        parse_layers("ce-1", (DATA / "docker-ce-documented.txt").read_text()),
        parse_layers("bare", (DATA / "lab-no-engine.txt").read_text()),
        unreachable("gone", "cannot connect"),
    ]
    return EngineReport.build(hosts, load_advisories())


def test_sprawl_groups_hosts_by_version_for_each_component() -> None:
    sprawl = _report().sprawl()
    assert list(sprawl) == list(COMPONENTS)
    assert sprawl["runc"] == {"1.1.14": ["ce-1"], "1.1.5+ds1": ["lab-1"], "not installed": ["bare"]}
    assert sprawl["dockerd"]["27.3.1"] == ["ce-1"]


def test_json_has_exactly_the_component_names_and_findings() -> None:
    doc = _report().as_json(fail_on="high")
    by_host = {h["host"]: h for h in doc["hosts"]}
    assert set(by_host["lab-1"]["components"]) == set(COMPONENTS)
    assert by_host["gone"]["status"] == "unreachable"
    assert by_host["bare"]["status"] == "no-engine"
    assert by_host["lab-1"]["components"]["runc"]["package"] == {
        "name": "runc",
        "version": "1.1.5+ds1-1+deb12u1",
        "source": "distribution",
    }
    verdicts = {(a["id"], a["status"]) for a in by_host["lab-1"]["assessments"]}
    assert ("CVE-2024-21626", "fixed") in verdicts
    assert ("CVE-2025-31133", "affected") in verdicts
    assert doc["failing_findings"] == len(doc["findings"]) == 6  # 3 runc CVEs x 2 hosts


def test_findings_at_least_respects_severity_order() -> None:
    report = _report()
    assert len(report.findings_at_least("high")) == 6
    assert report.findings_at_least("critical") == ()


def test_tree_draws_the_chain_from_cli_down_to_runc() -> None:
    report = _report()
    host = report.hosts[[h.host for h in report.hosts].index("lab-1")]
    buf = io.StringIO()
    Console(file=buf, width=300, color_system=None).print(host_tree(host, report.for_host("lab-1")))
    lines = buf.getvalue().splitlines()
    order = [next(i for i, line in enumerate(lines) if f" {c} " in line) for c in COMPONENTS]
    assert order == sorted(order)
    assert "fixed CVE-2024-21626 (high): runc changelog entry 1.1.5+ds1-1+deb12u1" in buf.getvalue()


def test_bad_advisory_file_exits_1_before_any_host_is_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "adv.yaml"
    bad.write_text("format_version: 1\nadvisories:\n- {id: X-1, component: kernel}\n")
    # the inventory names a host that does not exist: it is never contacted
    rc = main(["engines", "-i", "nowhere.invalid", "--advisories", str(bad)])
    err = capsys.readouterr().err
    assert rc == 1
    assert f"{bad}: advisories[0]" in err
    assert "'kernel' is not one of" in err
    assert "Traceback" not in err


def test_unknown_severity_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["engines", "-i", "nowhere.invalid", "--fail-on", "urgent"]) == 1
    err = capsys.readouterr().err
    assert "--fail-on: 'urgent' is not a severity (low, medium, high, critical)" in err


def test_tree_says_when_the_running_daemon_is_not_the_binary_on_disk() -> None:
    from dataclasses import replace

    host = parse_layers("lab-1", (DATA / "lab-docker-io.txt").read_text())
    upgraded = replace(host, running_versions={**host.running_versions, "runc": "1.1.4+ds1"})
    buf = io.StringIO()
    Console(file=buf, width=300, color_system=None).print(host_tree(upgraded, ()))
    assert "the daemon reports 1.1.4+ds1 (restart pending?)" in buf.getvalue()
    buf = io.StringIO()
    Console(file=buf, width=300, color_system=None).print(host_tree(host, ()))
    assert "restart pending" not in buf.getvalue()
