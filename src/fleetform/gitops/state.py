"""What earlier reconcile runs left in the cache directory: ``state.json``.

It decides three things: whether the commit is new (a non-empty plan
without a new commit is drift), whether an event was already notified (an
identical failure is sent once, recovery clears it), and the counters of
the Prometheus textfile.  Written atomically (a rename), so a run killed
half-way leaves the previous state.

Example::

    >>> s = State()
    >>> s.commit is None and s.failure is None
    True
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"


@dataclass
class State:
    #: the last commit a run got to plan (applied, rolled back or invalid)
    commit: str | None = None
    #: that commit's outcome (a reconcile result: converged, rolled_back, invalid...)
    outcome: str | None = None
    #: fingerprint of the failure last notified (None: the last run was fine)
    failure: str | None = None
    #: fingerprint of the drift last notified
    drift: str | None = None
    last_success: float | None = None
    failures_total: int = 0
    drift_total: int = 0
    runs_total: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def load_state(folder: Path) -> State:
    """The saved state, or a fresh one (first run, or an unreadable file)."""
    try:
        data = json.loads((folder / STATE_FILE).read_text())
    except (OSError, ValueError):
        return State()
    known = {k: v for k, v in data.items() if k in State.__dataclass_fields__}
    try:
        return State(**known)
    except TypeError:
        return State()


def save_state(folder: Path, state: State) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{STATE_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps(asdict(state), indent=2, sort_keys=True) + "\n")
    tmp.replace(folder / STATE_FILE)
