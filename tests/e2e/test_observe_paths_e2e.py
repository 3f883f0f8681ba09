"""End to end: the Docker API path and the docker CLI path of observation agree."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from fleetform.observe import cli_observe_command, observe_command, parse_observed
from fleetform.observe.api import api_command
from fleetform.plan.desired import desired_for_host
from fleetform.stackfile import load_stacks

pytestmark = pytest.mark.e2e


def run(host: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "exec", host, "sh", "-c", command], capture_output=True, text=True, timeout=60
    )


def test_both_observation_paths_see_the_same_host(fleetform: Any, lab: Any) -> None:
    host = lab.hosts[-1].name
    applied = fleetform("apply", "-i", "inventory/lab.py", "stacks/demo.yml", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    stacks = load_stacks(["stacks/demo.yml"])
    desired = desired_for_host(stacks, host, frozenset({"web", "db", host}))

    api = run(host, api_command([image.ref for image in desired.images]))
    assert api.returncode == 0, api.stderr  # the fast path really ran
    assert json.loads(api.stdout)["containers"], "the demo's containers are managed"

    fast = parse_observed(run(host, observe_command(desired)).stdout)
    slow = parse_observed(run(host, cli_observe_command(desired)).stdout)
    assert fast == slow
    assert {c.name for c in fast.containers} >= {"demo-web-1", "demo-store-1"}


def test_without_python3_the_cli_path_answers(lab: Any) -> None:
    host = lab.hosts[0].name
    desired = desired_for_host(load_stacks(["stacks/demo.yml"]), host, frozenset({"web", host}))
    # A PATH holding only what the CLI script needs: the guard
    # `command -v python3` fails and the docker CLI path answers instead.
    tools = "/tmp/fleetform-onlydocker"
    proc = run(
        host,
        f"mkdir -p {tools} && ln -sf /usr/bin/docker /usr/bin/sort {tools}/ && "
        f"PATH={tools}; export PATH; {observe_command(desired)}",
    )
    assert proc.returncode == 0, proc.stderr
    observed = parse_observed(proc.stdout)
    assert observed.container("demo-web-1") is not None
    run(host, f"rm -rf {tools}")
