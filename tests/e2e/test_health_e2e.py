"""End to end: apply waits for health; an unhealthy container fails the host with its output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from .onhost import remove_stack

pytestmark = pytest.mark.e2e

STACK = "healtht"


def stack(tag: str) -> dict[str, Any]:
    return {
        "version": 1,
        "name": STACK,
        "services": {
            "web": {
                "image": f"registry.lab:5000/fleetform/demo:{tag}",
                "healthcheck": {
                    "test": "wget -q -O- http://127.0.0.1:8080/healthz",
                    "interval": "1s",
                    "timeout": "1s",
                    "retries": 2,
                },
            }
        },
    }


def test_an_unhealthy_container_fails_the_step_and_shows_its_health_output(
    fleetform: Any, lab: Any, tmp_path: Path
) -> None:
    host = lab.hosts[0].name
    path = tmp_path / "health.yml"
    try:
        path.write_text(yaml.safe_dump(stack("broken")))
        result = fleetform("apply", "-i", "inventory/lab.py", str(path), "--yes", "--limit", host)
        assert result.returncode == 1, result.stdout + result.stderr
        assert f"container {STACK}-web-1 is not healthy" in result.stdout
        assert "404 Not Found" in result.stdout  # the probe's own last output

        # The unhealthy container is drift, not "no changes": a second apply
        # recreates it and fails the same way.
        plan = fleetform("plan", "-i", "inventory/lab.py", str(path), "--limit", host)
        assert "health: unhealthy -> healthy" in plan.stdout

        path.write_text(yaml.safe_dump(stack("1")))
        fixed = fleetform("apply", "-i", "inventory/lab.py", str(path), "--yes", "--limit", host)
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    finally:
        remove_stack(host, STACK)
