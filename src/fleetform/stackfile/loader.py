"""Loading stack files: read, check against the schema, normalise, cross-check."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from fleetform.model import Stack
from fleetform.stackfile.checks import Loaded, check_stack, check_stacks
from fleetform.stackfile.parts import passed_parts
from fleetform.stackfile.problems import Problem, Report, StackFileError
from fleetform.stackfile.project import prepare_compose
from fleetform.stackfile.schema import check_against_schema
from fleetform.stackfile.stack import build_stack
from fleetform.stackfile.variables import interpolate_document, read_project_variables
from fleetform.stackfile.yamlread import read_document

StrPath = str | os.PathLike[str]


def load_stacks(
    paths: Iterable[StrPath],
    *,
    env_file: StrPath | None = None,
    notices: list[Problem] | None = None,
) -> list[Stack]:
    """Load stack files together; raise :class:`StackFileError` listing every problem.

    Values are interpolated first (:mod:`fleetform.stackfile.variables`), with
    the variables of each file's project directory (its ``.env``), or of
    ``env_file`` when given; warnings (an unset variable, an obsolete Compose
    ``version``) are appended to ``notices`` when given.

    Every service, network and volume that matched the schema is normalised
    and cross-checked even when other parts of its file did not, so one run
    lists every problem (see :mod:`fleetform.stackfile.parts`); the files are
    also checked against each other (stack names, published ports on shared
    hosts, image sources).  A file that is not YAML, or not a mapping, gets no
    checks past that.

    >>> [s.name for s in load_stacks(["stacks/demo.yml"])]
    ['demo']
    """
    return [one.stack for one in load_checked(paths, env_file=env_file, notices=notices)]


def load_checked(
    paths: Iterable[StrPath],
    *,
    env_file: StrPath | None = None,
    notices: list[Problem] | None = None,
) -> list[Loaded]:
    """As :func:`load_stacks`, with the resolved document each stack was built from
    (interpolated, ``x-fleetform`` lifted, ``name`` set), for ``fleetform config``."""
    loaded = []
    reports: list[Report] = []
    for given in paths:
        source = Path(given)
        data, report = read_document(source, str(given))
        reports.append(report)
        if report.problems:
            continue
        data, variables = prepare_document(data, source, report, env_file)
        checked = None if data is None else check_document(data, source, report, variables)
        if notices is not None:
            notices.extend(sorted(report.notices))
        if checked is not None:
            loaded.append(checked)
    check_stacks(loaded)
    problems = list(dict.fromkeys(p for r in reports for p in r.problems))
    if problems:
        raise StackFileError(problems)
    return loaded


def prepare_document(
    data: Any, source: Path, report: Report, env_file: StrPath | None = None
) -> tuple[Any, dict[str, str]]:
    """Interpolate one parsed document, then read it as a Compose file (version, name,
    ``x-fleetform``); the result goes to the schema check.  Also returns the
    project's variables (environment and ``.env``).  The data is None when
    interpolation failed: what the schema would say of values left
    uninterpolated is noise."""
    project_dir = source.resolve().parent
    variables = read_project_variables(
        project_dir, Path(env_file) if env_file is not None else None, report
    )
    data = interpolate_document(data, variables.get, report)
    if report.problems:
        return None, variables
    return prepare_compose(data, source, report), variables


def check_document(
    data: Any, source: Path, report: Report, variables: Mapping[str, str] | None = None
) -> Loaded | None:
    """Check one parsed document: the schema, then normalisation and the checks inside
    one stack on the parts the schema accepted; None when no part can be built.

    ``variables`` resolve pass-through ``environment`` entries and ``env_file``
    interpolation (default: this machine's environment)."""
    rejected_paths = check_against_schema(data, report)
    if isinstance(data, dict) and "name" not in data:
        rejected_paths.append(("name",))  # none derived (reported): a stand-in is used
    doc, rejected = passed_parts(data, report.file, rejected_paths)
    if doc is None:
        return None
    stack = build_stack(doc, source, report, variables)
    check_stack(stack, doc, report, rejected)
    return Loaded(stack, doc, report, rejected)


def load_stack(path: StrPath) -> Stack:
    """Load one stack file (see :func:`load_stacks`)."""
    return load_stacks([path])[0]


__all__ = ["Problem", "StackFileError", "load_stack", "load_stacks"]
