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
from dataclasses import replace
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from pyinfra import logger
from pyinfra.api.deploy import deploy
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.facts import FactBase
from pyinfra.api.operation import operation
from pyinfra.api.state import State
from pyinfra.context import host

from fleetform.executor.observation import SECRET_FILES_SCRIPT, mounts_secrets
from fleetform.executor.operations import plan_commands, unapproved_replan
from fleetform.model import Stack
from fleetform.observe import EngineUnavailable, ObserveError, observe_command, parse_observed
from fleetform.opfailure import failing_command
from fleetform.plan import HostPlan, plan_host
from fleetform.plan.desired import HostDesired, desired_for_host, project_paths
from fleetform.plan.observed import Observed
from fleetform.plan.projectfiles import observe_script, parse_observed_paths
from fleetform.revisions.host import digest_key_script, parse_digest_key


class DockerObservation(FactBase[str]):
    """Everything fleetform needs from one host's Docker engine, in one command.

    The raw document: parsing it may fail (no engine yet), and a fact that
    raises stops pyinfra with a traceback, so the operation parses it.
    """

    def command(self, command: str) -> str:
        return command

    def process(self, output: list[str]) -> str:
        return "\n".join(output)


# Plans made against an empty host while pyinfra checked for changes (dockerd
# missing then): what the user was shown, so that the plan made when the
# operation executes, after the engine deploy, stays within it.
_shown: WeakKeyDictionary[State, dict[str, HostPlan]] = WeakKeyDictionary()


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
    proxied = sorted({c.service.name for c in desired.containers if c.service.proxy})
    if proxied:
        # Refused rather than served without its proxy: only `fleetform apply`
        # drives HAProxy (fleetform.executor.proxy).
        yield failing_command(
            f"services with `proxy` ({', '.join(proxied)}) are applied by `fleetform apply` "
            "only: this deploy does not configure the host's proxy"
        )
        return
    raw = host.get_fact(DockerObservation, command=observe_command(desired))
    state = host.state
    try:
        observed = parse_observed(raw)
    except EngineUnavailable as exc:
        if state.is_executing:
            yield failing_command(f"cannot observe the host: {exc}")
            return
        # Checking for changes before the engine deploy has run (pyinfra
        # without -y): plan as fleetform plan does, against an empty host.
        logger.info(f"{host.print_prefix}{exc}: containers are planned against an empty host")
        observed = Observed()
        _shown.setdefault(state, {})[host.name] = plan_host(desired, observed)
    except ObserveError as exc:
        yield failing_command(f"cannot observe the host: {exc}")
        return
    observed = _with_project_facts(desired, _with_secret_facts(desired, observed))
    host_plan = plan_host(desired, observed)
    if host_plan.has_changes or host_plan.errors or host_plan.warnings:
        for line in host_plan.lines():
            logger.info(f"{host.print_prefix}{line}")
    shown = _shown.get(state, {}).pop(host.name, None) if state.is_executing else None
    if shown is not None and (refusal := unapproved_replan(shown, host_plan)) is not None:
        yield failing_command(refusal)
        return
    if host_plan.errors:  # fails this host only, with the reason
        yield failing_command("; ".join(host_plan.errors))
        return
    yield from plan_commands(host_plan)


def _with_secret_facts(desired: HostDesired, observed: Observed) -> Observed:
    """``observed`` with the host's digest key and secret files, when a stack mounts secrets."""
    if not mounts_secrets(desired):
        return observed
    key = host.get_fact(DockerObservation, command=digest_key_script(create=True))
    files = host.get_fact(DockerObservation, command=SECRET_FILES_SCRIPT)
    return replace(
        observed,
        digest_key=parse_digest_key(key or ""),
        secret_files=None if files is None else frozenset(files.splitlines()),
    )


def _with_project_facts(desired: HostDesired, observed: Observed) -> Observed:
    """``observed`` with the uploaded project files and data folders the host has."""
    paths = project_paths(desired)
    if not paths:
        return observed
    found = host.get_fact(DockerObservation, command=observe_script(paths))
    return replace(observed, project_paths=None if found is None else parse_observed_paths(found))


@deploy("fleetform stacks")
def stacks(files: list[str] | None = None) -> None:
    """Converge the stacks assigned to each host (or ``files``)."""
    chosen = files if files is not None else stack_files_for_host()
    loaded = load_assigned_stacks([str(Path(f)) for f in chosen]) if chosen else []
    names = ", ".join(s.name for s in loaded) or "none"
    stack_containers(stacks=loaded, name=f"fleetform containers (stacks: {names})")
