"""End to end: apply without a terminal and without --yes changes nothing on the lab."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from .onhost import lab_host, remove_stack, sh

pytestmark = pytest.mark.e2e

STACK = "noyes"


def test_apply_without_a_tty_and_without_yes_refuses_and_changes_nothing(
    fleetform: Any, lab: Any, tmp_path: Path
) -> None:
    host = lab_host(1)
    remove_stack(host, STACK)
    # On a fresh lab the engine is not installed yet: then apply must not install it either.
    engine = sh(host, "command -v docker || true")
    stack = tmp_path / "noyes.yml"
    stack.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "name": STACK,
                "services": {
                    "app": {
                        "image": "registry.lab:5000/fleetform/busybox:1",
                        "command": ["sleep", "3600"],
                    }
                },
            }
        )
    )
    try:
        # The fixture runs the CLI with stdin from /dev/null: no terminal to ask on.
        plan = fleetform("plan", "-i", "inventory/lab.py", str(stack), "--limit", host)
        assert plan.returncode == 0 and f"+ create container {STACK}-app-1" in plan.stdout
        for extra in ([], ["--json"]):
            result = fleetform(
                "apply", "-i", "inventory/lab.py", str(stack), "--limit", host, *extra
            )
            assert result.returncode == 1, result.stdout + result.stderr
            assert "--yes" in result.stderr and "nothing was changed" in result.stderr
            assert "Traceback" not in result.stdout + result.stderr
            assert sh(host, "command -v docker || true") == engine
            if engine:
                names = sh(host, f"docker ps -a --filter label=fleetform.stack={STACK} -q")
                assert names == "", f"apply without approval created {names}"
    finally:
        remove_stack(host, STACK)
