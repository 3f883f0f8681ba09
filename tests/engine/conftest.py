"""Helpers for engine tests: recorded fact output and a whole deploy on @fake hosts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fleetform.engine.settings import EngineSettings
from fleetform.engine.state import FACT_SCRIPT, EngineState, parse_engine_state

if TYPE_CHECKING:
    from pyinfra.api import State

DATA = Path(__file__).parent / "data"
#: how the engine fact's command starts (the fake connector matches on it)
FACT_START = FACT_SCRIPT.splitlines()[0]


def recorded(name: str) -> str:
    return (DATA / f"{name}.txt").read_text()


def observed(name: str) -> EngineState:
    return parse_engine_state(recorded(name))


@dataclass
class FakeRun:
    commands: list[str]  # commands run, fact gatherings left out
    changed: list[str]  # names of operations that changed something
    op_names: list[str]  # every operation, in order
    gatherings: int  # how many times the engine fact ran
    failed: bool = False
    stderr: str = ""  # of the operations that failed


def run_engine(
    names_data: list[tuple[str, dict[str, Any]]],
    settings_by_host: dict[str, EngineSettings],
    skip: tuple[str, ...] = (),
    check_for_changes: bool = True,
    allow_failures: bool = False,
    observed: dict[str, EngineState] | None = None,
) -> State:
    """Run docker_engine_by_host through pyinfra's API, as ``fleetform apply`` does
    (which has ``check_for_changes=False``)."""
    from pyinfra.api import Config, Inventory, State
    from pyinfra.api.connect import connect_all, disconnect_all
    from pyinfra.api.deploy import add_deploy
    from pyinfra.api.exceptions import PyinfraError
    from pyinfra.api.operations import run_ops

    from fleetform.engine.deploy import docker_engine_by_host

    inventory = Inventory((names_data, {}))
    state = State(inventory, Config(), check_for_changes=check_for_changes)
    connect_all(state)
    try:
        add_deploy(state, docker_engine_by_host, settings_by_host, skip=skip, observed=observed)
        try:
            run_ops(state)
        except PyinfraError:  # "No hosts remaining!"
            if not allow_failures:
                raise
    finally:
        disconnect_all(state)
    if not allow_failures:
        assert not state.failed_hosts, f"engine deploy failed on {state.failed_hosts}"
    return state


def op_results(state: State, host_name: str) -> list[tuple[str, Any]]:
    """(operation name without the deploy prefix, OperationMeta) in order."""
    host = state.inventory.get_host(host_name)
    return [
        (next(iter(state.op_meta[h].names)).split(" | ")[-1], state.ops[host][h].operation_meta)
        for h in state.get_op_order()
    ]


def changed_ops(state: State, host_name: str) -> list[str]:
    return [name for name, meta in op_results(state, host_name) if meta.did_change()]


def run_fake(
    hosts: dict[str, tuple[str, EngineSettings | None, dict]],
    skip: tuple[str, ...] = (),
    check_for_changes: bool = True,
    allow_failures: bool = False,
    observed: dict[str, EngineState] | None = None,
) -> dict[str, FakeRun]:
    """Run the deploy on @fake hosts: name -> (recorded fact, settings, host data);
    hosts named in ``skip`` get no engine change; ``observed``: host -> the engine
    state observed for the plan (as ``fleetform apply`` passes it)."""
    names = [
        (
            f"@fake/{name}",
            {
                "fake_delay": 0,
                "fake_delay_jitter": 0,
                **data,
                # the engine fact first: the fake connector takes the first match
                "fake_responses": {FACT_START: recorded(fact), **data.get("fake_responses", {})},
            },
        )
        for name, (fact, _, data) in hosts.items()
    ]
    settings = {f"@fake/{n}": s for n, (_, s, _) in hosts.items() if s is not None}
    state = run_engine(
        names,
        settings,
        tuple(f"@fake/{n}" for n in skip),
        check_for_changes,
        allow_failures,
        {f"@fake/{n}": e for n, e in (observed or {}).items()},
    )
    runs = {}
    for name in hosts:
        host = state.inventory.get_host(f"@fake/{name}")
        executed = host.connector.executed_commands
        ops = op_results(state, f"@fake/{name}")
        runs[name] = FakeRun(
            commands=[c for c in executed if not c.startswith(FACT_START)],
            changed=[
                f"Docker engine | {n}"
                for n, meta in ops
                if meta.is_complete() and meta.did_change()
            ],
            op_names=[f"Docker engine | {n}" for n, _ in ops],
            gatherings=sum(1 for c in executed if c.startswith(FACT_START)),
            failed=host in state.failed_hosts,
            stderr="".join(m.stderr for _, m in ops if m.is_complete() and not m.did_succeed()),
        )
    return runs


@pytest.fixture
def fake_engine_run():
    return run_fake
