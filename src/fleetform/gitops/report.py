"""The report of a reconcile run: a versioned JSON document and a Prometheus textfile.

Both are written into ``--report-dir`` (docs/gitops.md describes them):

- ``reconcile-<UTC time>-<commit>.json``: this run's report, and
  ``last-reconcile.json``, a copy of the newest;
- ``verify-junit.xml``: the verify checks of the last run that verified;
- ``fleetform.prom``: for node_exporter's textfile collector.

Files are written to a temporary name and renamed, so a reader never sees
half a file.  Reports carry names, digests and commit ids, never a secret
value (plans and verify results mask them already).

Example::

    >>> "fleetform_reconcile_drift_total 2" in prometheus_text(
    ...     "converged", 0, 100.0, State(drift_total=2, last_success=100.0))
    True
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from fleetform.gitops.state import State

#: the ``format_version`` of the JSON report
REPORT_FORMAT_VERSION = 1
#: every result a run can end with (``result`` in the report)
RESULTS = ("in_sync", "converged", "drift", "reverted", "invalid", "failed", "rolled_back")


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(path)


def write_report(folder: Path, doc: dict[str, Any]) -> Path:
    """Write the run's report (and ``last-reconcile.json``); its path."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(doc["started_at_epoch"]))
    commit = (doc.get("commit") or "none")[:12]
    path = folder / f"reconcile-{stamp}-{commit}.json"
    data = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
    _write(path, data)
    _write(folder / "last-reconcile.json", data)
    _prune(folder)
    return path


#: run reports kept per folder: an agent running every 5 minutes writes 288 a day
KEEP_REPORTS = 100


def _prune(folder: Path) -> None:
    """Remove all but the newest KEEP_REPORTS run reports (names sort by time)."""
    runs = sorted(folder.glob("reconcile-*.json"))
    for old in runs[:-KEEP_REPORTS]:
        old.unlink(missing_ok=True)


def write_junit(folder: Path, xml: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "verify-junit.xml", xml)


def prometheus_text(result: str, exit_code: int, now: float, state: State) -> str:
    """The textfile: last run, last success, the result, drift and failure counts."""
    lines = [
        "# HELP fleetform_reconcile_last_run_timestamp_seconds When the last run ended.",
        "# TYPE fleetform_reconcile_last_run_timestamp_seconds gauge",
        f"fleetform_reconcile_last_run_timestamp_seconds {now:.3f}",
        "# HELP fleetform_reconcile_last_success_timestamp_seconds When a run last ended "
        "with the fleet on its commit (0: never).",
        "# TYPE fleetform_reconcile_last_success_timestamp_seconds gauge",
        f"fleetform_reconcile_last_success_timestamp_seconds {state.last_success or 0:.3f}",
        "# HELP fleetform_reconcile_last_result The last run's result (1 for that result).",
        "# TYPE fleetform_reconcile_last_result gauge",
        *(f'fleetform_reconcile_last_result{{result="{r}"}} {int(r == result)}' for r in RESULTS),
        "# HELP fleetform_reconcile_last_exit_code The last run's exit code.",
        "# TYPE fleetform_reconcile_last_exit_code gauge",
        f"fleetform_reconcile_last_exit_code {exit_code}",
        "# HELP fleetform_reconcile_runs_total Runs since the cache directory was made.",
        "# TYPE fleetform_reconcile_runs_total counter",
        f"fleetform_reconcile_runs_total {state.runs_total}",
        "# HELP fleetform_reconcile_drift_total Runs that found drift.",
        "# TYPE fleetform_reconcile_drift_total counter",
        f"fleetform_reconcile_drift_total {state.drift_total}",
        "# HELP fleetform_reconcile_failures_total Runs that failed, rolled back or met "
        "an invalid commit.",
        "# TYPE fleetform_reconcile_failures_total counter",
        f"fleetform_reconcile_failures_total {state.failures_total}",
    ]
    return "\n".join(lines) + "\n"


def write_prometheus(folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "fleetform.prom", text.encode())
