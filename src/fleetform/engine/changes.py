"""What the engine deploy would change on a host, in words for the plan.

Pure: reads the same (settings, observed state) as the step builders in
``fleetform.engine.steps`` and describes each non-empty group of steps,
so ``fleetform plan`` shows engine work before ``apply`` does it.

Example::

    >>> from pathlib import Path
    >>> from fleetform.engine.state import parse_engine_state
    >>> def recorded(name):  # output of FACT_SCRIPT recorded on real hosts
    ...     text = Path(f"tests/engine/data/{name}.txt").read_text()
    ...     return parse_engine_state(text.splitlines())
    >>> for change in engine_changes(EngineSettings(), recorded("lab-fresh")):
    ...     print(change)
    install packages docker.io, containerd, runc
    enable and start dockerd and containerd (systemd)
"""

from __future__ import annotations

import json

from fleetform.engine.packages import package_plan
from fleetform.engine.settings import EngineSettings
from fleetform.engine.state import DAEMON_JSON, EngineState
from fleetform.engine.steps import (
    daemon_json_steps,
    package_steps,
    registries_to_remove,
    registries_to_write,
    service_steps,
    users_to_add,
    users_to_remove,
)


def engine_changes(settings: EngineSettings, state: EngineState) -> tuple[str, ...]:
    out: list[str] = []
    if package_steps(settings, state):
        plan = package_plan(settings.source, settings.version, state.os)
        missing = plan.missing(state.packages)
        if plan.repo is not None:
            out.append(f"configure the {settings.source} package repository")
        if missing:
            out.append(f"install packages {', '.join(missing)}")
    if daemon_json_steps(settings, state):
        restart = " and restart dockerd" if state.dockerd_pid is not None else ""
        removing = settings.daemon_json is not None and json.loads(settings.daemon_json) == {}
        verb = "remove" if removing else "write"
        out.append(f"{verb} {DAEMON_JSON}{restart}")
    for reg in registries_to_write(settings, state):
        out.append(f"install the CA certificate of registry {reg.registry}")
    for registry in registries_to_remove(settings, state):
        out.append(
            f"remove the CA certificate of registry {registry} "
            "(installed by fleetform, no longer declared)"
        )
    if service_steps(settings, state):
        out.append(f"enable and start dockerd and containerd ({state.init})")
    users = users_to_add(settings, state)
    if users:
        out.append(f"add {', '.join(users)} to the docker group")
    gone = users_to_remove(settings, state)
    if gone:
        out.append(
            f"remove {', '.join(gone)} from the docker group "
            "(added by fleetform, no longer declared)"
        )
    return tuple(out)
