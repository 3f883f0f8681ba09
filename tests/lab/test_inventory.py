"""inventory/lab.py's groups and host data, built from a recorded lab status."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

from fleetform.lab import inventory
from fleetform.lab.config import LabConfig, LabError
from fleetform.lab.status import LabHost, hosts_from_observed

ROOT = Path(__file__).resolve().parents[2]
CFG = LabConfig.for_name("lab")
# `fleetform lab status --json` of a 3-host lab with lab-2 stopped.
RECORDED = json.loads(
    """[
  {"name": "lab-1", "address": "10.213.0.11", "container": "lab-1", "state": "running",
   "groups": ["web"]},
  {"name": "lab-2", "address": "10.213.0.12", "container": "lab-2", "state": "exited",
   "groups": ["web"]},
  {"name": "lab-3", "address": "10.213.0.13", "container": "lab-3", "state": "running",
   "groups": ["web", "db"]}
]"""
)


def recorded_hosts() -> list[LabHost]:
    return [LabHost(**{**h, "groups": tuple(h["groups"])}) for h in RECORDED]


def test_status_lists_every_host_in_web_and_the_last_in_db() -> None:
    hosts = hosts_from_observed(CFG, {1: "running", 2: "exited", 3: "running"})
    assert [h.as_dict() for h in hosts] == RECORDED


def test_only_running_hosts_are_in_the_inventory() -> None:
    groups = inventory.build_groups(CFG, recorded_hosts(), ca_pem="PEM")
    assert [name for name, _ in groups["web"]] == ["lab-1", "lab-3"]
    assert [name for name, _ in groups["db"]] == ["lab-3"]


def test_host_data_keeps_host_key_checking_on_with_the_labs_files() -> None:
    groups = inventory.build_groups(CFG, recorded_hosts(), ca_pem="PEM")
    data = dict(groups["web"])["lab-1"]
    assert data["ssh_hostname"] == "10.213.0.11"
    assert data["ssh_user"] == "root"
    assert data["ssh_strict_host_key_checking"] == "yes"
    assert data["ssh_known_hosts_file"] == "/var/lib/fleetform/lab/known_hosts"
    assert data["ssh_key"] == "/var/lib/fleetform/lab/id_ed25519"


def test_host_data_gives_the_registry_ca_for_the_engine_deploy() -> None:
    groups = inventory.build_groups(CFG, recorded_hosts(), ca_pem="PEM")
    assert dict(groups["db"])["lab-3"]["fleetform_registries"] == {"registry.lab:5000": "PEM"}


def test_a_lab_that_is_down_gives_empty_groups_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(inventory, "lab_hosts", lambda cfg: [])
    assert inventory.discover(CFG) == {"web": [], "db": []}
    assert "run `fleetform lab up` first" in capsys.readouterr().err


def test_no_docker_engine_gives_empty_groups_and_a_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(cfg: LabConfig) -> list[LabHost]:
        raise LabError("no Docker engine answers")

    monkeypatch.setattr(inventory, "lab_hosts", fail)
    assert inventory.discover(CFG) == {"web": [], "db": []}
    assert "no Docker engine answers" in capsys.readouterr().err


def test_the_inventory_file_exposes_web_and_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inventory, "lab_hosts", lambda cfg: recorded_hosts())
    module = runpy.run_path(str(ROOT / "inventory" / "lab.py"))
    assert [n for n, _ in module["web"]] == ["lab-1", "lab-3"]
    assert [n for n, _ in module["db"]] == ["lab-3"]
