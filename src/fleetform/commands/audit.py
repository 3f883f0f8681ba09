"""``fleetform audit``: every host's audit log, merged by time.

One round trip per host (in parallel) reads its newest lines
(``fleetform.runlog.audit``); ``--since`` keeps the recent ones.  Exit 1
when a host could not be read (the others are still shown).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from rich.markup import escape

from fleetform.commands.common import Output, ssh_targets_or_report
from fleetform.runlog.audit import merge, parse_lines
from fleetform.runlog.run import parse_duration


def run_audit(args: argparse.Namespace) -> int:
    out = Output(json_mode=args.json)
    since = None
    if args.since:
        try:
            since = time.time() - parse_duration(args.since)
        except ValueError as exc:
            out.error(f"--since: {exc}")
            return 1
    loaded = ssh_targets_or_report(args, out)
    if loaded is None:
        return 1
    from fleetform.executor.auditing import read_logs
    from fleetform.executor.session import Session

    session = Session(loaded)
    try:
        with out.status(f"Reading the audit logs of {len(loaded.hosts)} host(s)"):
            session.connect()
            results = read_logs(session)
    finally:
        session.disconnect()
    errors = dict(session.failures)
    by_host: dict[str, list[dict[str, Any]]] = {}
    for name, result in results.items():
        if not result.ok:
            errors[name] = f"cannot read the audit log: {result.stderr.strip()[-300:]}"
            continue
        by_host[name], bad = parse_lines(name, result.stdout)
        if bad:
            out.note(f"{name}: {bad} unreadable line(s) in the audit log skipped")
    entries = merge(by_host, since)
    if args.json:
        out.json({"format_version": 1, "entries": entries, "errors": errors})
    else:
        _table(out, entries)
        for name, error in sorted(errors.items()):
            out.error(f"{name}: {error}")
    return 1 if errors else 0


_COLUMNS = (
    "time (UTC)",
    "host",
    "run",
    "actor",
    "stack",
    "action",
    "resource",
    "revision",
    "result",
)


def _cells(e: dict[str, Any]) -> list[str]:
    moved = ""
    if e.get("from_revision") or e.get("to_revision"):
        moved = f"{e.get('from_revision') or '-'} -> {e.get('to_revision') or '-'}"
    return [str(e.get(k) or "") for k in ("time", "host", "run_id", "actor", "stack", "action")] + [
        str(e.get("resource") or e.get("service") or ""),
        moved,
        str(e.get("result") or ""),
    ]


def _table(out: Output, entries: list[dict[str, Any]]) -> None:
    """One aligned line per entry; nothing is ever cut short (a table would shorten
    run ids and names to fit an 80-column CI log)."""
    if not entries:
        out.info("No audit entries.")
        return
    rows = [_cells(e) for e in entries]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(_COLUMNS)]
    out.out.print(
        "  ".join(c.ljust(w) for c, w in zip(_COLUMNS, widths, strict=True)).rstrip(), style="bold"
    )
    for row in rows:
        style = "green" if row[-1] == "ok" else "red"
        head = "  ".join(c.ljust(w) for c, w in zip(row[:-1], widths[:-1], strict=True))
        out.out.print(f"{escape(head)}  [{style}]{escape(row[-1])}[/]")
    for e in entries:
        if e.get("error"):
            where = escape(f"{e['host']} {e['time']}:")
            out.out.print(f"[red]{where}[/] {escape(str(e['error']))}")
