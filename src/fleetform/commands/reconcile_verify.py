"""A reconcile's verify step: ``fleetform verify``'s checks, kept on each host per stack.

Each stack's result (``fleetform.revisions.verified``) is written next to
its revisions, in one round trip per host, so ``fleetform status`` can say
whether the last verify passed and for which commit.
"""

from __future__ import annotations

import argparse
from typing import Any

from fleetform.commands.common import Output, load_stacks_or_report, ssh_targets_or_report


def verify_and_record(
    out: Output, commit: str, ns: argparse.Namespace
) -> tuple[dict[str, Any] | None, list[str], bytes | None]:
    """The verify document, the failed checks (lines; empty: passed), and the JUnit XML."""
    from fleetform.commands.verify import verify_reports
    from fleetform.verify.report import as_json, junit_xml

    reports = verify_reports(ns, out)
    if reports is None:
        return None, ["verify could not start (see the errors above)"], None
    document = as_json(reports)
    failed = []
    for rep in reports:
        if rep.error is not None:
            failed.append(f"{rep.host}: not verified: {rep.error}")
        failed += [r.line(rep.host) for r in rep.failed]
    problem = _record(out, commit, ns, document)
    if problem:
        out.note(problem)
    return document, failed, junit_xml(reports)


def _record(out: Output, commit: str, ns: argparse.Namespace, document: dict[str, Any]) -> str:
    """Keep each stack's result on its hosts; a note on what could not be written."""
    from fleetform.executor.session import Session
    from fleetform.revisions.provenance import now
    from fleetform.revisions.verified import verified_documents, write_verified_script

    stacks = load_stacks_or_report(ns.stacks, out, ns.env_file)
    loaded = ssh_targets_or_report(ns, out)
    if stacks is None or loaded is None:
        return "the verify results were not kept on the hosts"
    at = now()
    checks = {h["host"]: h["checks"] for h in document["hosts"]}
    scripts = {}
    for host in loaded.hosts:
        mine = [s.name for s in stacks if _runs_on(s, loaded.target(host.name).groups, host.name)]
        if host.name in checks and mine:
            docs = verified_documents(checks[host.name], mine, at, commit)
            scripts[host.name] = write_verified_script(docs)
    session = Session(loaded)
    try:
        session.connect()
        chosen = [h for h in session.hosts if h.name in scripts]
        results = session.run_everywhere(lambda h: scripts[h.name], chosen)
    finally:
        session.disconnect()
    failed = sorted(h for h, r in results.items() if not r.ok)
    failed += sorted(session.failures)
    return f"could not keep the verify result on {', '.join(failed)}" if failed else ""


def _runs_on(stack: Any, groups: frozenset[str] | set[str], host: str) -> bool:
    """Whether ``stack`` targets ``host`` (no ``hosts``: every host)."""
    return not stack.hosts or bool(set(stack.hosts) & (set(groups) | {host}))
