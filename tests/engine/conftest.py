"""Helpers for engine tests: recorded fact output and a whole deploy on @fake hosts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from fleetform.engine.settings import EngineSettings
from fleetform.engine.state import EngineState, parse_engine_state

DATA = Path(__file__).parent / "data"


def recorded(name: str) -> str:
    return (DATA / f"{name}.txt").read_text()


def observed(name: str) -> EngineState:
    return parse_engine_state(recorded(name).splitlines())


@dataclass
class FakeRun:
    commands: list[str]  # commands run, fact gatherings left out
    changed: list[str]  # names of operations that changed something
    op_names: list[str]  # every operation, in order
    gatherings: int  # how many times the engine fact ran


def run_fake(hosts: dict[str, tuple[str, EngineSettings | None, dict]]) -> dict[str, FakeRun]:
    """Run docker_engine_by_host on @fake hosts: name -> (recorded fact, settings, data)."""
    from pyinfra.api import Config, Inventory, State
    from pyinfra.api.connect import connect_all
    from pyinfra.api.deploy import add_deploy
    from pyinfra.api.operations import run_ops

    from fleetform.engine.deploy import docker_engine_by_host

    names = [
        (f"@fake/{name}", {"fake_responses": {"echo @os": recorded(fact)}, **data})
        for name, (fact, _, data) in hosts.items()
    ]
    inventory = Inventory((names, {"fake_delay": 0, "fake_delay_jitter": 0}))
    state = State(inventory, Config())
    connect_all(state)
    settings = {f"@fake/{n}": s for n, (_, s, _) in hosts.items() if s is not None}
    add_deploy(state, docker_engine_by_host, settings)
    run_ops(state)
    runs = {}
    for name in hosts:
        host = inventory.get_host(f"@fake/{name}")
        executed = host.connector.executed_commands
        ops = [
            (state.op_meta[h].names, state.ops[host][h].operation_meta)
            for h in state.get_op_order()
        ]
        runs[name] = FakeRun(
            commands=[c for c in executed if not c.startswith("echo @os")],
            changed=[next(iter(n)) for n, meta in ops if meta.did_change()],
            op_names=[next(iter(n)) for n, _ in ops],
            gatherings=sum(1 for c in executed if c.startswith("echo @os")),
        )
    return runs


@pytest.fixture
def fake_engine_run():
    return run_fake
