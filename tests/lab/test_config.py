"""Names, addresses and paths of a lab derive from its name alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetform.lab.config import LabConfig, LabError


def test_the_default_lab_has_the_documented_names_and_addresses() -> None:
    cfg = LabConfig.for_name("lab")
    assert cfg.network == "fleetform-lab"
    assert [cfg.host_name(i) for i in (1, 2)] == ["lab-1", "lab-2"]
    assert cfg.host_alias(1) == "lab-1.lab"
    assert str(cfg.subnet) == "10.213.0.0/24"
    assert (cfg.gateway, cfg.registry_address, cfg.host_address(3)) == (
        "10.213.0.1",
        "10.213.0.2",
        "10.213.0.13",
    )
    assert cfg.state_dir == Path("/var/lib/fleetform/lab")


def test_another_lab_gets_its_own_subnet_network_and_state_dir() -> None:
    other = LabConfig.for_name("labt")
    assert other.subnet != LabConfig.for_name("lab").subnet
    assert other.subnet == LabConfig.for_name("labt").subnet  # deterministic
    assert (other.network, other.host_name(1)) == ("fleetform-labt", "labt-1")
    assert other.state_dir == Path("/var/lib/fleetform/labt")


def test_the_lock_file_lives_beside_the_state_dir_so_down_can_delete_the_dir() -> None:
    cfg = LabConfig.for_name("lab", Path("/tmp/x/lab"))
    assert cfg.lock_file == Path("/tmp/x/.lab.lock")


def test_environment_variables_choose_the_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETFORM_LAB_NAME", "demo2")
    monkeypatch.setenv("FLEETFORM_LAB_DIR", "/tmp/demo2-state")
    cfg = LabConfig.from_env()
    assert (cfg.name, cfg.state_dir) == ("demo2", Path("/tmp/demo2-state"))


@pytest.mark.parametrize("name", ["", "Lab", "1lab", "lab-x", "a" * 17])
def test_a_bad_lab_name_is_refused_with_a_clear_message(name: str) -> None:
    with pytest.raises(LabError, match=r"lab name .* is invalid"):
        LabConfig.for_name(name)
