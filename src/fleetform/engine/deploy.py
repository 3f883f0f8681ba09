"""The engine deploy: make a host a Docker host.

Usable from pyinfra's CLI (``deploys/engine.py``) and its API::

    from pyinfra.api.deploy import add_deploy
    from fleetform.engine.deploy import docker_engine

    for host in inventory.iter_active_hosts():
        add_deploy(state, docker_engine, settings_by_host[host.name], host=host)

The sequence of operations is the same for every host and every settings
value; what differs happens inside the operations.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from pyinfra.api.deploy import deploy
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.host import Host
from pyinfra.context import ctx_host

from fleetform.engine.operations import (
    daemon_json,
    docker_group_members,
    engine_packages,
    engine_service,
    registry_certs,
    use_observed,
)
from fleetform.engine.settings import EngineSettings, EngineSettingsError, engine_for_host
from fleetform.engine.state import EngineState
from fleetform.inventory import host_data_problems

#: host data: stack files whose ``engine:`` sections apply to the host.
STACKS_DATA = "fleetform_stacks"
#: host data: registry -> CA PEM, installed whatever the stacks say (the lab
#: uses it so every host trusts its registry).
REGISTRIES_DATA = "fleetform_registries"


def with_host_registries(
    settings: EngineSettings, registries: Mapping[str, str] | None
) -> EngineSettings:
    """Add the registry CAs of host data ``fleetform_registries`` (stacks win)."""
    return settings.with_registries(registries) if registries else settings


@deploy("Docker engine")
def docker_engine(settings: EngineSettings | None = None) -> None:
    """dockerd, containerd and runc installed, configured and running.

    ``settings`` None means the defaults (Debian's docker.io, daemon.json left
    alone).  Registry CAs from the host data ``fleetform_registries`` are
    always added.
    """
    _engine_operations(settings)


@deploy("Docker engine")
def docker_engine_by_host(
    settings_by_host: Mapping[str, EngineSettings],
    skip: Collection[str] = (),
    observed: Mapping[str, EngineState] | None = None,
) -> None:
    """``docker_engine`` with each host's own settings, for one ``add_deploy`` over
    all hosts (hosts not in the mapping get the defaults).

    Hosts named in ``skip`` (``fleetform apply`` reports them as errors, not
    applied there) get the same operations, which run no command on them.
    ``observed`` maps hosts to the engine state their plan was made from
    (``fleetform apply``'s one observation): the operations carry out that
    plan without gathering the host again, unless one of them changes it.
    """
    name = _host().name
    if observed is not None and name in observed:
        use_observed(observed[name])
    _engine_operations(settings_by_host.get(name), skip=name in skip)


def _host() -> Host:
    return ctx_host.get()  # type: ignore[no-untyped-call,no-any-return]


def _engine_operations(settings: EngineSettings | None, skip: bool = False) -> None:
    host = _host()
    # Plain pyinfra runs read host data unchecked (fleetform's CLI checks it when
    # it loads the inventory): bad data is one line, not a traceback.
    problems = host_data_problems(host.name, host.data)
    if problems:
        raise PyinfraError("; ".join(problems))
    settings = with_host_registries(settings or EngineSettings(), host.data.get(REGISTRIES_DATA))
    # A skipped host still gets every operation, because pyinfra's API
    # identifies operations by position; pyinfra's ``_if`` stops each one
    # before it yields a command (it is checked when operations execute).
    run = [lambda: not skip]
    # daemon.json goes before the packages: a fresh install then starts
    # dockerd with the right configuration and needs no restart.
    daemon_json(settings=settings, name="Docker daemon.json", _if=run)
    registry_certs(settings=settings, name="Docker registry CA certificates", _if=run)
    engine_packages(settings=settings, name="Docker engine packages", _if=run)
    engine_service(settings=settings, running=True, name="dockerd and containerd running", _if=run)
    docker_group_members(settings=settings, name="docker group members", _if=run)


def settings_from_host_data(
    host_name: str, groups: list[str], stack_paths: list[str] | str | None
) -> EngineSettings:
    """Engine settings for plain pyinfra runs, from the host data ``fleetform_stacks``.

    Problems become a PyinfraError, which pyinfra's CLI shows as one line.
    """
    if not stack_paths:
        return EngineSettings()
    if isinstance(stack_paths, str):  # --data fleetform_stacks=a.yml,b.yml
        stack_paths = [p for p in stack_paths.split(",") if p]
    # imported here: plain engine runs without stacks need no loader
    from fleetform.stackfile import StackFileError, load_stacks

    try:
        stacks = load_stacks([str(p) for p in stack_paths])
        return engine_for_host(stacks, host_name, groups)
    except (EngineSettingsError, StackFileError, OSError) as exc:
        raise PyinfraError(str(exc)) from None
