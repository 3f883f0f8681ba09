"""Loading stack files: read, check against the schema, normalise, cross-check."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from fleetform.model import Stack
from fleetform.stackfile.checks import Loaded, check_stack, check_stacks
from fleetform.stackfile.composefiles import StackSpec, StrPath, merged, stack_files
from fleetform.stackfile.extends import resolve as resolve_other_files
from fleetform.stackfile.parts import passed_parts
from fleetform.stackfile.problems import Problem, Report, StackFileError
from fleetform.stackfile.profiles import apply_profiles
from fleetform.stackfile.project import prepare_compose
from fleetform.stackfile.schema import check_against_schema
from fleetform.stackfile.stack import build_stack
from fleetform.stackfile.variables import interpolate_document, read_project_variables
from fleetform.stackfile.yamlread import read_document


def load_stacks(
    paths: Iterable[StackSpec],
    *,
    env_file: StrPath | None = None,
    notices: list[Problem] | None = None,
    profiles: Collection[str] = (),
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

    A stack may be several files merged with Compose's rules (a list in
    ``paths``, or a ``compose.yaml`` with its ``compose.override.yaml``; see
    :mod:`fleetform.stackfile.composefiles`); ``profiles`` are the active
    Compose profiles (:mod:`fleetform.stackfile.profiles`).

    >>> [s.name for s in load_stacks(["stacks/demo.yml"])]
    ['demo']
    """
    loaded = load_checked(paths, env_file=env_file, notices=notices, profiles=profiles)
    return [one.stack for one in loaded]


def _read_stack(
    files: list[Path], env_file: StrPath | None, shown: list[str]
) -> tuple[Any, list[Report], Report, dict[str, str]]:
    """The stack's document, interpolated file by file and merged; None on a problem.

    Also returns every file's report, the one later problems go to, and the
    project's variables (read from the first file's folder, as Compose does).
    """
    documents: list[tuple[Any, Report]] = []
    reports: list[Report] = []
    variables: dict[str, str] = {}
    for source, display in zip(files, shown, strict=True):
        data, report = read_document(source, display)
        reports.append(report)
        if report.problems:
            continue
        if not variables:
            variables = read_project_variables(
                files[0].resolve().parent, Path(env_file) if env_file else None, report
            )
        documents.append((interpolate_document(data, variables.get, report), report))
    if any(r.problems for r in reports):
        return None, reports, reports[0], variables
    if len(documents) == 1:
        return documents[0][0], reports, reports[0], variables
    data, report = merged(documents)
    return data, [*reports, report], report, variables


def load_checked(
    paths: Iterable[StackSpec],
    *,
    env_file: StrPath | None = None,
    notices: list[Problem] | None = None,
    profiles: Collection[str] = (),
) -> list[Loaded]:
    """As :func:`load_stacks`, with the resolved document each stack was built from
    (interpolated, merged, ``x-fleetform`` lifted, ``name`` set, profiles applied),
    for ``fleetform config``."""
    loaded = []
    reports: list[Report] = []
    for given in paths:
        files = stack_files(given)
        source = files[0]
        # A file given by itself is shown as it was written on the command line.
        shown = [str(given)] if isinstance(given, str) else [str(f) for f in files]
        shown += [str(f) for f in files[len(shown) :]]
        data, file_reports, report, variables = _read_stack(files, env_file, shown)
        if isinstance(given, (str, os.PathLike)) and len(files) > 1:
            # Read without being named, as `docker compose` reads it: say so.
            report.warn(
                (), f"read with {files[0].name} and merged into it, as `docker compose` does"
            )
        reports += file_reports
        checked = None
        if data is not None:
            data = resolve_other_files(data, source.parent, variables, report)
            data, inactive = apply_profiles(prepare_compose(data, source, report), profiles, report)
            checked = check_document(data, source, report, variables)
            if checked is not None and (inactive or len(files) > 1):
                stack = replace(
                    checked.stack,
                    inactive_services=inactive,
                    sources=tuple(files) if len(files) > 1 else (),
                )
                checked = checked._replace(stack=stack)
        if notices is not None:
            notices.extend(sorted(dict.fromkeys(n for r in file_reports for n in r.notices)))
        if checked is not None:
            loaded.append(checked)
    check_stacks(loaded)
    problems = list(dict.fromkeys(p for r in reports for p in r.problems))
    if problems:
        raise StackFileError(problems)
    return loaded


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
