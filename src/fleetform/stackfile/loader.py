"""Loading stack files: read, check against the schema, normalise, cross-check."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fleetform.model import Stack
from fleetform.stackfile.checks import Loaded, check_stack, check_stacks
from fleetform.stackfile.parts import passed_parts
from fleetform.stackfile.problems import Problem, Report, StackFileError
from fleetform.stackfile.schema import check_against_schema
from fleetform.stackfile.stack import build_stack
from fleetform.stackfile.yamlread import read_document

StrPath = str | os.PathLike[str]


def load_stacks(paths: Iterable[StrPath]) -> list[Stack]:
    """Load stack files together; raise :class:`StackFileError` listing every problem.

    Every service, network and volume that matched the schema is normalised
    and cross-checked even when other parts of its file did not, so one run
    lists every problem (see :mod:`fleetform.stackfile.parts`); the files are
    also checked against each other (stack names, published ports on shared
    hosts, image sources).  A file that is not YAML, or not a mapping, gets no
    checks past that.

    >>> [s.name for s in load_stacks(["stacks/demo.yml"])]
    ['demo']
    """
    loaded = []
    reports: list[Report] = []
    for given in paths:
        source = Path(given)
        data, report = read_document(source, str(given))
        reports.append(report)
        if report.problems:
            continue
        checked = check_document(data, source, report)
        if checked is not None:
            loaded.append(checked)
    check_stacks(loaded)
    problems = list(dict.fromkeys(p for r in reports for p in r.problems))
    if problems:
        raise StackFileError(problems)
    return [one.stack for one in loaded]


def check_document(data: Any, source: Path, report: Report) -> Loaded | None:
    """Check one parsed document: the schema, then normalisation and the checks inside
    one stack on the parts the schema accepted; None when no part can be built."""
    rejected_paths = check_against_schema(data, report)
    doc, rejected = passed_parts(data, report.file, rejected_paths)
    if doc is None:
        return None
    stack = build_stack(doc, source, report)
    check_stack(stack, doc, report, rejected)
    return Loaded(stack, doc, report, rejected)


def load_stack(path: StrPath) -> Stack:
    """Load one stack file (see :func:`load_stacks`)."""
    return load_stacks([path])[0]


__all__ = ["Problem", "StackFileError", "load_stack", "load_stacks"]
