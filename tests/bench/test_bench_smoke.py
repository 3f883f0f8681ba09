"""The bench harness still works end to end: a smoke run against the bench lab.

Not a timed test: it runs ``python -m bench --smoke`` (2 containers, 1 host,
1 repetition, every tool's adapter, one engine install each way) and checks
that the report holds every row.  It writes to a temp dir, never to
docs/benchmarks.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e

Smoke = tuple[subprocess.CompletedProcess[str], Path]


@pytest.fixture(scope="module")
def smoke_report(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("bench") / "benchmarks.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    return proc, out


def test_smoke_run_succeeds_and_writes_the_report_and_plot(smoke_report: Smoke) -> None:
    proc, out = smoke_report
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out.exists()
    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG")


def test_smoke_report_has_a_measured_row_for_every_scenario_and_tool(smoke_report: Smoke) -> None:
    _, out = smoke_report
    text = out.read_text()
    for heading in (
        "## Machine and versions",
        "## Targets",
        "## No-op converge, one host",
        "## One changed field among 2 containers",
        "## Fan-out: no-op with 2 containers per host",
        "## Cost structure: SSH per host for a no-op",
        "## Engine install on a fresh host",
    ):
        assert heading in text
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    for n in ("1", "2"):  # no-op sizes; every tool measured, nothing failed
        assert "failed" not in rows[n] and "–" not in rows[n].split("|")[2]
    for tool in ("fleetform", "Ansible docker_container", "pyinfra docker.container"):
        assert tool in rows and " s |" in rows[tool]
    assert " s |" in rows["fleetform apply, engine-only stack"]
    assert "## Errors" not in text
    for version in ("ansible-core", "community.docker", "pyinfra", "Docker engine (lab hosts)"):
        assert version in rows
