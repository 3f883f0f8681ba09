"""Pull mode with plain ``-i @local``: ``--host-name`` / ``FLEETFORM_HOST_NAME`` gives the
host its name in the fleet's inventory, so stacks naming it select it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from fleetform.cli import build_parser
from fleetform.commands.common import Output
from fleetform.commands.converge import start_inputs, unnamed_local_notes
from fleetform.inventory import HOST_NAME_ENV, InventoryError, load_inventory
from fleetform.plan.desired import desired_for_host

STACK = """\
version: 1
name: {name}
hosts: [{hosts}]
services:
  web:
    image: registry.lab:5000/fleetform/busybox:1
    command: [sleep, "1000"]
"""


def _inputs(tmp_path: Path, *files: tuple[str, str]) -> argparse.Namespace:
    paths = []
    for name, hosts in files:
        path = tmp_path / f"{name}.yml"
        path.write_text(STACK.format(name=name, hosts=hosts))
        paths.append(str(path))
    return build_parser().parse_args(["plan", "-i", "@local", *paths])


def _planned(ns: argparse.Namespace) -> list[str]:
    inputs = start_inputs(ns, Output(json_mode=True))
    assert inputs is not None
    (target,) = inputs.loaded.targets
    desired = desired_for_host(inputs.stacks, target.name, target.groups | {target.name})
    return sorted({c.name for c in desired.containers})


def test_a_named_local_host_runs_the_stacks_naming_it_and_only_those(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOST_NAME_ENV, "web-3")
    ns = _inputs(tmp_path, ("mine", "web-3"), ("theirs", "web-4"))
    assert _planned(ns) == ["mine-web-1"]


def test_an_unnamed_local_host_runs_no_stack_naming_hosts_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(HOST_NAME_ENV, raising=False)
    ns = _inputs(tmp_path, ("mine", "web-3"))
    assert _planned(ns) == []
    inputs = start_inputs(ns, Output(json_mode=True))
    assert inputs is not None
    (note,) = unnamed_local_notes(inputs.stacks, inputs.loaded.targets)
    assert "stack `mine`" in note and "--host-name" in note
    monkeypatch.setenv(HOST_NAME_ENV, "web-3")
    named = start_inputs(ns, Output(json_mode=True))
    assert named is not None
    assert unnamed_local_notes(named.stacks, named.loaded.targets) == []


def test_limit_takes_the_name_and_other_inventories_ignore_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(HOST_NAME_ENV, "web-3")
    assert [t.name for t in load_inventory("@local", ["web-3"]).targets] == ["@local"]
    (target,) = load_inventory("@fake/h1").targets
    assert "web-3" not in target.groups


def test_a_bad_name_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOST_NAME_ENV, "web 3; rm")
    with pytest.raises(InventoryError, match="--host-name / FLEETFORM_HOST_NAME: 'web 3; rm'"):
        load_inventory("@local")


def test_the_option_sets_the_name_for_every_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """--host-name reaches every inventory load of the run (a reconcile's plan, apply,
    verify) through the environment."""
    from fleetform import cli
    from fleetform.commands import converge

    monkeypatch.delenv(HOST_NAME_ENV, raising=False)  # restored after the test
    seen = []

    def run_plan(args: argparse.Namespace) -> int:
        seen.append(os.environ.get(HOST_NAME_ENV))
        return 0

    monkeypatch.setattr(converge, "run_plan", run_plan)
    assert cli.main(["plan", "-i", "@local", "--host-name", "web-3"]) == 0
    assert seen == ["web-3"]
