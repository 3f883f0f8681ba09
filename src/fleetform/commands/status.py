"""``fleetform status``: per host and stack, what runs there and from which commit.

For each host and stack: the current revision, its commit (and repository),
when and by whom it was applied, whether the last verify passed, and, when
the stack files are given, whether there is drift now (``fleetform plan``
on them: a non-empty plan for that stack).  One round trip per host: the
revisions and verify results are read by the same host script as the
observation the drift plan is made from (``extra`` parts).

Exit codes: 0 every host read; 1 bad input, or a host not read.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from fleetform.commands.common import Output, ssh_targets_or_report
from fleetform.revisions.history import commit_text
from fleetform.revisions.verified import stack_of

if TYPE_CHECKING:
    from fleetform.observe.sections import Section

#: the ``format_version`` of ``status --json``
STATUS_FORMAT_VERSION = 1
#: the host script's parts this command adds: every revision document, the verify results
HISTORY_PART = "history"
VERIFIED_PART = "verified"

Read = dict[str, tuple[Any, dict[str, Any], str | None]]


def run_status(args: argparse.Namespace) -> int:
    out = Output(json_mode=args.json)
    files = [a for a in args.stacks if a.endswith((".yml", ".yaml")) or Path(a).is_file()]
    names = [a for a in args.stacks if a not in files]
    found = (
        _read_and_plan(args, out, files, names)
        if files
        else _read_hosts(args, out, sorted(set(names)))
    )
    if found is None:
        return 1
    doc = _document(*found)
    if args.json:
        out.json(doc)
    else:
        _render(doc, out)
    return 0 if doc["ok"] else 1


def _parts(names: list[str]) -> list[tuple[str, str]]:
    from fleetform.revisions.host import history_lines
    from fleetform.revisions.verified import read_verified_lines

    return [(HISTORY_PART, history_lines(names)), (VERIFIED_PART, read_verified_lines(names))]


def _parse(parts: dict[str, Section]) -> tuple[Any, dict[str, Any], str | None]:
    """(the host's revisions, its verify results, the error reading them)."""
    from fleetform.revisions.host import RevisionHostError, parse_history_part
    from fleetform.revisions.verified import parse_verified

    try:
        revisions = parse_history_part(parts.get(HISTORY_PART))
    except RevisionHostError as exc:
        return None, {}, str(exc)
    part = parts.get(VERIFIED_PART)
    return revisions, parse_verified(part.text) if part is not None else {}, None


def _read_hosts(
    args: argparse.Namespace, out: Output, names: list[str]
) -> tuple[Read, None] | None:
    """Stack names only: the revisions and verify results, one round trip per host."""
    from fleetform.executor.session import Session
    from fleetform.observe.sections import sectioned_script, split_sections

    loaded = ssh_targets_or_report(args, out)
    if loaded is None:
        return None
    script = sectioned_script(_parts(names))
    session = Session(loaded)
    try:
        with out.status(f"Reading {len(loaded.hosts)} host(s)"):
            session.connect()
            results = session.run_everywhere(lambda host: script)
    finally:
        session.disconnect()
    read: Read = {}
    for host in loaded.hosts:
        error, result = session.failures.get(host.name), results.get(host.name)
        if error is None and result is not None:
            read[host.name] = _parse(split_sections(result.stdout))
        else:
            read[host.name] = (None, {}, error or "not read")
    return read, None  # no stack files: no plan, drift unknown


def _read_and_plan(
    args: argparse.Namespace, out: Output, files: list[str], names: list[str]
) -> tuple[Read, dict[str, dict[str, list[str]]]] | None:
    """Stack files: the plan's observation reads the revisions and verify results too.

    host -> (revisions, verify results, error), and host -> stack -> the plan's
    actions for it now (empty: no drift; a host not planned is left out).
    """
    from fleetform.commands.converge import observe_inputs, start_inputs

    ns = argparse.Namespace(**vars(args))
    ns.stacks = files
    # plan's notes (placement) on stderr: stdout is the status table or document
    side = Output(json_mode=True)
    inputs = start_inputs(ns, side)
    if inputs is None:
        return None
    every = sorted({*names, *(s.name for s in inputs.stacks)})
    session, obs = observe_inputs(inputs, side, extra=_parts(every))
    session.disconnect()
    failures = dict(session.failures)
    read: Read = {}
    for host in inputs.loaded.hosts:
        parts = obs.extra_parts.get(host.name)
        if parts is None:
            error = failures.get(host.name) or obs.errors.get(host.name) or "not read"
            read[host.name] = (None, {}, error)
        else:
            read[host.name] = _parse(parts)
    plan = obs.plan(failures).to_json()
    for problem in plan.get("errors") or []:
        if read.get(problem["host"], (None, {}, None))[2] is None:
            out.note(f"{problem['host']}: drift unknown: {problem['message']}")
    drift: dict[str, dict[str, list[str]]] = {}
    for host in plan["hosts"]:
        per = drift.setdefault(host["host"], {n: [] for n in every})
        for action in host.get("actions", []):
            stack = stack_of(action["resource"], every)
            if stack is not None:
                per[stack].append(f"{action['kind']} {action['resource']}: {action['reason']}")
    return read, drift


def _document(read: Read, drift: dict[str, dict[str, list[str]]] | None) -> dict[str, Any]:
    hosts = []
    for host, (revisions, verified, error) in read.items():
        current = {}
        if revisions is not None:
            for doc in revisions.documents:
                if revisions.current.get(doc.get("stack")) == doc.get("revision"):
                    current[doc["stack"]] = doc
        # no plan (stack names only), or none for this host (not observed): drift unknown
        host_drift = None if drift is None else drift.get(host)
        # A stack shows where it was applied, verified, or has something to change now.
        changing = {s for s, a in (host_drift or {}).items() if a}
        stacks = sorted(set(current) | set(verified) | changing)
        rows = []
        for stack in stacks:
            rev = current.get(stack) or {}
            git = rev.get("git") or {}
            check = verified.get(stack)
            actions = None if host_drift is None else host_drift.get(stack, [])
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
                    "drift": None if actions is None else bool(actions),
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
