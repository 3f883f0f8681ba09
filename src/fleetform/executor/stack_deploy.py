"""Converging stacks from plain ``pyinfra`` runs (``deploys/stack.py``, ``deploys/site.py``).

Stacks are assigned to hosts through inventory data::

    # inventory/prod.py
    web = [("web-1", {"fleetform_stacks": ["stacks/demo.yml"]})]

or for every host at once with ``pyinfra --data fleetform_stacks=stacks/demo.yml``.
Each host observes its Docker state in one fact, plans with the same pure
``plan_host`` as ``fleetform apply``, logs the plan, and runs its commands.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

from pyinfra import logger
from pyinfra.api.deploy import deploy
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.facts import FactBase
from pyinfra.api.operation import operation
from pyinfra.context import host

from fleetform.executor.operations import failing_command, plan_commands
from fleetform.model import Stack
from fleetform.observe import observe_command, parse_observed
from fleetform.plan import plan_host
from fleetform.plan.desired import desired_for_host


class DockerObservation(FactBase[Any]):
    """Everything fleetform needs from one host's Docker engine, in one command."""

    def command(self, command: str) -> str:
        return command

    def process(self, output: list[str]) -> Any:
        return parse_observed("\n".join(output))


def stack_files_for_host() -> list[str]:
    """The stack files assigned to the current host (``fleetform_stacks`` data)."""
    value = host.data.get("fleetform_stacks") or []
    if isinstance(value, str):
        value = [v for v in value.split(",") if v]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        # pyinfra's CLI shows a PyinfraError as one line
        raise PyinfraError(
            f"host {host.name}: fleetform_stacks must be a list of stack files or a "
            f"comma-separated string, not {value!r}"
        )
    return list(value)


def load_assigned_stacks(files: list[str]) -> list[Stack]:
    """Load stack files; bad input stops the run with the problems, not a traceback."""
    from fleetform.stackfile import StackFileError, load_stacks

    try:
        return list(load_stacks(files))
    except StackFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"error: {len(exc.problems)} problem(s) in {', '.join(files)}", file=sys.stderr)
        raise SystemExit(1) from None


@operation(is_idempotent=True)
def stack_containers(stacks: list[Stack]) -> Generator[Any, None, None]:
    """Converge this host's containers, networks, volumes and images to ``stacks``.

    Example::

        stack_containers(stacks=load_assigned_stacks(["stacks/demo.yml"]))
    """
    groups = frozenset(host.groups) | {host.name}
    desired = desired_for_host(stacks, host.name, groups)
    observed = host.get_fact(DockerObservation, command=observe_command(desired))
    host_plan = plan_host(desired, observed)
    if host_plan.has_changes or host_plan.errors or host_plan.warnings:
        for line in host_plan.lines():
            logger.info(f"{host.print_prefix}{line}")
    if host_plan.errors:  # fails this host only, with the reason
        yield failing_command("; ".join(host_plan.errors))
        return
    yield from plan_commands(host_plan)


@deploy("fleetform stacks")
def stacks(files: list[str] | None = None) -> None:
    """Converge the stacks assigned to each host (or ``files``)."""
    chosen = files if files is not None else stack_files_for_host()
    loaded = load_assigned_stacks([str(Path(f)) for f in chosen]) if chosen else []
    names = ", ".join(s.name for s in loaded) or "none"
    stack_containers(stacks=loaded, name=f"fleetform containers (stacks: {names})")
