"""The audit log: one JSON line per event, appended on each host.

Every host keeps ``/var/log/fleetform/audit.jsonl``.  A line says which run
(run id, actor) did what (``action``: a plan action kind such as ``recreate``,
``engine``, or ``lock``, ``unlock``, ``lock-broken``) to which stack, service
and containers, with the result, duration and error.  Lines hold names and
ids only, never values: a secret's value cannot reach the log because no
line is built from a container's environment.

Times are the control machine's clock (UTC), so the lines of one run sort
the same on every host; :func:`merge` orders the lines of many hosts by time.

Example::

    >>> from fleetform.runlog.run import Run
    >>> run = Run("abc123", "ops@ctl", "ctl", 42, 0.0)
    >>> e = entry(run, host="lab-1", action="lock", stack="web", at=0.0)
    >>> line(e)[:49]
    '{"action":"lock","actor":"ops@ctl","container_ids'
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from fleetform.runlog.run import Run

AUDIT_DIR = "/var/log/fleetform"
AUDIT_LOG = f"{AUDIT_DIR}/audit.jsonl"
#: lines read per host by ``fleetform audit`` (the newest ones)
READ_LIMIT = 20000
#: placeholder for the id of a container as it is after the run (see action_line_command)
_NEW_ID = "__fleetform_new_container_id__"

_q = shlex.quote


def iso(at: float) -> str:
    """Epoch seconds as UTC ISO 8601 with milliseconds (sorts as text)."""
    stamp = datetime.fromtimestamp(at, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def entry(
    run: Run,
    *,
    host: str,
    action: str,
    at: float,
    stack: str | None = None,
    service: str | None = None,
    resource: str | None = None,
    container_ids: Mapping[str, str | None] | None = None,
    from_revision: str | None = None,
    to_revision: str | None = None,
    result: str = "ok",
    duration: float | None = None,
    error: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One audit record; every key is always present (null when unknown)."""
    return {
        "time": iso(at),
        "host": host,
        "run_id": run.run_id,
        "actor": run.actor,
        "pid": run.pid,
        "stack": stack,
        "service": service,
        "action": action,
        "resource": resource,
        "container_ids": dict(container_ids) if container_ids is not None else None,
        "from_revision": from_revision,
        "to_revision": to_revision,
        "result": result,
        "duration": round(duration, 3) if duration is not None else None,
        "error": error,
        "details": dict(details) if details else None,
        # only a reconcile's lines carry the repository and commit they applied
        **({"source": dict(run.source)} if run.source else {}),
    }


def line(record: Mapping[str, Any]) -> str:
    """The record as one line: compact, ASCII only (so no newline can hide in it)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def append_command(text: str) -> str:
    """Append one line to the log.  One short ``printf`` is one ``write`` in
    append mode, so lines of concurrent runs never interleave."""
    return f"printf '%s\\n' {_q(text)} >> {AUDIT_LOG}"


def action_line_command(record: Mapping[str, Any], container: str | None) -> str:
    """Append ``record`` with ``container_ids.new`` set on the host to the id of
    container ``container`` as it is now (null when it does not exist)."""
    if container is None:
        return append_command(line(record))
    ids = dict(record.get("container_ids") or {})
    ids["new"] = _NEW_ID
    pre, post = line({**record, "container_ids": ids}).split(json.dumps(_NEW_ID), 1)
    return (
        f"id=$(docker container inspect --format '{{{{.Id}}}}' {_q(container)} 2>/dev/null); "
        'case "$id" in ""|*[!0-9a-f]*) id=null ;; *) id="\\"$id\\"" ;; esac; '
        f"printf '%s%s%s\\n' {_q(pre)} \"$id\" {_q(post)} >> {AUDIT_LOG}"
    )


def append_script(commands: Iterable[str]) -> str:
    """A host script appending lines (commands from this module); it fails if any does."""
    body = [f"mkdir -p {AUDIT_DIR} || exit 1", "rc=0"]
    body += [f"{c} || rc=1" for c in commands]
    return "\n".join([*body, "exit $rc"])


def read_command(limit: int = READ_LIMIT) -> str:
    """Print the host's newest ``limit`` audit lines (nothing when there is no log)."""
    return f"if [ -f {AUDIT_LOG} ]; then tail -n {int(limit)} {AUDIT_LOG}; fi"


def parse_lines(host: str, text: str) -> tuple[list[dict[str, Any]], int]:
    """Records read from ``host`` (each with ``host`` set), and how many lines were unreadable."""
    records, bad = [], 0
    for raw in text.splitlines():
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            bad += 1
            continue
        if not isinstance(record, dict) or not isinstance(record.get("time"), str):
            bad += 1
            continue
        records.append({**record, "host": host})
    return records, bad


def merge(
    by_host: Mapping[str, list[dict[str, Any]]], since: float | None = None
) -> list[dict[str, Any]]:
    """Every host's records in one list by time (then host, then order in its log).

    ``since``: epoch seconds; older records are left out.
    """
    cutoff = iso(since) if since is not None else None
    keyed = [
        (record["time"], host, i, record)
        for host, records in by_host.items()
        for i, record in enumerate(records)
        if cutoff is None or record["time"] >= cutoff
    ]
    return [record for *_, record in sorted(keyed, key=lambda k: k[:3])]
