"""A reconcile's verify step: ``fleetform verify``'s checks, on the commit checked out.

``verify_reports`` keeps each stack's result on its hosts with the commit
(``fleetform.commands.verify_record``), so ``fleetform status`` can say
whether the last verify passed and for which commit.
"""

from __future__ import annotations

import argparse
from typing import Any

from fleetform.commands.common import Output


def verify_and_record(
    out: Output, commit: str, ns: argparse.Namespace
) -> tuple[dict[str, Any] | None, list[str], bytes | None]:
    """The verify document, the failed checks (lines; empty: passed), and the JUnit XML."""
    from fleetform.commands.verify import verify_reports
    from fleetform.verify.report import as_json, junit_xml

    reports = verify_reports(ns, out, commit=commit)
    if reports is None:
        return None, ["verify could not start (see the errors above)"], None
    document = as_json(reports)
    failed = []
    for rep in reports:
        if rep.error is not None:
            failed.append(f"{rep.host}: not verified: {rep.error}")
        failed += [r.line(rep.host) for r in rep.failed]
    return document, failed, junit_xml(reports)
