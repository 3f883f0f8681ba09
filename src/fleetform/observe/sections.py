"""One host script made of named sections, and the splitting of its output.

Every observation fleetform makes of a host (the engine facts, the Docker
state, what verify reads) is one POSIX shell script run in one SSH round
trip.  :func:`sectioned_script` frames each part between two marker lines,
the second carrying the part's exit code; :func:`split_sections` gives the
parts back by name.  Each part runs in a subshell, so an ``exit`` in one
ends that part only.

Example::

    >>> import subprocess
    >>> script = sectioned_script([("greeting", "echo hello"), ("fails", "false")])
    >>> out = subprocess.run(["sh", "-c", script], capture_output=True, text=True).stdout
    >>> split_sections(out)
    {'greeting': Section(text='hello', rc=0), 'fails': Section(text='', rc=1)}
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass

MARK = "@@fleetform-section "
RC = "@@fleetform-rc "


@dataclass(frozen=True)
class Section:
    """One part's output (without its markers) and its exit code."""

    text: str
    rc: int


def section(name: str, command: str) -> str:
    """The shell lines of one part: marker, ``command`` in a subshell, exit code."""
    # The leading newline keeps a marker on its own line even when the previous
    # command's output did not end with one.
    return f"printf '\\n{MARK}%s\\n' {shlex.quote(name)}\n(\n{command}\n)\nprintf '\\n{RC}%s\\n' $?"


def sectioned_script(parts: Iterable[tuple[str, str]]) -> str:
    """One script running each ``(name, command)`` in order; it exits 0."""
    return "\n".join(section(name, command) for name, command in parts) + "\ntrue\n"


def split_sections(output: str) -> dict[str, Section]:
    """Split :func:`sectioned_script`'s output into its parts (name -> text and exit code).

    A part whose exit code line is missing (the script was cut short) is left
    out; the text loses only the blank lines the markers add around it.
    """
    sections: dict[str, Section] = {}
    name: str | None = None
    lines: list[str] = []
    for line in output.splitlines():
        if line.startswith(MARK):
            name, lines = line[len(MARK) :].strip(), []
        elif line.startswith(RC) and name is not None:
            text = "\n".join(lines).strip("\n")
            rc = line[len(RC) :].strip()
            sections[name] = Section(text, int(rc) if rc.isdigit() else 1)
            name = None
        elif name is not None:
            lines.append(line)
    return sections
