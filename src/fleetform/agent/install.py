"""pyinfra deploys: fleetform installed on a host, and the units that run it.

``fleetform_install`` puts fleetform in its own virtualenv (``/opt/fleetform/venv``)
from a wheelhouse uploaded from this machine, or from the host's package index.
``pull_agent`` and ``reconciler`` add the systemd units.  Each is idempotent:
a second run changes nothing.
"""

from __future__ import annotations

import io

from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.host import Host
from pyinfra.api.operation import OperationMeta
from pyinfra.context import ctx_host
from pyinfra.facts.server import Command
from pyinfra.operations import apt, files, pip, server, systemd

from fleetform import __version__
from fleetform.agent import units
from fleetform.agent.settings import AgentSettings, AgentSettingsError, settings_from_data


def _host() -> Host:
    return ctx_host.get()  # type: ignore[no-untyped-call,no-any-return]


def host_settings() -> AgentSettings:
    """The current host's settings; bad host data stops the deploy for that host."""
    host = _host()
    try:
        return settings_from_data(host.data.dict())  # type: ignore[no-untyped-call]
    except AgentSettingsError as exc:
        raise PyinfraError(f"{host.name}: {exc}") from None


def _put_text(text: str, dest: object, mode: str, name: str) -> None:
    files.put(
        name=name, src=io.StringIO(text), dest=str(dest), user="root", group="root", mode=mode
    )


def fleetform_install(settings: AgentSettings) -> None:
    """git, a Python virtualenv, and fleetform ``__version__`` with its dependencies in it."""
    apt.packages(
        name="git and python3-venv", packages=["git", "python3-venv"], update=True, cache_time=3600
    )
    pip.venv(name="fleetform's virtualenv", path=str(units.VENV), python="python3")
    requirement = f"fleetform=={__version__}"
    extra = None
    if settings.wheelhouse is not None:
        files.sync(
            name="fleetform's wheels",
            src=str(settings.wheelhouse),
            dest=str(units.WHEELS),
            delete=True,
            add_deploy_dir=False,
        )
        extra = f"--no-index --find-links {units.WHEELS}"
    pip.packages(
        name=f"pip: {requirement}",
        packages=[requirement],
        virtualenv=str(units.VENV),
        extra_install_args=extra,
    )


def _common_files(settings: AgentSettings, unit: str) -> None:
    files.directory(name="gitops config", path=str(units.CONF_DIR), mode="0700")
    files.directory(name="gitops state", path=str(units.STATE_DIR), mode="0700")
    _put_text(units.env_file(settings, unit), units.env_path(unit), "0600", f"{unit} environment")
    if settings.age_key is not None:
        files.put(
            name=f"{unit} age key for SOPS",
            src=str(settings.age_key),
            dest=str(units.age_key_path(unit)),
            mode="0600",
            add_deploy_dir=False,
        )


def pull_agent(settings: AgentSettings) -> None:
    """A timer that reconciles this host against itself every ``every``, spread by ``delay``."""
    fleetform_install(settings)
    _common_files(settings, units.AGENT)
    host = _host()
    _put_text(
        units.local_inventory(host.name, host.groups), units.LOCAL_INVENTORY, "0644", "identity"
    )
    service = _put_unit(f"{units.AGENT}.service", units.agent_service(settings))
    timer = _put_unit(f"{units.AGENT}.timer", units.agent_timer(settings))
    systemd.service(
        name=f"{units.AGENT}.timer enabled",
        service=f"{units.AGENT}.timer",
        running=True,
        enabled=True,
        daemon_reload=service.changed or timer.changed,
    )


def reconciler(settings: AgentSettings) -> None:
    """A service running ``reconcile --every`` that converges the fleet over SSH."""
    if settings.inventory is None:
        raise PyinfraError(
            f"{_host().name}: fleetform_gitops_inventory is required for a controller: "
            "the inventory file inside the repository"
        )
    fleetform_install(settings)
    _common_files(settings, units.RECONCILER)
    for path, dest in (
        (settings.ssh_key, units.SSH_KEY),
        (settings.known_hosts, units.KNOWN_HOSTS),
    ):
        if path is not None:
            files.put(
                name=f"{dest.name} for SSH",
                src=str(path),
                dest=str(dest),
                mode="0600",
                add_deploy_dir=False,
            )
    unit = _put_unit(f"{units.RECONCILER}.service", units.reconciler_service(settings))
    systemd.service(
        name=f"{units.RECONCILER} running",
        service=f"{units.RECONCILER}.service",
        running=True,
        enabled=True,
        restarted=unit.changed,
        daemon_reload=unit.changed,
    )


def _put_unit(name: str, text: str) -> OperationMeta:
    return files.put(
        name=name, src=io.StringIO(text), dest=f"/etc/systemd/system/{name}", mode="0644"
    )


#: host data: ``absent`` removes the unit and its own configuration and cache
#: (the virtualenv and the reports stay: a later install reuses them)
STATE_DATA = "fleetform_gitops_state"


def _wanted_state() -> str:
    host = _host()
    state = host.data.get(STATE_DATA) or "present"
    if state not in ("present", "absent"):
        raise PyinfraError(f"{host.name}: {STATE_DATA} must be present or absent, not {state!r}")
    return str(state)


def _remove(unit: str, suffixes: tuple[str, ...], own_files: tuple[object, ...]) -> None:
    """``unit`` stopped and gone with its own files; another unit's stay (reports stay too)."""
    host = _host()
    for suffix in suffixes:
        systemd.service(
            name=f"{unit}.{suffix} stopped",
            service=f"{unit}.{suffix}",
            running=False,
            enabled=False,
        )
        # a unit that failed once stays listed as failed (the host "degraded")
        # after its file is gone, until it is reset
        failed = host.get_fact(Command, f"systemctl is-failed {unit}.{suffix} || true")
        if (failed or "").strip() == "failed":
            server.shell(
                name=f"{unit}.{suffix} failed state reset",
                commands=[f"systemctl reset-failed {unit}.{suffix}"],
            )
        files.file(
            name=f"{unit}.{suffix} removed",
            path=f"/etc/systemd/system/{unit}.{suffix}",
            present=False,
        )
    systemd.daemon_reload(name="systemd reloaded")
    for path in (units.env_path(unit), units.age_key_path(unit), *own_files):
        files.file(name=f"{path} removed", path=str(path), present=False)
    # the clone may hold what the repository URL carried
    files.directory(name=f"{unit} cache removed", path=str(units.CACHE / unit), present=False)


def agent_deploy() -> None:
    """``deploys/agent.py``: the pull-mode agent, or removed (``fleetform_gitops_state=absent``)."""
    if _wanted_state() == "absent":
        _remove(units.AGENT, ("timer", "service"), (units.LOCAL_INVENTORY,))
    else:
        pull_agent(host_settings())


def reconciler_deploy() -> None:
    """``deploys/reconciler.py``: the controller, or removed (``fleetform_gitops_state=absent``)."""
    if _wanted_state() == "absent":
        _remove(units.RECONCILER, ("service",), (units.SSH_KEY, units.KNOWN_HOSTS))
    else:
        reconciler(host_settings())
