"""End to end: two stack files with one stack name never remove each other's containers.

Team A's ``a/web.yml`` and team B's ``b/web.yml`` both declare stack ``e-own``
with different services.  Applying B alone used to remove A's containers as
orphans of stack ``e-own``; now every object carries the stack file's identity
(``fleetform.stack-file``), B's plan leaves A's containers alone and warns.
The two files sit in a temporary folder outside any git work tree, so their
identities are their absolute paths.

Everything made here is labelled ``fleetform.stack=e-own``, and only that is
removed, before and after.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .onhost import remove_stack, sh

pytestmark = pytest.mark.e2e

STACK = "e-own"
BUSYBOX = "registry.lab:5000/fleetform/busybox:1"


def service() -> dict[str, Any]:
    return {"image": BUSYBOX, "command": ["sleep", "100000"], "stop_grace_period": "1s"}


def write_stack(folder: Path, name: str, services: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "web.yml"
    doc = {"version": 1, "name": name, "services": {s: service() for s in services}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def status(host: str, name: str) -> str:
    return sh(host, f"docker inspect -f '{{{{.State.Status}}}}' {name} 2>/dev/null || echo gone")


@pytest.fixture(scope="module")
def host(lab: Any) -> Iterator[str]:
    name = [h.name for h in lab.hosts][-1]
    remove_stack(name, STACK, ":")  # an interrupted run may have left ours behind
    yield name
    remove_stack(name, STACK, ":")


def test_a_same_name_stack_from_another_file_never_removes_the_first_ones_containers(
    fleetform: Any, tmp_path: Path, host: str
) -> None:
    team_a = write_stack(tmp_path / "a", STACK, ["app", "worker"])
    team_b = write_stack(tmp_path / "b", STACK, ["api"])
    a_args = ("-i", "inventory/lab.py", str(team_a), "--limit", host)
    b_args = ("-i", "inventory/lab.py", str(team_b), "--limit", host)

    applied = fleetform("apply", *a_args, "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    label = '{{index .Config.Labels "fleetform.stack-file"}}'
    assert sh(host, f"docker inspect -f '{label}' {STACK}-app-1") == os.path.realpath(team_a)

    plan = fleetform("plan", *b_args)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "- remove" not in plan.stdout
    assert (
        f"warning: stack {STACK} is also applied from another stack file, "
        f"{os.path.realpath(team_a)}; its containers here ({STACK}-app-1, {STACK}-worker-1) "
        "are left alone" in plan.stdout
    ), plan.stdout

    applied = fleetform("apply", *b_args, "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert status(host, f"{STACK}-api-1") == "running"
    # Team A's containers are still there, untouched.
    assert status(host, f"{STACK}-app-1") == "running"
    assert status(host, f"{STACK}-worker-1") == "running"

    # Team A applying again removes nothing of team B's either.
    again = fleetform("plan", *a_args, "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes" in again.stdout and f"{STACK}-api-1" in again.stdout


def test_a_renamed_stack_reports_the_containers_it_left_behind(
    fleetform: Any, tmp_path: Path, host: str
) -> None:
    path = write_stack(tmp_path / "r", STACK, ["old"])
    args = ("-i", "inventory/lab.py", str(path), "--limit", host)
    applied = fleetform("apply", *args, "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr

    write_stack(tmp_path / "r", f"{STACK}-renamed", ["old"])
    plan = fleetform("plan", *args)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert (
        f"warning: containers {STACK}-old-1 were made by {os.path.realpath(path)} as stack "
        f"{STACK}, which it no longer declares (it declares {STACK}-renamed)" in plan.stdout
    ), plan.stdout
    assert status(host, f"{STACK}-old-1") == "running"
