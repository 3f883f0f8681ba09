"""End to end: ``fleetform engines`` on the shared lab (read-only: nothing is changed).

The versions it reports are compared with what each host's binaries and dpkg
say when asked directly (``docker exec lab-N ...``), and a custom advisory
file that covers the installed runc is reported on every host, with
``--fail-on`` turning the findings into exit 1.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleetform.lab.inventory import discover

from .onhost import remove_stack, sh

pytestmark = pytest.mark.e2e

Runner = Callable[..., subprocess.CompletedProcess[str]]

#: the command that prints each component's version, and how to cut it out, on the host
DIRECT = {
    "docker-cli": "docker --version | sed -n 's/^Docker version \\([^,]*\\),.*/\\1/p'",
    "dockerd": "dockerd --version | sed -n 's/^Docker version \\([^,]*\\),.*/\\1/p'",
    "containerd": "containerd --version | awk '{print $3}'",
    "containerd-shim-runc-v2": "containerd-shim-runc-v2 -v | awk '/Version:/ {print $2}'",
    "runc": "runc --version | awk 'NR == 1 {print $3}'",
}
PACKAGE_OF = {
    "docker-cli": "docker",
    "dockerd": "dockerd",
    "containerd": "containerd",
    "containerd-shim-runc-v2": "containerd-shim-runc-v2",
    "runc": "runc",
}


def _lab_hosts() -> list[str]:
    return sorted({name for members in discover(warn=False).values() for name, _ in members})


def _run(fleetform: Runner, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    proc = fleetform("engines", "-i", "inventory/lab.py", "--json", *args, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def report(fleetform: Runner) -> dict[str, Any]:
    proc, doc = _run(fleetform)
    assert proc.returncode == 0, proc.stderr
    return doc


def test_every_lab_host_is_reported(report: dict[str, Any]) -> None:
    assert sorted(h["host"] for h in report["hosts"]) == _lab_hosts()
    with_engine = [h for h in report["hosts"] if h["status"] == "ok"]
    assert with_engine, "no lab host has a running engine: an apply installs it first"
    for host in report["hosts"]:
        has_dockerd = sh(host["host"], "command -v dockerd || true") != ""
        assert (host["status"] != "no-engine") == has_dockerd


def test_reported_versions_equal_what_the_binaries_say(report: dict[str, Any]) -> None:
    for host in (h for h in report["hosts"] if h["status"] == "ok"):
        name = host["host"]
        for component, command in DIRECT.items():
            said = sh(name, f"PATH=$PATH:/usr/sbin:/sbin; {command}")
            assert host["components"][component]["version"] == said, (name, component)
        for component, binary in PACKAGE_OF.items():
            pkg = host["components"][component]["package"]
            owner = sh(name, f"dpkg-query -S $(PATH=$PATH:/usr/sbin command -v {binary})")
            assert pkg["name"] == owner.split(":")[0], (name, component)
            version = sh(name, f"dpkg-query -W -f='${{Version}}' {pkg['name']}")
            assert pkg["version"] == version, (name, component)
        assert host["kernel"] == sh(name, "uname -r")


def test_bookworm_runc_carries_the_leaky_vessels_fix_by_its_changelog(
    report: dict[str, Any],
) -> None:
    for host in (h for h in report["hosts"] if h["status"] == "ok"):
        runc_pkg = host["components"]["runc"]["package"]["version"]
        logged = sh(
            host["host"],
            "zcat /usr/share/doc/runc/changelog.Debian.gz | grep -c CVE-2024-21626 || true",
        )
        verdict = {a["id"]: a for a in host["assessments"]}["CVE-2024-21626"]
        # Debian bookworm's runc 1.1.5+ds1-1+deb12u1 names it; upstream fixed it in 1.1.12
        assert int(logged) > 0, (host["host"], runc_pkg)
        assert verdict["status"] == "fixed", (host["host"], runc_pkg)
        assert verdict["evidence"][0]["kind"] == "package-changelog"
        assert [e["says"] for e in verdict["evidence"]][-1] == "affected"  # the naive compare


def _custom_file(tmp_path: Path, report: dict[str, Any]) -> Path:
    """Two made-up advisories covering the installed runc: one by its upstream
    version, one by its Debian package version."""
    ok = [h for h in report["hosts"] if h["status"] == "ok"]
    runc = ok[0]["components"]["runc"]
    codename = ok[0]["os"]["codename"]
    doc = {
        "format_version": 1,
        "advisories": [
            {
                "id": "FFTEST-2026-0001",
                "component": "runc",
                "severity": "medium",
                "summary": "test advisory fixed in a later upstream release of every branch",
                "fixed": {"1.1": "1.1.99", "1.2": "1.2.99", "1.3": "1.3.99"},
                "sources": ["made up for the end-to-end test"],
            },
            {
                "id": "FFTEST-2026-0002",
                "component": "runc",
                "severity": "low",
                "summary": "test advisory fixed in a later Debian package",
                "packages": {
                    "debian": {
                        codename: {"package": "runc", "version": f"{runc['package']['version']}+1"}
                    }
                },
                "sources": ["made up for the end-to-end test"],
            },
        ],
    }
    path = tmp_path / "advisories.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_custom_advisory_file_is_reported_on_every_host_and_fail_on_exits_1(
    fleetform: Runner, report: dict[str, Any], tmp_path: Path
) -> None:
    adv = _custom_file(tmp_path, report)
    proc, doc = _run(fleetform, "--advisories", str(adv))
    assert proc.returncode == 0, proc.stderr  # findings alone do not fail without --fail-on
    hosts = [h["host"] for h in doc["hosts"] if h["status"] == "ok"]
    found = {(f["host"], f["id"]): f for f in doc["findings"]}
    for host in hosts:
        assert found[(host, "FFTEST-2026-0001")]["evidence"][0]["kind"] == "upstream-version"
        assert found[(host, "FFTEST-2026-0002")]["evidence"][0]["kind"] == "package-version"
    assert len(found) == 2 * len(hosts)

    proc, doc = _run(fleetform, "--advisories", str(adv), "--fail-on", "medium")
    assert proc.returncode == 1
    assert doc["failing_findings"] == len(hosts)
    proc, _ = _run(fleetform, "--advisories", str(adv), "--fail-on", "critical")
    assert proc.returncode == 0

    human = fleetform(
        "engines", "-i", "inventory/lab.py", "--advisories", str(adv), "--fail-on", "low"
    )
    assert human.returncode == 1
    assert f"{2 * len(hosts)} finding(s) at or above low (--fail-on)" in human.stderr
    for host in hosts:
        assert f"{host} FFTEST-2026-0001 medium runc" in human.stdout


# --- engine.policy in stacks ---------------------------------------------------

POLICY_STACK = "engines-policy-e2e"


def _policy_stack(tmp_path: Path, mode: str, services: bool = True) -> Path:
    doc: dict[str, Any] = {
        "version": 1,
        "name": POLICY_STACK,
        "engine": {"policy": {"advisories": mode, "min_severity": "high"}},
    }
    if services:
        doc["services"] = {
            "app": {"image": "registry.lab:5000/fleetform/busybox:1", "command": ["sleep", "600"]}
        }
    path = tmp_path / f"{mode}.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def policy_cleanup() -> Any:
    yield
    for host in _lab_hosts():
        remove_stack(host, POLICY_STACK)


def _runc_affected(report: dict[str, Any]) -> list[str]:
    """Hosts whose runc the shipped file finds affected by a high advisory."""
    return sorted(
        f["host"]
        for f in report["findings"]
        if f["component"] == "runc" and f["severity"] == "high"
    )


def test_policy_warn_lists_findings_in_plan_and_fail_blocks_apply_and_verify(
    fleetform: Runner, report: dict[str, Any], tmp_path: Path, policy_cleanup: None
) -> None:
    affected = sorted(set(_runc_affected(report)))
    assert affected, "the lab's runc should be affected by the 2025 runc advisories"
    host = affected[0]

    warn = _policy_stack(tmp_path, "warn")
    plan = fleetform("plan", "-i", "inventory/lab.py", str(warn), "--limit", host, "--json")
    assert plan.returncode == 0, plan.stderr
    (hp,) = json.loads(plan.stdout)["hosts"]
    assert any(a.startswith("CVE-2025-31133 (high) affects runc") for a in hp["advisories"])
    assert hp["errors"] == []

    fail = _policy_stack(tmp_path, "fail")
    plan = fleetform("plan", "-i", "inventory/lab.py", str(fail), "--limit", host)
    assert plan.returncode == 1
    assert "! error: engine.policy (advisories: fail, min_severity: high)" in plan.stdout
    assert "advisory: CVE-2025-31133 (high) affects runc" in plan.stdout

    apply = fleetform("apply", "-i", "inventory/lab.py", str(fail), "--limit", host, "--yes")
    assert apply.returncode == 1
    assert "engine.policy (advisories: fail" in apply.stdout + apply.stderr
    label = f"label=fleetform.stack={POLICY_STACK}"
    assert sh(host, f"docker ps -aq --filter {label}") == ""
    assert sh(host, f"docker network ls -q --filter {label}") == ""

    engine_only = _policy_stack(tmp_path, "fail", services=False)
    verify = fleetform(
        "verify", "-i", "inventory/lab.py", str(engine_only), "--limit", host, "--json"
    )
    assert verify.returncode == 1
    checks = json.loads(verify.stdout)["hosts"][0]["checks"]
    (adv,) = [c for c in checks if c["resource"] == "engine" and c["check"] == "advisories"]
    assert adv["ok"] is False and "CVE-2025-31133 (runc)" in adv["actual"]
