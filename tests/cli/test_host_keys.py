"""plan and apply check SSH host keys strictly unless told otherwise (never "off")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fleetform.cli import main
from fleetform.commands import converge
from fleetform.inventory import check_host_keys, load_inventory

INVENTORY = """
web = [
    "plain",
    ("stricter", {"ssh_strict_host_key_checking": "yes"}),
    ("trusting", {"ssh_strict_host_key_checking": "accept-new"}),
]
db = (["grouped"], {"ssh_strict_host_key_checking": "accept-new"})
"""


@pytest.fixture
def inventory(tmp_path: Path) -> str:
    path = tmp_path / "inv.py"
    path.write_text(INVENTORY)
    return str(path)


def policies(hosts: list[Any]) -> dict[str, str]:
    return {h.name: h.data.get("ssh_strict_host_key_checking") for h in hosts}


def test_hosts_without_a_setting_refuse_unknown_keys_and_the_inventory_s_own_is_kept(
    inventory: str,
) -> None:
    loaded = load_inventory(inventory)
    check_host_keys(loaded.hosts)
    assert policies(loaded.hosts) == {
        "plain": "yes",
        "stricter": "yes",
        "trusting": "accept-new",
        "grouped": "accept-new",
    }


def test_accepting_new_host_keys_is_an_explicit_choice(inventory: str) -> None:
    loaded = load_inventory(inventory)
    check_host_keys(loaded.hosts, accept_new=True)
    assert policies(loaded.hosts)["plain"] == "accept-new"
    assert policies(loaded.hosts)["stricter"] == "yes"


def test_the_ssh_connector_is_created_with_the_strict_setting(inventory: str) -> None:
    """pyinfra builds each connector's settings when the State is initialised."""
    from pyinfra.api import Config

    loaded = load_inventory(inventory, ["plain"])
    check_host_keys(loaded.hosts)
    loaded.state.init(loaded.inventory, Config(), initial_limit=loaded.hosts)
    (host,) = loaded.hosts
    assert host.connector.data["ssh_strict_host_key_checking"] == "yes"


@pytest.mark.parametrize(
    ("extra", "expected"), [([], "yes"), (["--accept-new-host-keys"], "accept-new")]
)
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_plan_and_apply_set_the_policy_before_connecting(
    monkeypatch: pytest.MonkeyPatch,
    inventory: str,
    tmp_path: Path,
    command: str,
    extra: list[str],
    expected: str,
) -> None:
    stack = tmp_path / "s.yml"
    stack.write_text("version: 1\nname: s\nservices:\n  a:\n    image: busybox:1\n")
    seen: dict[str, str] = {}

    def observe(inputs: Any, out: Any, lock: Any = None) -> Any:
        seen.update(policies(inputs.loaded.hosts))
        raise SystemExit(0)

    monkeypatch.setattr(converge, "_observe", observe)
    yes = ["--yes"] if command == "apply" else []
    with pytest.raises(SystemExit):
        main([command, "-i", inventory, str(stack), "--limit", "plain", *yes, *extra])
    assert seen == {"plain": expected}
