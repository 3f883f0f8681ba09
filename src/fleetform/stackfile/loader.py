"""Loading stack files: read, check against the schema, normalise, cross-check."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from fleetform.model import Stack
from fleetform.stackfile.checks import check_stack, check_stacks
from fleetform.stackfile.problems import Problem, Report, StackFileError
from fleetform.stackfile.schema import check_against_schema
from fleetform.stackfile.stack import build_stack
from fleetform.stackfile.yamlread import read_document

StrPath = str | os.PathLike[str]


def load_stacks(paths: Iterable[StrPath]) -> list[Stack]:
    """Load stack files together; raise :class:`StackFileError` listing every problem.

    A file that breaks the schema is not normalised further, so its semantic
    problems show once the schema problems are fixed; every other file is
    checked fully, and the files are checked against each other (stack names,
    published ports on shared hosts).

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
        check_against_schema(data, report)
        if report.problems:
            continue
        stack = build_stack(data, source, report)
        check_stack(stack, data, report)
        loaded.append((stack, data, report))
    check_stacks(loaded)
    problems = list(dict.fromkeys(p for r in reports for p in r.problems))
    if problems:
        raise StackFileError(problems)
    return [stack for stack, _, _ in loaded]


def load_stack(path: StrPath) -> Stack:
    """Load one stack file (see :func:`load_stacks`)."""
    return load_stacks([path])[0]


__all__ = ["Problem", "StackFileError", "load_stack", "load_stacks"]
