"""A stack given as several files: which files, read together as one document.

``compose.yaml`` (or ``compose.yml``, ``docker-compose.yaml``,
``docker-compose.yml``) given alone takes the ``.override`` file beside it, as
``docker compose`` does; ``-f a.yml -f b.yml`` names every file.  Problems are
reported against the file (and line) that set the value last.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetform.stackfile.merge import merge_documents
from fleetform.stackfile.problems import DocPath, Mark, Problem, Report, format_path

StrPath = str | os.PathLike[str]
#: One stack: a file, or several files merged in order.
StackSpec = StrPath | Sequence[StrPath]

#: Compose's default file names, and the override file each takes.
OVERRIDES = {
    "compose.yaml": "compose.override.yaml",
    "compose.yml": "compose.override.yml",
    "docker-compose.yaml": "docker-compose.override.yaml",
    "docker-compose.yml": "docker-compose.override.yml",
}


def stack_files(given: StackSpec) -> list[Path]:
    """The files of one stack argument, in merge order.

    >>> stack_files(["a.yml", "b.yml"])
    [PosixPath('a.yml'), PosixPath('b.yml')]
    """
    if isinstance(given, (str, os.PathLike)):
        path = Path(given)
        override = OVERRIDES.get(path.name)
        if override is not None and (path.parent / override).is_file():
            return [path, path.parent / override]
        return [path]
    return [Path(p) for p in given]


@dataclass
class MergedReport(Report):
    """A report over several files: each problem names the file that set its value."""

    #: for each marked path, the file whose mark it is (a later file wins)
    mark_files: dict[DocPath, str] = field(default_factory=dict)
    key_files: dict[DocPath, str] = field(default_factory=dict)

    def _file(self, path: DocPath, at_key: bool) -> str:
        if at_key and path in self.key_files:
            return self.key_files[path]
        probe = path
        while probe and probe not in self.mark_files:
            probe = probe[:-1]
        return self.mark_files.get(probe, self.file)

    def warn(self, path: DocPath, message: str) -> None:
        line, column = self.mark(path)
        file = self._file(path, False)
        self.notices.append(Problem(file, line, column, format_path(path), message))

    def error(self, path: DocPath, message: str, *, at_key: bool = False) -> None:
        line, column = self.mark(path, at_key=at_key)
        file = self._file(path, at_key)
        self.problems.append(Problem(file, line, column, format_path(path), message))


def merged(documents: list[tuple[Any, Report]]) -> tuple[Any, MergedReport]:
    """Documents (each interpolated, with its file's report) merged in order."""
    first = documents[0][1]
    report = MergedReport(first.file)
    data: Any = None
    for i, (doc, one) in enumerate(documents):
        data = doc if i == 0 else merge_documents(data, doc)
        _take_marks(report.value_marks, report.mark_files, one.value_marks, one.file)
        _take_marks(report.key_marks, report.key_files, one.key_marks, one.file)
        report.interpolated |= one.interpolated
        report.notices += one.notices
    return data, report


def _take_marks(
    marks: dict[DocPath, Mark], files: dict[DocPath, str], new: dict[DocPath, Mark], file: str
) -> None:
    for path, mark in new.items():
        marks[path] = mark
        files[path] = file
