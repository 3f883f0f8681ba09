"""The files the gitops deploys write: golden text, and the settings' checks.

Regenerate the golden files with ``FLEETFORM_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fleetform.agent import units
from fleetform.agent.settings import AgentSettings, AgentSettingsError, settings_from_data

GOLDEN = Path(__file__).parent / "golden"


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("FLEETFORM_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def _settings(**kw: object) -> AgentSettings:
    base = {"repo": "https://git.example/ops.git", "ref": "main", "stacks": ("stacks/web.yml",)}
    return AgentSettings(**{**base, **kw})  # type: ignore[arg-type]


def test_agent_units_golden() -> None:
    s = _settings(every="10min", delay="2min", drift="revert")
    _golden("agent.service", units.agent_service(s))
    _golden("agent.timer", units.agent_timer(s))


def test_reconciler_unit_golden() -> None:
    s = _settings(inventory="inventory/prod.py", every="1h 30min")
    _golden("reconciler.service", units.reconciler_service(s))


def test_credentials_in_the_repo_url_stay_out_of_the_units() -> None:
    s = _settings(repo="https://deploy:s3cr3t-token@git.example/ops.git")
    text = units.agent_service(s) + units.reconciler_service(s)
    assert "s3cr3t-token" not in text
    assert units.env_file(s, units.AGENT).count("s3cr3t-token") == 1  # root-only file


def test_notification_urls_go_to_the_root_only_env_file_only() -> None:
    s = _settings(notify=("tgram://bot-token/chat", "json://127.0.0.1:9/x"))
    assert "bot-token" not in units.agent_service(s)
    assert "FLEETFORM_NOTIFY='tgram://bot-token/chat json://127.0.0.1:9/x'" in units.env_file(
        s, units.AGENT
    )


def test_percent_is_escaped_for_systemd() -> None:
    s = _settings(stacks=("stacks/100%.yml",))
    assert "stacks/100%%.yml" in units.agent_service(s)


def test_local_inventory_selects_the_host_by_name_and_groups(tmp_path: Path) -> None:
    from fleetform.inventory import load_inventory

    path = tmp_path / "inventory.py"
    path.write_text(units.local_inventory("lab-2", ["web", "@local"]))
    (target,) = load_inventory(str(path)).targets
    assert target.name == "@local"
    assert {"lab-2", "web"} <= target.groups


def test_settings_defaults_and_lists(tmp_path: Path) -> None:
    key = tmp_path / "age.key"
    key.write_text("AGE-SECRET-KEY-1...\n")
    s = settings_from_data(
        {
            "fleetform_gitops_repo": "/srv/ops.git",
            "fleetform_gitops_stacks": "stacks/a.yml",
            "fleetform_gitops_notify": ["json://h/x"],
            "fleetform_gitops_age_key": str(key),
        }
    )
    assert (s.stacks, s.notify, s.age_key, s.every, s.delay) == (
        ("stacks/a.yml",),
        ("json://h/x",),
        key,
        "5min",
        "1min",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "fleetform_gitops_repo is required"),
        ({"fleetform_gitops_repo": ""}, "fleetform_gitops_repo must be a non-empty string"),
        ({"fleetform_gitops_repo": "r", "fleetform_gitops_every": "often"}, "not a time span"),
        ({"fleetform_gitops_repo": "r", "fleetform_gitops_drift": "fix"}, "report, revert"),
        ({"fleetform_gitops_repo": "r", "fleetform_gitops_notify": 3}, "list of strings"),
        ({"fleetform_gitops_repo": "r", "fleetform_gitops_age_key": "/no/key"}, "no such file"),
        ({"fleetform_gitops_repo": "r", "fleetform_wheelhouse": "/tmp"}, "no fleetform wheel"),
    ],
)
def test_bad_settings_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(AgentSettingsError, match=message):
        settings_from_data(data)


def test_an_agent_and_a_controller_on_one_host_keep_their_own_files() -> None:
    a, r = units.agent_service(_settings()), units.reconciler_service(_settings())
    assert f"EnvironmentFile=-{units.env_path(units.AGENT)}" in a
    assert f"EnvironmentFile=-{units.env_path(units.RECONCILER)}" in r
    assert units.env_path(units.AGENT) != units.env_path(units.RECONCILER)
    assert "--cache-dir /var/lib/fleetform/gitops/cache/fleetform-agent" in a
    assert "--cache-dir /var/lib/fleetform/gitops/cache/fleetform-reconciler" in r
    key = Path("/k")
    env = units.env_file(_settings(age_key=key), units.RECONCILER)
    assert f"SOPS_AGE_KEY_FILE={units.age_key_path(units.RECONCILER)}" in env
