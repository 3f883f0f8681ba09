"""End to end: plan refuses a lab host whose key is not in known_hosts, unless asked to trust it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

# The first lab host, with its settings but an empty known_hosts file and no
# host key setting of its own: fleetform's default decides.
INVENTORY = """
from fleetform.lab.inventory import discover

_name, _data = discover()["web"][0]
_data = {{k: v for k, v in _data.items() if k != "ssh_strict_host_key_checking"}}
web = [(_name, {{**_data, "ssh_known_hosts_file": {known!r}}})]
"""


def test_an_unknown_host_key_is_refused_unless_new_keys_are_accepted(
    fleetform: Any, lab: Any, tmp_path: Path
) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    inventory = tmp_path / "inv.py"
    inventory.write_text(INVENTORY.format(known=str(known)))
    stack = tmp_path / "ckeys.yml"
    stack.write_text("version: 1\nname: ckeys\n")
    first = lab.hosts[0].name

    refused = fleetform("plan", "-i", str(inventory), str(stack))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"{first}: ! error: cannot connect" in refused.stdout
    assert "No host key" in refused.stdout and "--accept-new-host-keys" in refused.stdout
    assert known.read_text() == ""  # nothing trusted behind the user's back

    trusted = fleetform("plan", "-i", str(inventory), str(stack), "--accept-new-host-keys")
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    assert known.read_text().strip(), "the new key was not recorded"

    again = fleetform("plan", "-i", str(inventory), str(stack))  # strict, key now known
    assert again.returncode == 0, again.stdout + again.stderr
