"""What the agent and reconciler deploys install, read from pyinfra host data.

Every key is optional except the repository::

    fleetform_gitops_repo      URL or path git can fetch (required)
    fleetform_gitops_ref       branch to follow (default: the remote's HEAD)
    fleetform_gitops_stacks    stack files inside the checkout (default: stacks/)
    fleetform_gitops_every     how often: a systemd time span (default 5min)
    fleetform_gitops_delay     pull mode: randomised delay per run (default 1min)
    fleetform_gitops_drift     report | revert (default report)
    fleetform_gitops_notify    Apprise URLs
    fleetform_gitops_inventory controller: the inventory, inside the checkout
    fleetform_gitops_age_key   local path of an age key file for SOPS secrets
    fleetform_gitops_ssh_key   controller: local path of the SSH key it uses
    fleetform_gitops_known_hosts controller: local known_hosts for that key
    fleetform_wheelhouse       local folder of wheels to install fleetform from
                               (default: pip installs fleetform==<version>)

Example::

    >>> s = settings_from_data({"fleetform_gitops_repo": "git://git.example/ops.git"})
    >>> s.every, s.drift, s.stacks
    ('5min', 'report', ())
    >>> settings_from_data({"fleetform_gitops_drift": "fix"})
    Traceback (most recent call last):
    ...
    fleetform.agent.settings.AgentSettingsError: fleetform_gitops_repo is required: ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PREFIX = "fleetform_gitops_"
WHEELHOUSE = "fleetform_wheelhouse"

#: a systemd time span as fleetform accepts it: ``30s``, ``5min``, ``1h``, ``1h 30min``
_SPAN = re.compile(r"^\s*(\d+\s*(us|ms|s|sec|m|min|h|hr|d)\s*)+$")
_DRIFT = ("report", "revert")


class AgentSettingsError(Exception):
    """Host data the deploy cannot use; the message names the key."""


@dataclass(frozen=True)
class AgentSettings:
    repo: str
    ref: str | None = None
    stacks: tuple[str, ...] = ()
    every: str = "5min"
    delay: str = "1min"
    drift: str = "report"
    notify: tuple[str, ...] = ()
    inventory: str | None = None
    age_key: Path | None = None
    ssh_key: Path | None = None
    known_hosts: Path | None = None
    wheelhouse: Path | None = None


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise AgentSettingsError(f"{key} must be a non-empty string, not {value!r}")
    return value.strip()


def _texts(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise AgentSettingsError(f"{key} must be a string or a list of strings, not {value!r}")
    return tuple(value)


def _span(data: Mapping[str, Any], key: str, default: str) -> str:
    value = _text(data, key) or default
    if not _SPAN.match(value):
        raise AgentSettingsError(
            f"{key}: {value!r} is not a time span (examples: 30s, 5min, 1h, 1h 30min)"
        )
    return value


def _file(data: Mapping[str, Any], key: str) -> Path | None:
    value = _text(data, key)
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise AgentSettingsError(f"{key}: {value}: no such file on this machine")
    return path


def settings_from_data(data: Mapping[str, Any]) -> AgentSettings:
    """The settings in ``data``, or AgentSettingsError naming the first bad key."""
    repo = _text(data, PREFIX + "repo")
    if repo is None:
        raise AgentSettingsError(f"{PREFIX}repo is required: the repository to follow")
    drift = _text(data, PREFIX + "drift") or "report"
    if drift not in _DRIFT:
        raise AgentSettingsError(f"{PREFIX}drift must be one of {', '.join(_DRIFT)}, not {drift!r}")
    wheelhouse = _text(data, WHEELHOUSE)
    if wheelhouse is not None and not any(Path(wheelhouse).expanduser().glob("fleetform-*.whl")):
        raise AgentSettingsError(
            f"{WHEELHOUSE}: {wheelhouse}: no fleetform wheel there "
            "(make one with `pip wheel -w DIR .` in a fleetform checkout)"
        )
    return AgentSettings(
        repo=repo,
        ref=_text(data, PREFIX + "ref"),
        stacks=_texts(data, PREFIX + "stacks"),
        every=_span(data, PREFIX + "every", "5min"),
        delay=_span(data, PREFIX + "delay", "1min"),
        drift=drift,
        notify=_texts(data, PREFIX + "notify"),
        inventory=_text(data, PREFIX + "inventory"),
        age_key=_file(data, PREFIX + "age_key"),
        ssh_key=_file(data, PREFIX + "ssh_key"),
        known_hosts=_file(data, PREFIX + "known_hosts"),
        wheelhouse=Path(wheelhouse).expanduser() if wheelhouse else None,
    )
