"""Labels that hold compact JSON by target (``fleetform.secrets``, ``fleetform.project-files``).

>>> label_entries('{"/run/secrets/db": {"name": "db"}, "bad": 1}')
{'/run/secrets/db': {'name': 'db'}}
>>> label_entries("not json")
{}
"""

from __future__ import annotations

import json
from typing import Any


def label_entries(text: str | None) -> dict[str, dict[str, Any]]:
    """The label's entries by target; empty for a missing or unreadable label."""
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, dict)}
