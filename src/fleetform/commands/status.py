"""``fleetform status``: per host and stack, what runs there and from which commit.

For each host and stack: the current revision, its commit (and repository),
when and by whom it was applied, whether the last verify passed, and, when
the stack files are given, whether there is drift now (``fleetform plan``
on them: a non-empty plan for that stack).  The revisions and verify
results are read in one round trip per host; the drift plan observes the
hosts as ``plan`` does.

Exit codes: 0 every host read; 1 bad input, or a host not read.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.markup import escape

from fleetform.commands.common import (
    Output,
    json_of,
    load_stacks_or_report,
    ssh_targets_or_report,
)
from fleetform.revisions.history import commit_text
from fleetform.revisions.verified import stack_of

#: the ``format_version`` of ``status --json``
STATUS_FORMAT_VERSION = 1


def run_status(args: argparse.Namespace) -> int:
    out = Output(json_mode=args.json)
    files = [a for a in args.stacks if a.endswith((".yml", ".yaml")) or Path(a).is_file()]
    names = [a for a in args.stacks if a not in files]
    if files:
        stacks = load_stacks_or_report(files, out, args.env_file)
        if stacks is None:
            return 1
        names += [s.name for s in stacks]
    read = _read_hosts(args, out, sorted(set(names)))
    if read is None:
        return 1
    drift = _drift(args, out, files, sorted(set(names))) if files else None
    doc = _document(read, drift)
    if args.json:
        out.json(doc)
    else:
        _render(doc, out)
    return 0 if doc["ok"] else 1


def _read_hosts(
    args: argparse.Namespace, out: Output, names: list[str]
) -> dict[str, tuple[Any, dict[str, Any], str | None]] | None:
    """host -> (its revisions, its verify results, the error reading them)."""
    from fleetform.executor.session import Session
    from fleetform.observe.sections import sectioned_script, split_sections
    from fleetform.revisions.host import RevisionHostError, history_script, parse_history
    from fleetform.revisions.verified import parse_verified, read_verified_lines

    loaded = ssh_targets_or_report(args, out)
    if loaded is None:
        return None
    script = history_script(names) + sectioned_script([("verified", read_verified_lines(names))])
    session = Session(loaded)
    try:
        with out.status(f"Reading {len(loaded.hosts)} host(s)"):
            session.connect()
            results = session.run_everywhere(lambda host: script)
    finally:
        session.disconnect()
    read: dict[str, tuple[Any, dict[str, Any], str | None]] = {}
    for host in loaded.hosts:
        error = session.failures.get(host.name)
        result = results.get(host.name)
        revisions, verified = None, {}
        if error is None and result is not None:
            try:
                revisions = parse_history(result.stdout)
                part = split_sections(result.stdout).get("verified")
                verified = parse_verified(part.text) if part is not None else {}
            except RevisionHostError as exc:
                error = str(exc)
        elif error is None:
            error = "not read"
        read[host.name] = (revisions, verified, error)
    return read


def _drift(
    args: argparse.Namespace, out: Output, files: list[str], names: list[str]
) -> dict[str, dict[str, list[str]]] | None:
    """host -> stack -> the plan's actions for it now (empty: no drift); None: no plan."""
    from fleetform.commands.converge import run_plan

    ns = argparse.Namespace(**vars(args))
    ns.stacks, ns.json, ns.detailed_exitcode = files, True, True
    code, plan = json_of(run_plan, ns)
    if plan is None or code == 1:
        out.note("drift unknown: the plan failed (see `fleetform plan`)")
        return None
    drift: dict[str, dict[str, list[str]]] = {}
    for host in plan["hosts"]:
        per = drift.setdefault(host["host"], {n: [] for n in names})
        for action in host.get("actions", []):
            stack = stack_of(action["resource"], names)
            if stack is not None:
                per[stack].append(f"{action['kind']} {action['resource']}: {action['reason']}")
    return drift


def _document(
    read: dict[str, tuple[Any, dict[str, Any], str | None]],
    drift: dict[str, dict[str, list[str]]] | None,
) -> dict[str, Any]:
    hosts = []
    for host, (revisions, verified, error) in read.items():
        current = {}
        if revisions is not None:
            for doc in revisions.documents:
                if revisions.current.get(doc.get("stack")) == doc.get("revision"):
                    current[doc["stack"]] = doc
        host_drift = (drift or {}).get(host, {})
        # A stack shows where it was applied, verified, or has something to change now.
        stacks = sorted(set(current) | set(verified) | {s for s, a in host_drift.items() if a})
        rows = []
        for stack in stacks:
            rev = current.get(stack) or {}
            git = rev.get("git") or {}
            check = verified.get(stack)
            actions = host_drift.get(stack)
            rows.append(
                {
                    "stack": stack,
                    "revision": rev.get("revision"),
                    "commit": git.get("commit"),
                    "repo": git.get("remote"),
                    "dirty": git.get("dirty"),
                    "applied_at": rev.get("finished_at"),
                    "applied_by": rev.get("actor"),
                    "verify": check,
                    "drift": None if drift is None else bool(actions),
                    "drift_actions": actions or [],
                }
            )
        hosts.append({"host": host, "ok": error is None, "error": error, "stacks": rows})
    return {
        "format_version": STATUS_FORMAT_VERSION,
        "ok": all(h["ok"] for h in hosts),
        "hosts": hosts,
    }


_COLUMNS = ("stack", "revision", "commit", "applied (UTC)", "by", "verify", "drift")


def _cells(row: dict[str, Any]) -> list[str]:
    check = row["verify"]
    verify = "-" if check is None else "passed" if check.get("ok") else "failed"
    if check is not None and check.get("commit") and check["commit"] != row["commit"]:
        verify += f" ({str(check['commit'])[:12]})"  # verified another commit than is applied
    drift = "unknown" if row["drift"] is None else "yes" if row["drift"] else "no"
    return [
        row["stack"],
        str(row["revision"] or "-"),
        commit_text({"commit": row["commit"], "dirty": row["dirty"]}),
        str(row["applied_at"] or "-"),
        str(row["applied_by"] or "-"),
        verify,
        drift,
    ]


def _render(doc: dict[str, Any], out: Output) -> None:
    """One line per stack under each host, columns aligned, nothing cut short
    (a table would shorten commits to fit an 80-column CI log)."""
    rows = {h["host"]: [_cells(r) for r in h["stacks"]] for h in doc["hosts"]}
    every = [r for host_rows in rows.values() for r in host_rows] + [list(_COLUMNS)]
    widths = [max(len(r[i]) for r in every) for i in range(len(_COLUMNS))]

    def aligned(cells: list[str]) -> str:
        return "  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out.out.print(escape(aligned(list(_COLUMNS))), style="bold")
    for host in doc["hosts"]:
        out.out.print(escape(host["host"]), style="bold")
        for row, cells in zip(host["stacks"], rows[host["host"]], strict=True):
            out.out.print(escape(aligned(cells)))
            for line in row["drift_actions"]:
                out.out.print(f"    [yellow]drift:[/] {escape(line)}")
        if host["error"]:
            out.out.print(f"  [red]error:[/] {escape(host['error'])}")
        elif not host["stacks"]:
            out.out.print("  no stacks recorded")
