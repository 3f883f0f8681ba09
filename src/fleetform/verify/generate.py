"""Generate a host's checks from the stacks, without touching the host.

The expectations come from the planner's own view of the host
(``desired_for_host``: containers with their config hash, networks, volumes)
and from the merged engine settings (``engine_for_host``), so verify checks
exactly what apply converges to.

Example::

    >>> from fleetform.stackfile import load_stacks
    >>> stacks = load_stacks(["stacks/demo.yml"])
    >>> hc = checks_for_host(stacks, "lab-1", frozenset({"web"}))
    >>> hc.host, [c.id for c in hc.checks][:2]
    ('lab-1', ['engine::packages', 'engine::dockerd running'])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fleetform.engine.settings import engine_for_host
from fleetform.model import LABEL_STACK, LABEL_STACK_FILE, Stack, kept_base
from fleetform.plan.desired import (
    DesiredNetwork,
    DesiredVolume,
    HostDesired,
    desired_for_host,
    project_paths,
)
from fleetform.plan.ownership import same_file
from fleetform.verify.checks import Check, Outcome
from fleetform.verify.container_checks import container_checks
from fleetform.verify.engine_checks import engine_checks, engine_needs
from fleetform.verify.proxy_checks import proxy_checks, stale_backends_check
from fleetform.verify.runner import HostChecks
from fleetform.verify.state import HostState, Needs


def checks_for_host(
    stacks: Sequence[Stack],
    host: str,
    groups: frozenset[str],
    registries: Mapping[str, str] | None = None,
) -> HostChecks:
    """Every check of ``host``; raises EngineSettingsError when the stacks' engines conflict.

    ``registries`` (registry -> CA PEM) are the host data ``fleetform_registries``
    that apply installs whatever the stacks say.
    """
    settings = engine_for_host(stacks, host, groups)
    if registries:
        settings = settings.with_registries(registries)
    desired = desired_for_host(stacks, host, groups)
    checks = engine_checks(settings)
    for dc in desired.containers:
        checks += container_checks(dc)
    checks += [orphans_check(desired, stack) for stack in desired.stacks]
    checks += proxy_checks(desired)
    checks += [stale_backends_check(desired, stack) for stack in desired.stacks]
    checks += [network_check(n) for n in desired.networks]
    checks += [volume_check(v) for v in desired.volumes]
    engine = engine_needs(settings)
    needs = Needs(
        packages=engine.packages,
        files=engine.files,
        images=tuple(sorted({c.spec.image for c in desired.containers if c.state != "absent"})),
        networks=tuple(n.name for n in desired.networks),
        volumes=tuple(v.name for v in desired.volumes),
        project_paths=project_paths(desired),
        # every host with a stack: a backend the stack no longer proxies is stale
        proxy=bool(desired.stacks),
        advisory_ids=engine.advisory_ids,
    )
    return HostChecks(host, tuple(checks), needs)


def orphans_check(desired: HostDesired, stack: str) -> Check:
    """Containers of ``stack``'s file that the stack does not declare on this host.

    A same-name stack's containers made by another stack file are not its
    orphans (apply leaves them alone too; see fleetform.plan.ownership).
    """
    declared = {c.name for c in desired.containers}
    identity = desired.identity_of(stack)

    def ours(labels: dict[str, str]) -> bool:
        mine = identity is None or same_file(labels.get(LABEL_STACK_FILE), identity)
        return labels.get(LABEL_STACK) == stack and mine

    def kept(c: Mapping[str, Any], name: str) -> bool:
        # A declared container's previous container, stopped, kept for a rollback.
        running = bool((c.get("State") or {}).get("Running"))
        return kept_base(name) in declared and not running

    def probe(state: HostState) -> Outcome:
        orphans = sorted(
            name
            for c in state.containers
            if ours(c.get("Config", {}).get("Labels") or {})
            and (name := str(c.get("Name", "")).lstrip("/")) not in declared
            and not kept(c, name)
        )
        return Outcome(not orphans, ", ".join(orphans) if orphans else "none")

    return Check(f"stack {stack}", "no orphaned containers", "none", probe)


def _exists(kind: str, name: str, present: bool) -> Callable[[HostState], Outcome]:
    def probe(state: HostState) -> Outcome:
        found = name in (state.networks if kind == "network" else state.volumes)
        return Outcome(found == present, "exists" if found else "absent")

    return probe


def network_check(net: DesiredNetwork) -> Check:
    return Check(f"network {net.name}", "exists", "exists", _exists("network", net.name, True))


def volume_check(vol: DesiredVolume) -> Check:
    present = vol.volume.state == "present"
    expected = "exists" if present else "absent"
    return Check(f"volume {vol.name}", expected, expected, _exists("volume", vol.name, present))
