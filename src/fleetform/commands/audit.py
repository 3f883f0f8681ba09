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
from rich.table import Table

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


def _table(out: Output, entries: list[dict[str, Any]]) -> None:
    if not entries:
        out.info("No audit entries.")
        return
    table = Table(title="Audit log", title_justify="left")
    for column in ("time", "host", "run", "actor", "stack", "action", "resource", "result"):
        table.add_column(column)
    for e in entries:
        result = e.get("result") or ""
        style = "green" if result == "ok" else "red"
        what = e.get("resource") or e.get("service") or ""
        table.add_row(
            *(
                escape(str(v or ""))
                for v in (
                    e.get("time"),
                    e.get("host"),
                    e.get("run_id"),
                    e.get("actor"),
                    e.get("stack"),
                    e.get("action"),
                    what,
                )
            ),
            f"[{style}]{escape(result)}[/]",
        )
    out.out.print(table)
    for e in entries:
        if e.get("error"):
            where = escape(f"{e['host']} {e['time']}:")
            out.out.print(f"[red]{where}[/] {escape(str(e['error']))}")
