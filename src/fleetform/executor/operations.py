"""pyinfra operations that carry out a plan.  They decide nothing.

The plan is computed before any change is made and shown to the user; these
operations only yield the commands that ``fleetform.executor.commands`` built
for that plan.  When a host could not be observed because its Docker engine
was not installed or not running yet, the plan for it was made against an
empty host; after the engine deploy has run, that host is observed again and
re-planned here, so we never ``docker create`` over containers we could not
see.

Example (plain pyinfra deploy file)::

    from fleetform.executor.operations import containers
    containers(plans={host.name: host_plan})
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

from pyinfra import host
from pyinfra.api import operation
from pyinfra.api.command import StringCommand

from fleetform.executor.commands import host_commands
from fleetform.observe import observe_command, parse_observed
from fleetform.plan import plan_host


@operation(is_idempotent=True)
def containers(plans: Mapping[str, Any], desired: Mapping[str, Any] | None = None) -> Generator:
    """Converge this host's containers, networks, volumes and images to its plan.

    ``plans`` maps host name -> HostPlan (the one the user saw).  ``desired``
    maps host name -> HostDesired, used to re-plan hosts whose engine was not
    ready when they were observed.  Both are keyed by host so that the same
    operation is added on every host (pyinfra's API identifies operations by
    position).
    """
    host_plan = plans.get(host.name)
    if host_plan is None:
        return
    if getattr(host_plan, "engine_ready", True) is False and desired and host.name in desired:
        want = desired[host.name]
        ok, output = host.run_shell_command(StringCommand(observe_command(want)))
        observed = parse_observed(output.stdout)
        host_plan = plan_host(want, observed)
    yield from host_commands(host_plan)
