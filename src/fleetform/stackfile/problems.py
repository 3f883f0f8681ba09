"""Problems found in stack files, and the error that carries all of them.

Every problem names the file, the line and column (1-based, where known), the
path inside the document and what is wrong in plain words::

    stacks/web.yml:12:7 services.web.ports[0]: 70000 is not a valid port (1-65535)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PathPart = str | int
DocPath = tuple[PathPart, ...]

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def format_path(path: DocPath) -> str:
    """``("services", "web", "ports", 0)`` -> ``services.web.ports[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one stack file."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        if self.path:
            return f"{where} {self.path}: {self.message}"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
        }


class StackFileError(Exception):
    """Stack files are invalid; ``problems`` lists everything that is wrong, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=_sort_key)
        super().__init__("\n".join(str(p) for p in self.problems))


def _sort_key(p: Problem) -> tuple[str, int, int, str, str]:
    return (p.file, p.line or 0, p.column or 0, p.path, p.message)


Mark = tuple[int, int]  # 1-based line, column


@dataclass
class Report:
    """Collects the problems of one file, placing each at the best known mark.

    ``value_marks`` maps a document path to where its value starts and
    ``key_marks`` to where its key starts; a path without a mark falls back to
    its nearest ancestor, so every problem gets a line.
    """

    file: str
    value_marks: dict[DocPath, Mark] = field(default_factory=dict)
    key_marks: dict[DocPath, Mark] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: warnings that do not make the file invalid (an unset variable, an obsolete key)
    notices: list[Problem] = field(default_factory=list)
    #: value paths whose text took a variable's value by interpolation
    interpolated: set[DocPath] = field(default_factory=set)

    def warn(self, path: DocPath, message: str) -> None:
        line, column = self.mark(path)
        self.notices.append(Problem(self.file, line, column, format_path(path), message))

    def error(self, path: DocPath, message: str, *, at_key: bool = False) -> None:
        line, column = self.mark(path, at_key=at_key)
        self.problems.append(Problem(self.file, line, column, format_path(path), message))

    def mark(self, path: DocPath, *, at_key: bool = False) -> tuple[int | None, int | None]:
        if at_key and path in self.key_marks:
            return self.key_marks[path]
        probe = path
        while True:
            if probe in self.value_marks:
                return self.value_marks[probe]
            if not probe:
                return None, None
            probe = probe[:-1]
