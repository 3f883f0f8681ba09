"""Compose's "list or map" values: ``{K: V}`` or ``["K=V", ...]``, as strings."""

from __future__ import annotations

from typing import Any

from fleetform.model import Pairs
from fleetform.stackfile.problems import DocPath, Report

RESERVED_LABEL_PREFIX = "fleetform."


def scalar_text(value: Any) -> str:
    """How a YAML scalar becomes an environment or label string (``true``, ``8080``).

    Numbers keep the text they were written with, so ``1.10`` does not become ``1.1``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(getattr(value, "source_text", "") or value)


def list_or_map(value: Any, path: DocPath, report: Report) -> dict[str, str | None]:
    """Parse a list-or-map; a list item without ``=``, or a map value of null, gives None."""
    out: dict[str, str | None] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            if not key:
                report.error((*path, key), "a key must not be empty", at_key=True)
            out[key] = None if item is None else scalar_text(item)
        return out
    for i, item in enumerate(value or []):
        key, sep, rest = str(item).partition("=")
        if not key:
            report.error((*path, i), f"`{item}` has no name before `=`")
            continue
        if key in out:
            report.error((*path, i), f"`{key}` is set more than once")
        out[key] = rest if sep else None
    return out


def string_pairs(value: Any, path: DocPath, report: Report, what: str) -> Pairs:
    """A list-or-map whose every entry needs a value (labels, sysctls, build args)."""
    result: dict[str, str] = {}
    for key, item in list_or_map(value, path, report).items():
        if item is None:
            report.error(path, f"{what} `{key}` has no value (write `{key}=value`)")
            continue
        result[key] = item
    return tuple(sorted(result.items()))


def labels(value: Any, path: DocPath, report: Report) -> Pairs:
    """Labels; the ``fleetform.`` prefix is reserved, because ownership is decided by it."""
    result = string_pairs(value, path, report, "label")
    for key, _ in result:
        if key.startswith(RESERVED_LABEL_PREFIX):
            report.error(
                (*path, key),
                f"label `{key}`: labels starting with `{RESERVED_LABEL_PREFIX}` are reserved "
                "for fleetform's ownership labels",
                at_key=True,
            )
    return result
