"""``fleetform history``: each host's revisions, newest first (docs/revisions.md).

One round trip per host, all hosts in parallel.  Exit codes: 0 every host
read; 1 bad input, or a host that could not be reached or read.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from rich.markup import escape

from fleetform.commands.common import Output, load_stacks_or_report, ssh_targets_or_report
from fleetform.revisions.history import history_json, host_entry, row_cells

#: a stack name as the schema allows it
_STACK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_COLUMNS = ("host", "stack", "revision", "finished (UTC)", "actor", "commit", "result", "images")


def stack_names(
    args: list[str | list[str]], out: Output, env_file: str | None = None
) -> list[str] | None:
    """Stack names from the arguments: a name, or a stack file (its stack's name)."""
    names: list[str] = []
    for arg in args:
        if isinstance(arg, list) or arg.endswith((".yml", ".yaml")) or Path(arg).is_file():
            stacks = load_stacks_or_report([arg], out, env_file)
            if stacks is None:
                return None
            names += [s.name for s in stacks]
        elif _STACK_NAME.match(arg):
            names.append(arg)
        else:
            out.error(
                f"{arg!r} is neither a stack name (lower case letters, digits, _ and -) "
                "nor a stack file"
            )
            return None
    return sorted(set(names))


def read_history(args: argparse.Namespace, out: Output) -> dict[str, Any] | None:
    """The ``history --json`` document, or None after reporting bad input."""
    from fleetform.executor.session import Session
    from fleetform.revisions.host import RevisionHostError, history_script, parse_history

    stacks = stack_names(args.stacks, out, args.env_file)
    if stacks is None:
        return None
    loaded = ssh_targets_or_report(args, out)
    if loaded is None:
        return None
    session = Session(loaded)
    try:
        with out.status(f"Reading revisions on {len(loaded.hosts)} host(s)"):
            session.connect()
            results = session.run_everywhere(lambda host: history_script(stacks))
    finally:
        session.disconnect()
    entries = []
    for host in loaded.hosts:
        error = session.failures.get(host.name)
        read = None
        result = results.get(host.name)
        if error is None and result is not None:
            try:
                read = parse_history(result.stdout)
            except RevisionHostError as exc:
                error = str(exc) if result.ok else result.stderr.strip()[-500:] or str(exc)
        elif error is None:
            error = "not read"
        entries.append(host_entry(host.name, read, error, stacks))
    return history_json(entries)


def render(doc: dict[str, Any], out: Output) -> None:
    """One line per revision under each host, columns aligned; nothing is ever cut short.

    (A table would shorten ids and commits to fit an 80-column CI log.)
    """
    out.out.print("Revisions, newest first (* current):")
    out.out.print("  " + "  ".join(_COLUMNS[1:]), style="bold")
    for entry in doc["hosts"]:
        rows = [row_cells(entry["host"], rev)[1:] for rev in entry["revisions"]]
        widths = [max((len(r[i]) for r in rows), default=0) for i in range(len(_COLUMNS) - 1)]
        out.out.print(escape(entry["host"]), style="bold")
        for row in rows:
            out.out.print(
                escape(
                    "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                )
            )
        if entry["error"]:
            out.out.print(f"  [red]error:[/] {escape(entry['error'])}")
        elif not rows:
            out.out.print("  no revisions recorded")
        for problem in entry["problems"]:
            out.out.print(f"  [yellow]warning:[/] {escape(problem)}")


def run_history(args: argparse.Namespace) -> int:
    out = Output(json_mode=args.json)
    doc = read_history(args, out)
    if doc is None:
        return 1
    if args.json:
        out.json(doc)
    else:
        render(doc, out)
    return 0 if doc["ok"] else 1
