"""One run of fleetform: its identity, and durations as people write them.

Example::

    >>> parse_duration("1m30s")
    90.0
    >>> parse_duration("250ms")
    0.25
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    """What every lock holder record and audit line says about the run."""

    run_id: str
    actor: str  # user@control-machine
    control: str  # the control machine's host name
    pid: int
    started: float  # epoch seconds, control machine clock
    #: where the stacks came from, for a reconcile: {"repo": ..., "commit": ...}
    source: Mapping[str, str] | None = None


def new_run(source: Mapping[str, str] | None = None) -> Run:
    control = socket.gethostname()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = str(os.getuid())
    return Run(
        uuid.uuid4().hex[:12], f"{user}@{control}", control, os.getpid(), time.time(), source
    )


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(text: str) -> float:
    """Seconds in ``text``: ``90``, ``30s``, ``5m``, ``1h30m``, ``2d``, ``250ms``.

    Raises ValueError with a message for people on anything else.
    """
    s = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        return float(s)
    if not s or _PART.sub("", s):
        raise ValueError(f"{text!r} is not a duration (examples: 90, 30s, 5m, 1h30m, 2d)")
    return float(sum(float(n) * _UNITS[u] for n, u in _PART.findall(s)))
