"""pyinfra operations for the Docker engine: thin wrappers around the pure
step builders in ``fleetform.engine.steps``.

Every operation reads the one engine fact and yields at most one command (its
steps joined with ``&&``), so the sequence of operations is the same on every
host and per-host differences live inside the operations.

Example (inside a deploy)::

    engine_packages(settings=settings, name="Docker engine packages")
    engine_service(settings=settings, running=True, name="dockerd running")
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import Any
from weakref import WeakKeyDictionary

from pyinfra.api.command import StringCommand
from pyinfra.api.exceptions import OperationError
from pyinfra.api.host import Host
from pyinfra.api.operation import operation
from pyinfra.api.state import State
from pyinfra.context import ctx_host, ctx_state

from fleetform.engine import steps as engine_steps
from fleetform.engine.facts import EngineFact
from fleetform.engine.settings import EngineSettings, EngineSettingsError
from fleetform.engine.state import EngineState
from fleetform.opfailure import failing_command

# pyinfra 3 does not cache facts: each operation would gather again, at
# planning and at execution.  The host does not change while pyinfra plans, so
# one gathering serves every operation then; while executing, a gathering
# serves until one of these operations changes something.
_cache: WeakKeyDictionary[State, dict[str, tuple[bool, EngineState]]] = WeakKeyDictionary()

# The engine state ``fleetform apply`` observed for the plan the user approved
# (see ``use_observed``): the operations run against it, in both phases,
# until one of them changes the host; only then is the host gathered again.
_observed: WeakKeyDictionary[State, dict[str, EngineState]] = WeakKeyDictionary()


def _current() -> tuple[State, Host]:
    state = ctx_state.get()  # type: ignore[no-untyped-call]
    host = ctx_host.get()  # type: ignore[no-untyped-call]
    return state, host


def use_observed(engine: EngineState) -> None:
    """Let the current host's operations start from ``engine`` instead of gathering it."""
    state, host = _current()
    _observed.setdefault(state, {})[host.name] = engine


def current_engine_state() -> EngineState:
    state, host = _current()
    per_host = _cache.setdefault(state, {})
    cached = per_host.get(host.name)
    if cached is not None and cached[0] == state.is_executing:
        return cached[1]
    observed = _observed.get(state, {}).get(host.name)
    if observed is None:
        observed = host.get_fact(EngineFact)
    per_host[host.name] = (state.is_executing, observed)
    return observed


def _run(
    build: Callable[[EngineSettings, EngineState], list[str]], settings: EngineSettings
) -> Iterator[str]:
    try:
        steps = build(settings, current_engine_state())
    except EngineSettingsError as exc:
        # e.g. an OS fleetform cannot install Docker on: one line, no traceback
        raise OperationError(str(exc)) from None
    if not steps:
        return
    state, host = _current()
    if state.is_executing:  # the host is about to change: what was seen no longer holds
        _cache.get(state, {}).pop(host.name, None)
        _observed.get(state, {}).pop(host.name, None)
    yield " && ".join(steps)


@operation()
def _fresh_packages(settings: EngineSettings) -> Generator[str, None, None]:
    yield from _run(engine_steps.install_steps, settings)


@operation()
def _upgraded_packages(settings: EngineSettings) -> Generator[str, None, None]:
    yield from _run(engine_steps.upgrade_steps, settings)


def engine_packages(settings: EngineSettings, **arguments: Any) -> Any:
    """Docker's packages installed (and Docker's repository for ``docker-ce``).

    Hosts without a running engine install at once.  On hosts whose engine
    runs, the package scripts restart it: those upgrade host by host
    (pyinfra's ``_serial``), each waiting until its containers run again,
    healthy, before the next host starts; the first host that fails stops
    the others (as pyinfra stops a failed host's later operations).
    Other pyinfra arguments (``name``, ``_if``...) pass through.
    """
    name = arguments.pop("name", "Docker engine packages")
    _fresh_packages(settings=settings, name=name, **arguments)
    return _upgraded_packages(
        settings=settings, name=f"{name}: upgrades, host by host", _serial=True, **arguments
    )


# State -> hosts whose daemon.json command started and did not succeed:
# pyinfra resumes an operation after its command succeeded, never after a
# failure, so a name left here is a host where the change failed.
_unfinished: WeakKeyDictionary[State, set[str]] = WeakKeyDictionary()


@operation()
def _daemon_json(settings: EngineSettings) -> Generator[str | StringCommand, None, None]:
    state, host = _current()
    planned = list(_run(engine_steps.daemon_json_steps, settings))
    if not planned or not state.is_executing:
        yield from planned
        return
    unfinished = _unfinished.setdefault(state, set())
    if unfinished:
        # The hosts run one after another: stop the rollout at the first
        # host whose dockerd did not take the new file (it was put back there).
        failed = ", ".join(sorted(unfinished))
        yield failing_command(f"daemon.json left as it is: the change failed on {failed}")
        return
    unfinished.add(host.name)
    yield planned[0]
    unfinished.discard(host.name)


def daemon_json(settings: EngineSettings, **arguments: Any) -> Any:
    """/etc/docker/daemon.json as the stacks say; dockerd restarted once if it changed.

    Always host by host (pyinfra's ``_serial``): a restart stops the engine
    for a while, and a daemon.json that one host's dockerd refuses would be
    refused by all of them, so hosts never restart at the same time, and once
    the change fails on one host the hosts after it fail without a change.
    Other pyinfra arguments (``name``, ``_if``...) pass through.
    """
    return _daemon_json(settings=settings, _serial=True, **arguments)


@operation()
def registry_certs(settings: EngineSettings) -> Generator[str, None, None]:
    """Registry CA certificates at /etc/docker/certs.d/<registry>/ca.crt."""
    yield from _run(engine_steps.registry_cert_steps, settings)


@operation()
def engine_service(settings: EngineSettings, running: bool = True) -> Generator[str, None, None]:
    """dockerd and containerd enabled and running (systemd, sysvinit or background)."""
    if not running:
        raise ValueError("engine_service only supports running=True")
    yield from _run(engine_steps.service_steps, settings)


@operation()
def docker_group_members(settings: EngineSettings) -> Generator[str, None, None]:
    """The settings' users are members of the docker group."""
    yield from _run(engine_steps.docker_group_steps, settings)
