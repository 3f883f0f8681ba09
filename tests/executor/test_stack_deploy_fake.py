"""Plain pyinfra's stack operation on @fake hosts when dockerd is not there yet.

``pyinfra inventory/lab.py deploys/site.py`` without ``-y`` checks for changes
before anything runs, so the stack operation observes a host before the engine
deploy has installed Docker.  It plans against an empty host with a note (no
traceback); when it executes, after the engine deploy, it observes again and
carries out only what that shown plan allowed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from fleetform.stackfile import load_stacks

ROOT = Path(__file__).resolve().parents[1]
RECORDED_DOC = (ROOT / "data" / "inspect" / "observe.json").read_text()
EMPTY_DOC = json.dumps({"fleetform_observe": 1, "server_version": "20.10.24", "containers": []})
NO_ENGINE_DOC = json.dumps(
    {"fleetform_observe": 1, "engine": "missing", "error": "docker is not installed"}
)
OBSERVE = "[ -S /var/run/docker.sock ]"
# fleetform's failing_command (the fake connector reports every command as a success)
FAILS = {re.compile(r"\Aecho 'fleetform: .*' >&2; exit 1\Z", re.S): {"success": False}}

STACK = """\
version: 1
name: fftest
services:
  app:
    image: registry.lab:5000/fleetform/busybox:1
    command: [sleep, "1000"]
"""


def run(tmp_path: Path, before: str, after: str, check_for_changes: bool = True) -> dict[str, Any]:
    """Add the operation (pyinfra checks for changes: ``before``), then execute (``after``)."""
    from pyinfra.api import Config, Inventory, State
    from pyinfra.api.connect import connect_all, disconnect_all
    from pyinfra.api.exceptions import PyinfraError
    from pyinfra.api.operation import add_op
    from pyinfra.api.operations import run_ops

    from fleetform.executor.stack_deploy import stack_containers

    path = tmp_path / "fftest.yml"
    path.write_text(STACK)
    stacks = list(load_stacks([str(path)]))
    data = {"fake_delay": 0, "fake_delay_jitter": 0, "fake_responses": {OBSERVE: before, **FAILS}}
    inventory = Inventory(([("@fake/h", data)], {}))
    state = State(inventory, Config(), check_for_changes=check_for_changes)
    connect_all(state)
    host = inventory.get_host("@fake/h")
    try:
        add_op(state, stack_containers, stacks=stacks)  # raised ObserveError before the fix
        # the engine deploy ran in between: dockerd now answers
        host.connector.data["fake_responses"] = {OBSERVE: after, **FAILS}
        with contextlib.suppress(PyinfraError):  # "No hosts remaining" when it failed
            run_ops(state)
    finally:
        disconnect_all(state)
    executed = [c for c in host.connector.executed_commands if OBSERVE not in c]
    return {"failed": host in state.failed_hosts, "commands": executed}


def test_a_host_without_docker_is_planned_as_empty_with_a_note_then_converged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="pyinfra"):
        result = run(tmp_path, NO_ENGINE_DOC, EMPTY_DOC)
    assert "docker is not installed: containers are planned against an empty host" in caplog.text
    assert "+ create container fftest-app-1" in caplog.text
    assert not result["failed"]
    assert any("docker create" in c for c in result["commands"])


def test_what_the_shown_plan_did_not_allow_fails_the_host_with_the_new_plan(
    tmp_path: Path,
) -> None:
    result = run(tmp_path, NO_ENGINE_DOC, RECORDED_DOC)  # containers appear: removals
    assert result["failed"]
    (refusal,) = result["commands"]
    assert "actions that were not shown (remove)" in refusal
    assert "- remove container fftest-web-1" in refusal


def test_docker_still_missing_when_executing_fails_the_host_in_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, NO_ENGINE_DOC, NO_ENGINE_DOC)
    assert result["failed"]
    assert result["commands"] == [
        "echo 'fleetform: cannot observe the host: docker is not installed' >&2; exit 1"
    ]


def test_with_yes_the_host_is_observed_once_when_executing(tmp_path: Path) -> None:
    result = run(tmp_path, NO_ENGINE_DOC, RECORDED_DOC, check_for_changes=False)
    assert not result["failed"]  # nothing shown, nothing to stay within: as pyinfra -y
    assert any("docker rm" in c for c in result["commands"])


def test_a_stack_mounting_secrets_reads_the_hosts_key_and_uploads_the_files(
    tmp_path: Path,
) -> None:
    from pyinfra.api import Config, Inventory, State
    from pyinfra.api.connect import connect_all, disconnect_all
    from pyinfra.api.operation import add_op
    from pyinfra.api.operations import run_ops

    from fleetform.executor.stack_deploy import stack_containers

    (tmp_path / "pw.txt").write_text("hunter2-fake")
    path = tmp_path / "fftest.yml"
    path.write_text(
        STACK + "    secrets: [db]\nsecrets:\n  db: {file: ./pw.txt}\n", encoding="utf-8"
    )
    stacks = list(load_stacks([str(path)]))
    responses = {OBSERVE: EMPTY_DOC, "/var/lib/fleetform/revisions/.digest-key": "ab" * 32}
    data = {"fake_delay": 0, "fake_delay_jitter": 0, "fake_responses": {**responses, **FAILS}}
    inventory = Inventory(([("@fake/h", data)], {}))
    state = State(inventory, Config(), check_for_changes=False)
    connect_all(state)
    host = inventory.get_host("@fake/h")
    try:
        add_op(state, stack_containers, stacks=stacks)
        run_ops(state)
    finally:
        disconnect_all(state)
    assert host not in state.failed_hosts
    [create] = [c for c in host.connector.executed_commands if "docker create" in c]
    assert "type=bind,source=/run/fleetform/secrets/fftest-app-1/" in create
    assert "target=/run/secrets/db,readonly" in create
    assert not any("hunter2-fake" in c for c in host.connector.executed_commands)
