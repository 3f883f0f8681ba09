"""A failed manual rollback goes back in the batches it came in (not all at once)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fleetform.executor.rollback import run_rollback
from fleetform.executor.rollout import _FAILED, _OK
from fleetform.executor.session import CommandResult
from fleetform.model import RolloutConfig
from fleetform.revisions.document import Provenance
from fleetform.revisions.rollback import RollbackPlan, StackRollback, Swap
from fleetform.runlog.run import new_run


@dataclass
class _Host:
    name: str
    connected: bool = True


class _Session:
    """Swaps pass everywhere but on ``failing``; records each round of swaps."""

    def __init__(self, hosts: list[str], failing: str) -> None:
        self.loaded = type("Loaded", (), {"hosts": [_Host(h) for h in hosts]})()
        self.failing = failing
        self.rounds: list[list[str]] = []

    def run_everywhere(self, command_for: Any, hosts: list[Any]) -> dict[str, CommandResult]:
        out = {}
        swaps = []
        for h in hosts:
            command = command_for(h)
            if _OK not in command:  # an audit line, not a swap
                out[h.name] = CommandResult(True, "", "")
                continue
            swaps.append(h.name)
            mark = _FAILED if h.name == self.failing else _OK
            out[h.name] = CommandResult(True, f"{mark} web-1\n", "unhealthy")
        if swaps:
            self.rounds.append(swaps)
        return out


def _plan(hosts: list[str]) -> RollbackPlan:
    config = RolloutConfig(parallelism=1)
    stacks = tuple(
        StackRollback(
            host=h,
            stack="demo",
            from_revision=2,
            to_revision=1,
            swaps=(Swap(h, "demo", "web", 1, "web-1", "h2", "h1", config),),
            notes=(),
            target={},
            next_number=3,
        )
        for h in hosts
    )
    return RollbackPlan(stacks)


def test_a_failed_batch_reverts_the_passed_ones_batch_by_batch() -> None:
    hosts = ["a", "b", "c"]
    session = _Session(hosts, failing="c")
    provenance = Provenance("ops@ctl", "0", "s")
    result = run_rollback(session, _plan(hosts), run=new_run(), provenance=provenance)  # type: ignore[arg-type]
    assert result.outcome == "reverted"
    # there: a, b, c (failed); back: a, then b, one per batch as rollback_config says
    assert session.rounds == [["a"], ["b"], ["c"], ["a"], ["b"]]
    assert sorted(s.host for s, state in result.states.items() if state == "reverted") == ["a", "b"]


def test_a_unit_whose_old_container_is_gone_drops_an_earlier_kept_one_first() -> None:
    # Else a rollback of this run would start that older revision's container.
    from plan.planbuilders import stack, svc, want

    from fleetform.executor.rollout_steps import gone_then_create, rollout_recreate_command
    from fleetform.plan.actions import Action

    (c,) = want([stack(svc("web"))]).containers
    action = Action("h1", "recreate", c.name, "env", "field_changed", container=c)
    command = rollout_recreate_command(action, 1.0, "/run/env")
    gone = gone_then_create(c, "/run/env")
    assert f'*"No such object"*) {gone} ;;' in command  # the old one's gone branch
    assert gone.index("docker rm --force demo-web-1.fleetform-old") < gone.index("docker create")
