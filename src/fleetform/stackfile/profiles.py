"""Compose's ``profiles``: a service with ``profiles`` runs only when one of them is active.

Active profiles come from ``--profile`` (repeatable, ``*`` for all).  A service
outside them is not part of the stack for this run: it is neither created nor
checked, and its containers already on a host are left alone (not removed as
orphans), as ``docker compose up`` leaves them.

    >>> from fleetform.stackfile.problems import Report
    >>> doc = {"services": {"web": {}, "debug": {"profiles": ["debug"]}}}
    >>> kept, inactive = apply_profiles(doc, (), Report("compose.yaml"))
    >>> sorted(kept["services"]), inactive
    (['web'], ('debug',))
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from fleetform.stackfile.problems import Report

ALL = "*"


def _active(spec: Any, profiles: Collection[str]) -> bool:
    wanted = spec.get("profiles") if isinstance(spec, dict) else None
    if not wanted or not isinstance(wanted, list):
        return True
    return ALL in profiles or any(p in profiles for p in wanted)


def _references(spec: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """(path inside the service, service name) of each reference to another service."""
    out: list[tuple[tuple[str, ...], str]] = []
    deps = spec.get("depends_on")
    for name in deps if isinstance(deps, (list, dict)) else []:
        if isinstance(name, str):
            out.append((("depends_on", name), name))
    mode = spec.get("network_mode")
    if isinstance(mode, str) and mode.startswith("service:"):
        out.append((("network_mode",), mode.removeprefix("service:")))
    return out


def _without_references(spec: dict[str, Any], inactive: set[str]) -> dict[str, Any]:
    # Reported by apply_profiles: a reference to a left-out service is dropped
    # so that it is not also reported as a service that does not exist.
    out = dict(spec)
    deps = out.get("depends_on")
    if isinstance(deps, list):
        out["depends_on"] = [d for d in deps if d not in inactive]
    elif isinstance(deps, dict):
        out["depends_on"] = {k: v for k, v in deps.items() if k not in inactive}
    mode = out.get("network_mode")
    if isinstance(mode, str) and mode.removeprefix("service:") in inactive:
        del out["network_mode"]
    return out


def apply_profiles(
    data: Any, profiles: Collection[str], report: Report
) -> tuple[Any, tuple[str, ...]]:
    """``data`` with only the services of the active ``profiles``; the names left out."""
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        return data, ()
    services: dict[str, Any] = data["services"]
    inactive = {k for k, spec in services.items() if not _active(spec, profiles)}
    if not inactive:
        return data, ()
    kept = {k: v for k, v in services.items() if k not in inactive}
    for name, spec in kept.items():
        if not isinstance(spec, dict):
            continue
        for path, peer in _references(spec):
            if peer in inactive:
                wanted = ", ".join(services[peer].get("profiles") or [])
                report.error(
                    ("services", name, *path),
                    f"`{peer}` runs only with profile {wanted}, which is not active; "
                    f"add `--profile {wanted.split(', ')[0]}`",
                )
        kept[name] = _without_references(spec, inactive)
    return {**data, "services": kept}, tuple(sorted(inactive))
