"""A stack without `hosts` runs on every targeted host, and plan and apply say so."""

from __future__ import annotations

from pathlib import Path

from fleetform.commands.converge import placement_notes
from fleetform.model import Stack


def test_a_stack_without_hosts_is_said_to_run_on_every_targeted_host() -> None:
    stacks = [Stack("shop", Path("compose.yaml")), Stack("db", Path("db.yml"), hosts=("db",))]
    assert placement_notes(stacks, ["a", "b"]) == [
        "Note: stack `shop` (compose.yaml) names no `hosts`: it runs on every targeted "
        "host (2: a, b)."
    ]
