"""The parts of a stack file that passed the schema, so one run reports every problem.

A part is one service, network or volume, or one other top-level key
(``name``, ``hosts``, ``engine``, ...).  A schema problem keeps only its own
part from being normalised and cross-checked; the other parts go on, so a
file with an unknown key and a bad port shows both at once.  The checks that
follow must not blame a good part for a rejected one (a service that depends
on a rejected service is not told that it "is not a service"): they ask
:class:`Rejected`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fleetform.stackfile.problems import DocPath, PathPart
from fleetform.stackfile.schema import schema_accepts

COLLECTIONS = ("services", "networks", "volumes", "secrets")

Part = tuple[PathPart, ...]


def part_of(path: DocPath) -> Part:
    """The part a document path lies in.

    >>> part_of(("services", "web", "ports", 0))
    ('services', 'web')
    >>> part_of(("engine", "daemon", "debug"))
    ('engine',)
    >>> part_of(("services",))
    ('services',)
    """
    if len(path) >= 2 and path[0] in COLLECTIONS:
        return path[:2]
    return path[:1]


@dataclass(frozen=True)
class Rejected:
    """The parts of one file that the schema rejected (or that are missing)."""

    parts: frozenset[Part] = field(default_factory=frozenset)

    def has(self, key: str, name: str | None = None) -> bool:
        """Whether the top-level ``key`` (all of it, or its entry ``name``) was rejected."""
        return (key,) in self.parts or (name is not None and (key, name) in self.parts)


def passed_parts(
    data: Any, file: str, rejected_paths: Iterable[DocPath]
) -> tuple[dict[str, Any] | None, Rejected]:
    """``data`` without its rejected parts (None when nothing of it can be checked), and
    which parts those were.

    A rejected or missing ``version`` stands in as 1 and ``name`` as text unique to the
    file, so the other parts can be built; the check for a stack name used twice leaves
    such a stack out.
    """
    parts = {part_of(path) for path in rejected_paths}
    if not isinstance(data, dict):
        return None, Rejected(frozenset(parts))
    if not parts:
        return data, Rejected()
    # On a mapping, the only problem at the top is a missing `version` or `name`.
    parts.discard(())
    doc: dict[str, Any] = {}
    for key, value in data.items():
        if (key,) in parts:
            continue
        if key in COLLECTIONS and isinstance(value, dict):
            value = {k: v for k, v in value.items() if (key, k) not in parts}
        doc[key] = value
    for key in ("version", "name"):
        if key not in doc:
            parts.add((key,))
    doc.setdefault("version", 1)
    doc.setdefault("name", "stand-in")
    if not schema_accepts(doc):
        # A problem not confined to a part: check nothing more than the schema did.
        return None, Rejected(frozenset(parts))
    if ("name",) in parts:
        doc["name"] = f"<stack of {file}>"
    return doc, Rejected(frozenset(parts))
