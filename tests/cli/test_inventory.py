"""Loading pyinfra inventories and narrowing them with --limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetform.inventory import InventoryError, load_inventory, split_limits

INVENTORY = """
web = ["h1", "h2"]
db = ["h3"]
"""


@pytest.fixture
def inventory_file(tmp_path: Path) -> str:
    path = tmp_path / "inv.py"
    path.write_text(INVENTORY)
    return str(path)


def test_groups_come_from_the_inventory_file(inventory_file: str) -> None:
    loaded = load_inventory(inventory_file)
    assert [t.name for t in loaded.targets] == ["h1", "h2", "h3"]
    assert "web" in loaded.target("h1").groups
    assert "db" in loaded.target("h3").groups


def test_limit_takes_hosts_and_groups(inventory_file: str) -> None:
    loaded = load_inventory(inventory_file, ["db,h1"])
    assert [t.name for t in loaded.targets] == ["h1", "h3"]


def test_an_unknown_limit_is_an_error_naming_it(inventory_file: str) -> None:
    with pytest.raises(InventoryError, match="--limit nope: no such host or group"):
        load_inventory(inventory_file, ["nope"])


def test_a_missing_inventory_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="inventory file not found"):
        load_inventory(str(tmp_path / "missing.py"))


def test_split_limits_accepts_repeats_and_commas() -> None:
    assert split_limits(["a,b", " c ", ""]) == ["a", "b", "c"]
