"""pyinfra operations that carry out a plan.  They decide nothing.

The plan is computed before any change is made and shown to the user; these
operations only yield the commands that ``fleetform.executor.steps`` built
for that plan.  When a host could not be observed because its Docker engine
was not installed or not running yet, the plan shown for it was made against
an empty host; after the engine deploy has run, that host is observed again
and re-planned here, so we never ``docker create`` over containers we could
not see.  The same holds for a host whose dockerd the engine deploy
restarted.  A re-plan is only carried out when every action in it is of a
kind the user approved for that host; otherwise the host fails and the
message shows the new plan.

Example (plain pyinfra deploy file)::

    from fleetform.executor.operations import containers
    containers(plans={host.name: host_plan})
"""

from __future__ import annotations

import io
import shlex
from collections.abc import Collection, Generator, Mapping
from dataclasses import replace
from typing import Any

from pyinfra.api.command import FileUploadCommand, StringCommand
from pyinfra.api.operation import operation
from pyinfra.context import host

from fleetform.engine.advisories import load_advisories
from fleetform.engine.layers import parse_layers
from fleetform.engine.layers_script import layers_script
from fleetform.engine.policy import still_affected
from fleetform.executor.observation import mounts_secrets
from fleetform.executor.project_uploads import project_steps
from fleetform.executor.steps import (
    SECRET_ENV_DIR,
    host_commands,
    secret_cleanup_command,
    secret_dir_command,
    secret_env_file,
    secret_files,
)
from fleetform.executor.uploads import Step, Upload, UploadError, image_uploads
from fleetform.model import EnginePolicy
from fleetform.observe import ObserveError, observe_command, parse_observed
from fleetform.opfailure import failing_command
from fleetform.plan import HostPlan, plan_host
from fleetform.revisions.host import digest_key_script, parse_digest_key


def plan_commands(host_plan: HostPlan) -> Generator[Any, None, None]:
    """Each action's command, with its uploads.

    A ``build`` is preceded by the upload of its context folder, a ``load`` by
    the upload of its archive (removed after the load).  When a context or
    archive cannot be uploaded, the only command is one that fails with the
    reason, so nothing is half-applied and the host's failure names it.

    A container with secret values gets its env file (mode 0600, in
    :data:`SECRET_ENV_DIR`) uploaded just before its own command, which
    removes it when it exits, succeeded or failed; a failure stops the host
    before any later action's file is uploaded, so no file is left behind.
    """
    try:
        uploads = [image_uploads(action) for action in host_plan.actions]
        project = [project_steps(action) for action in host_plan.actions]
    except UploadError as exc:
        yield failing_command(str(exc))
        return
    commands = host_commands(host_plan, env_dir=SECRET_ENV_DIR)
    env_files = [secret_env_file(action, SECRET_ENV_DIR) for action in host_plan.actions]
    if commands and any(env_files):
        yield StringCommand(f"install -d -m 700 {shlex.quote(SECRET_ENV_DIR)}")
    files = [secret_files(action) for action in host_plan.actions]
    # host_commands returns nothing for a plan with errors; zip then yields nothing.
    together = zip(commands, uploads, env_files, files, project, strict=False)
    for command, steps, env_file, mounted, files_of_project in together:
        yield from _steps(steps.before)
        yield from _steps(files_of_project)
        if env_file is not None:
            path, content = env_file
            yield FileUploadCommand(io.BytesIO(content.encode()), path)
        if mounted:
            yield StringCommand(secret_dir_command(mounted))
        for file in mounted:
            yield FileUploadCommand(io.BytesIO(file.content), file.path)
            yield StringCommand(file.owner_command())
        yield StringCommand(command)
        yield from _steps(steps.after)
    if commands and (any(files) or any(a.kind == "remove" for a in host_plan.actions)):
        # Files of secrets no container mounts any more (removed or replaced ones).
        yield StringCommand(secret_cleanup_command())


def _steps(steps: tuple[Step, ...]) -> Generator[Any, None, None]:
    for step in steps:
        if isinstance(step, Upload):
            src = io.BytesIO(step.src) if isinstance(step.src, bytes) else str(step.src)
            yield FileUploadCommand(src, step.dest)
        else:
            yield StringCommand(step.command)


@operation(is_idempotent=True)
def containers(
    plans: Mapping[str, HostPlan],
    desired: Mapping[str, Any] | None = None,
    replan: Collection[str] = (),
    policies: Mapping[str, EnginePolicy] | None = None,
) -> Generator[Any, None, None]:
    """Converge this host's containers, networks, volumes and images to its plan.

    ``plans`` maps host name -> the HostPlan the user saw.  Hosts in
    ``replan`` (their engine was not ready when observed) are observed and
    planned again from ``desired``.  Everything is keyed by host so that the
    same operation is added on every host: pyinfra's API identifies
    operations by their position.  A host in ``policies`` has its engine's
    layers checked against its engine policy first (docs/engine.md): still
    affected, its containers are left alone.
    """
    host_plan = plans.get(host.name)
    if host_plan is None:
        return
    policy = (policies or {}).get(host.name)
    if policy is not None:
        advisories = load_advisories()
        script = layers_script(n for a in advisories for n in a.names)
        _, output = host.run_shell_command(StringCommand(script))
        refusal = still_affected(policy, parse_layers(host.name, output.stdout), advisories)
        if refusal is not None:
            yield failing_command(refusal)
            return
    if host.name in replan and desired is not None:
        want = desired[host.name]
        _, output = host.run_shell_command(StringCommand(observe_command(want)))
        _, key = host.run_shell_command(StringCommand(digest_key_script(mounts_secrets(want))))
        try:
            observed = parse_observed(output.stdout)
            observed = replace(observed, digest_key=parse_digest_key(key.stdout))
            new_plan = plan_host(want, observed)
        except ObserveError as exc:
            yield failing_command(f"cannot observe the host after the engine deploy: {exc}")
            return
        refusal = unapproved_replan(host_plan, new_plan)
        if refusal is not None:
            yield failing_command(refusal)
            return
        host_plan = new_plan
    yield from plan_commands(host_plan)


#: plan lines shown in a refusal; the failure summary keeps a host's last 15 lines
_REFUSAL_PLAN_LINES = 12


def unapproved_replan(shown: HostPlan, new: HostPlan) -> str | None:
    """Why ``new`` (re-planned after the engine deploy) must not run, or None.

    The user approved ``shown``; the re-plan may only use the kinds of action
    shown for this host (a host planned as empty approved creates, not the
    removal of containers nobody could see).
    """
    approved = {a.kind for a in shown.actions}
    unseen = sorted({a.kind for a in new.actions} - approved)
    if not unseen and not new.errors:
        return None
    why = (
        f"actions that were not shown ({', '.join(unseen)})"
        if unseen
        else "errors that were not shown"
    )
    # headlines only (the reasons would double the length), then any errors
    lines = [f"  {a.headline()}" for a in new.actions] + [f"  ! error: {e}" for e in new.errors]
    if len(lines) > _REFUSAL_PLAN_LINES:
        more = len(lines) - _REFUSAL_PLAN_LINES
        lines = [*lines[:_REFUSAL_PLAN_LINES], f"  ... {more} more line(s)"]
    return (
        f"after the engine deploy, the new plan of this host has {why}; its containers were "
        "left as they are: run plan and apply again. The new plan:\n" + "\n".join(lines)
    )
