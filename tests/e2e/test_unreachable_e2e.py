"""End to end: an unreachable host fails alone; the others converge; exit code 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from .onhost import remove_stack, sh

pytestmark = pytest.mark.e2e

STACK = "ghostt"

# A host that refuses connections at once: port 1 on this machine's loopback.
INVENTORY = """
from fleetform.lab.inventory import discover

_lab = discover()["web"]
web = [_lab[0], ("ghost", {"ssh_hostname": "127.0.0.1", "ssh_port": 1,
                           "ssh_user": "root", "ssh_connect_retries": 0})]
"""


def test_an_unreachable_host_is_named_and_does_not_stop_the_others(
    fleetform: Any, lab: Any, tmp_path: Path
) -> None:
    inventory = tmp_path / "inv.py"
    inventory.write_text(INVENTORY)
    stack = tmp_path / "ghost.yml"
    stack.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "name": STACK,
                "services": {
                    "app": {
                        "image": "registry.lab:5000/fleetform/busybox:1",
                        "command": ["sleep", "100000"],
                        "stop_grace_period": "1s",
                    }
                },
            }
        )
    )
    first = lab.hosts[0].name
    try:
        result = fleetform("apply", "-i", str(inventory), str(stack), "--yes", "--json")
        assert result.returncode == 1, result.stdout + result.stderr
        doc = json.loads(result.stdout)
        by_host = {h["host"]: h for h in doc["hosts"]}
        assert by_host["ghost"]["ok"] is False
        assert "connect" in by_host["ghost"]["error"]
        assert by_host[first]["ok"] is True
        assert sh(first, f"docker inspect -f '{{{{.State.Status}}}}' {STACK}-app-1") == "running"

        plan = fleetform("plan", "-i", str(inventory), str(stack), "--detailed-exitcode")
        assert plan.returncode == 1
        assert "ghost: ! error: cannot connect" in plan.stdout
        assert f"{first}: no changes" in plan.stdout
    finally:
        remove_stack(first, STACK)
