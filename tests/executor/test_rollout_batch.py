"""A batch whose host gives no word (connection lost mid-command) fails with a reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plan.planbuilders import stack, svc, want

from fleetform.executor.rollout import _run_batch
from fleetform.executor.session import CommandResult
from fleetform.plan.actions import Action, HostPlan
from fleetform.plan.rollout import rollout_plan


@dataclass
class _Host:
    name: str
    connected: bool = True


class _LostSession:
    """Every command ends without output: what pyinfra returns when the SSH
    connection drops while the command runs."""

    def __init__(self, hosts: list[str]) -> None:
        self.loaded = type("Loaded", (), {"hosts": [_Host(h) for h in hosts]})()

    def run_everywhere(self, command_for: Any, hosts: list[Any]) -> dict[str, CommandResult]:
        return {h.name: CommandResult(False, "", "") for h in hosts}


def test_a_unit_without_word_from_its_host_fails_saying_the_connection_was_lost() -> None:
    (c,) = want([stack(svc("web"))], "h1").containers
    action = Action("h1", "recreate", c.name, "env changed", "env_changed", container=c)
    rollout = rollout_plan({"h1": HostPlan("h1", (action,))})
    (batch,) = rollout.services[0].batches
    outcomes = _run_batch(_LostSession(["h1"]), batch, 1.0, "/tmp/env")  # type: ignore[arg-type]
    (error,) = outcomes.values()
    # The prefix marks "unknown state" for the rollback; the rest says why.
    assert error is not None and error.startswith("no result from the host: ")
    assert "connection" in error and not error.endswith(":")
