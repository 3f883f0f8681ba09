"""Durations, memory sizes and CPU counts, read the way Docker reads them."""

from __future__ import annotations

import re

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_MEMORY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*([bkmgt]?)(?:i?b)?$", re.IGNORECASE)
_BYTES = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
#: Docker rejects more CPUs than the host has; this only catches typos like 2000.
MAX_CPUS = 1024


def parse_duration(text: str) -> int:
    """``"1m30s"`` -> 90_000_000_000 (nanoseconds); ValueError when not a duration.

    >>> parse_duration("500ms")
    500000000
    """
    if text == "0":
        return 0
    pos = 0
    total = 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _NS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"`{text}` is not a valid duration (e.g. 10s, 1m30s, 500ms)")
    return round(total)


def parse_memory(value: int | str) -> int:
    """``"512m"`` -> 536870912 bytes (units are powers of 1024, as in Docker)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{value} is not a valid memory size")
        return int(value)
    match = _MEMORY.match(str(value).strip())
    if not match:
        raise ValueError(f"`{value}` is not a valid memory size (e.g. 512m, 1g, 268435456)")
    return round(float(match.group(1)) * _BYTES[match.group(2).lower()])


def parse_cpus(value: float | int | str) -> float:
    """``"1.5"`` or ``1.5`` -> 1.5; must be more than 0 and at most :data:`MAX_CPUS`."""
    try:
        cpus = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{value}` is not a valid CPU count (e.g. 0.5, 2)") from None
    if not 0 < cpus <= MAX_CPUS:
        raise ValueError(f"{value} is not a valid CPU count (more than 0, at most {MAX_CPUS})")
    return cpus
