"""pyinfra operations that carry out a plan.  They decide nothing.

The plan is computed before any change is made and shown to the user; these
operations only yield the commands that ``fleetform.executor.commands`` built
for that plan.  When a host could not be observed because its Docker engine
was not installed or not running yet, the plan shown for it was made against
an empty host; after the engine deploy has run, that host is observed again
and re-planned here, so we never ``docker create`` over containers we could
not see.

Example (plain pyinfra deploy file)::

    from fleetform.executor.operations import containers
    containers(plans={host.name: host_plan})
"""

from __future__ import annotations

import io
import shlex
from collections.abc import Collection, Generator, Mapping
from typing import Any

from pyinfra.api.command import FileUploadCommand, StringCommand
from pyinfra.api.operation import operation
from pyinfra.context import host

from fleetform.executor.commands import host_commands, secret_env_files
from fleetform.observe import observe_command, parse_observed
from fleetform.plan import HostPlan, plan_host

#: Secret environment values travel as files in a root-only directory on a
#: tmpfs, never as command-line words (which pyinfra may log and which
#: other users can read in /proc while the command runs).
SECRET_ENV_DIR = "/run/fleetform/env"


def plan_commands(host_plan: HostPlan) -> Generator[Any, None, None]:
    """Uploads of secret env files, then one shell command per action."""
    files = secret_env_files(host_plan, SECRET_ENV_DIR)
    if files:
        yield StringCommand(f"install -d -m 700 {shlex.quote(SECRET_ENV_DIR)}")
        for path, content in sorted(files.items()):
            yield FileUploadCommand(io.BytesIO(content.encode()), path)
    yield from host_commands(host_plan, env_dir=SECRET_ENV_DIR if files else None)


@operation(is_idempotent=True)
def containers(
    plans: Mapping[str, HostPlan],
    desired: Mapping[str, Any] | None = None,
    replan: Collection[str] = (),
) -> Generator[Any, None, None]:
    """Converge this host's containers, networks, volumes and images to its plan.

    ``plans`` maps host name -> the HostPlan the user saw.  Hosts in
    ``replan`` (their engine was not ready when observed) are observed and
    planned again from ``desired``.  Everything is keyed by host so that the
    same operation is added on every host: pyinfra's API identifies
    operations by their position.
    """
    host_plan = plans.get(host.name)
    if host_plan is None:
        return
    if host.name in replan and desired is not None:
        want = desired[host.name]
        _, output = host.run_shell_command(StringCommand(observe_command(want)))
        host_plan = plan_host(want, parse_observed(output.stdout))
        if host_plan.errors:
            raise _plan_error(host_plan)
    yield from plan_commands(host_plan)


def _plan_error(host_plan: HostPlan) -> Exception:
    from pyinfra.api.exceptions import OperationError

    return OperationError("; ".join(host_plan.errors))
