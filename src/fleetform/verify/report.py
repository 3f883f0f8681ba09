"""Verification results for people (a rich table), CI (JUnit XML) and machines (JSON).

The JSON document (``fleetform verify --json``)::

    {"ok": false,
     "hosts": [{"host": "lab-2", "ok": false,
                "checks": [{"resource": "demo-web-1", "check": "state", "ok": false,
                            "expected": "running", "actual": "exited"}, ...]}]}

An unreachable host has one failed check, resource ``host``, check ``reachable``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fleetform.escape import escape_control
from fleetform.verify.checks import CheckResult
from fleetform.verify.runner import HostReport, unreachable_result


def all_results(report: HostReport) -> tuple[CheckResult, ...]:
    if report.error is not None:
        return (unreachable_result(report.error), *report.results)
    return report.results


def failure_lines(reports: Sequence[HostReport]) -> list[str]:
    """``lab-2  demo-web-1  state  expected running, got exited``, one per failed check.

    When a container does not exist, its other checks all fail with "no
    container"; they are counted on the ``exists`` line instead of listed.
    """
    lines = []
    for rep in reports:
        results = all_results(rep)
        missing = {r.resource for r in results if r.check == "exists" and not r.ok}
        for r in results:
            if r.ok or (r.resource in missing and r.check != "exists"):
                continue
            line = r.line(rep.host)
            if r.resource in missing:
                more = sum(1 for o in results if o.resource == r.resource and not o.ok) - 1
                line += f" (and {more} more checks of it)" if more else ""
            lines.append(line)
    return lines


def as_json(reports: Sequence[HostReport]) -> dict[str, Any]:
    return {
        "ok": bool(reports) and all(r.ok for r in reports),
        "hosts": [r.as_dict() for r in reports],
    }


def print_table(reports: Sequence[HostReport], console: Console) -> None:
    table = Table(title="fleetform verify", title_justify="left")
    table.add_column("host")
    table.add_column("result")
    table.add_column("passed", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("seconds", justify="right")
    for rep in reports:
        if rep.error is not None:
            result = "[red]unreachable[/]"
        else:
            result = "[green]ok[/]" if rep.ok else "[red]failed[/]"
        failed = len(rep.failed) + (1 if rep.error is not None else 0)
        table.add_row(
            escape(escape_control(rep.host)),
            result,
            str(len(rep.passed)),
            str(failed),
            f"{rep.seconds:.1f}",
        )
    console.print(table)
    lines = failure_lines(reports)
    if lines:
        console.print("[bold red]Failed checks:[/]")
        for line in lines:
            console.print(escape(line))


def junit_xml(reports: Sequence[HostReport]) -> bytes:
    """One ``testsuite`` per host, one ``testcase`` per host and check."""
    root = ET.Element("testsuites", name="fleetform verify")
    total = failures = 0
    for rep in reports:
        results = all_results(rep)
        failed = [r for r in results if not r.ok]
        total += len(results)
        failures += len(failed)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=rep.host,
            tests=str(len(results)),
            failures=str(len(failed)),
            errors="0",
            time=f"{rep.seconds:.3f}",
        )
        for r in results:
            case = ET.SubElement(
                suite, "testcase", classname=rep.host, name=f"{r.resource} {r.check}"
            )
            if not r.ok:
                message = escape_control(f"expected {r.expected}, got {r.actual}")
                failure = ET.SubElement(case, "failure", message=message)
                failure.text = r.line(rep.host)
    root.set("tests", str(total))
    root.set("failures", str(failures))
    ET.indent(root)
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return text + b"\n"
