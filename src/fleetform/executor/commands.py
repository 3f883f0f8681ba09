"""Shell commands that carry out a host plan, in order.  They decide nothing.

``host_commands(host_plan)`` returns one POSIX shell command per action; each
is built from argv lists (:mod:`fleetform.executor.argv`) joined once with
:func:`shlex.join`, plus a little shell glue:

- before anything is stopped or removed, the container's (or volume's)
  ``fleetform.stack`` label is checked again on the host, and the container is
  addressed by the id seen when planning: a container replaced or relabelled
  since then is left alone (the command fails instead);
- secret environment values never reach an argv: they are written by the
  shell's builtin ``printf`` to a ``umask 077`` temporary file passed with
  ``--env-file`` and removed by the same command (or, with ``env_dir``, to a
  file the caller uploaded beforehand, see :func:`secret_env_files`).  They
  are in the command text, which pyinfra logs only at debug level; the text
  is never printed by fleetform;
- after a container with a healthcheck is started, the command waits until
  Docker reports it healthy; on timeout it fails and prints the last health
  probe output.

Example::

    for command in host_commands(host_plan):
        host.run_shell_command(command)
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from fleetform.executor import argv as A
from fleetform.model import LABEL_STACK
from fleetform.plan.actions import Action, HostPlan
from fleetform.plan.desired import DEFAULT_BRIDGE, DesiredContainer, DesiredImage

#: Where the caller uploads build contexts and image archives by default.
REMOTE_ROOT = "/var/lib/fleetform"

#: Docker's healthcheck defaults, used for the wait timeout.
_DEFAULT_INTERVAL = 30
_DEFAULT_TIMEOUT = 30
_DEFAULT_RETRIES = 3
WAIT_MIN, WAIT_MAX = 30, 180


def _safe(ref: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in ref)


def default_build_dir(image: DesiredImage) -> str:
    """Where the caller uploads ``image.build.context`` on the host."""
    return f"{REMOTE_ROOT}/build/{_safe(image.ref)}"


def default_archive_path(image: DesiredImage) -> str:
    """Where the caller uploads ``image.archive`` on the host."""
    name = image.archive.name if image.archive else f"{_safe(image.ref)}.tar"
    return f"{REMOTE_ROOT}/images/{name}"


def health_wait_seconds(c: DesiredContainer) -> int:
    """start_period + (interval + timeout) * retries, within [30, 180] seconds."""
    hc = c.spec.healthcheck
    if hc is None:
        return WAIT_MIN
    s = 1_000_000_000
    interval = (hc.interval or _DEFAULT_INTERVAL * s) / s
    timeout = (hc.timeout or _DEFAULT_TIMEOUT * s) / s
    retries = hc.retries or _DEFAULT_RETRIES
    total = (hc.start_period or 0) / s + (interval + timeout) * retries
    return int(min(WAIT_MAX, max(WAIT_MIN, total)))


def _q(word: str) -> str:
    return shlex.quote(word)


def _owned_or_gone(ref: str, stack: str | None, then: str) -> str:
    """Run ``then`` only if ``ref`` still carries ``fleetform.stack=stack``; gone is fine."""
    fmt = "{{index .Config.Labels " + f'"{LABEL_STACK}"' + "}}"
    return (
        f"if l=$(docker inspect --format {_q(fmt)} {_q(ref)} 2>/dev/null); then "
        f'if [ "$l" != {_q(stack or "")} ]; then '
        f"echo {_q(f'fleetform: refusing to touch {ref}: not labelled {LABEL_STACK}={stack}')}"
        " >&2; "
        f"exit 1; fi; {then}; fi"
    )


def wait_healthy_command(name: str, seconds: int) -> str:
    """Poll until ``name`` is healthy; fail with its last health output after ``seconds``."""
    fmt = "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}"
    last = '{{$o := ""}}{{range .State.Health.Log}}{{$o = .Output}}{{end}}{{$o}}'
    n = _q(name)
    fail = (
        f'echo "fleetform: container {name} is not healthy after ${{i}}s (state: $s); '
        'last health check output:" >&2; '
        f"docker inspect --format {_q(last)} {n} >&2; exit 1"
    )
    return (
        f"i=0; while :; do s=$(docker inspect --format {_q(fmt)} {n}) || exit 1; "
        'case "$s" in "running healthy"|"running none") break ;; '
        f'"running unhealthy"|exited*|dead*) {fail} ;; esac; '
        f'if [ "$i" -ge {seconds} ]; then {fail}; fi; sleep 1; i=$((i+1)); done'
    )


def wait_exit_zero_command(name: str, seconds: int = WAIT_MAX) -> str:
    """Wait for the one-shot container ``name`` to exit, and fail unless it exited 0."""
    n = _q(name)
    return (
        f'rc=$(timeout {seconds} docker wait {n}) && [ "$rc" = 0 ] || '
        f'{{ echo "fleetform: {name} did not complete successfully '
        '(exit code: ${rc:-timeout})" >&2; exit 1; }'
    )


def _secret_env(c: DesiredContainer) -> list[tuple[str, str]]:
    return [(k, v) for k, v in c.spec.env if k in c.secret_keys]


def secret_env_files(host_plan: HostPlan, env_dir: str) -> dict[str, str]:
    """``{remote path: content}`` of the env files to upload (mode 0600) when using ``env_dir``."""
    files = {}
    for action in host_plan.actions:
        c = action.container
        if action.kind in ("create", "recreate") and c is not None and _secret_env(c):
            files[f"{env_dir}/{c.name}.env"] = "".join(f"{k}={v}\n" for k, v in _secret_env(c))
    return files


_ENV_FILE_TOKEN = "@FLEETFORM_ENV_FILE@"


def _steps(steps: list[str]) -> str:
    return " && ".join(f"{{ {s}; }}" if ";" in s else s for s in steps)


def _start_steps(c: DesiredContainer, ref: str) -> list[str]:
    steps = [wait_exit_zero_command(dep) for dep in c.after_exit]
    steps.append(f"{shlex.join(A.start_argv(ref))} >/dev/null")
    if c.spec.healthcheck is not None and c.spec.healthcheck.test != ("NONE",):
        steps.append(wait_healthy_command(c.name, health_wait_seconds(c)))
    return steps


def _create_and_start(c: DesiredContainer, env_dir: str | None) -> str:
    steps: list[str] = []
    secrets = _secret_env(c)
    if not secrets:
        steps.append(f"{shlex.join(A.container_create_argv(c))} >/dev/null")
    elif env_dir is not None:
        env_file = f"{env_dir}/{c.name}.env"
        steps.append(f"{shlex.join(A.container_create_argv(c, env_file))} >/dev/null")
        steps.append(f"rm -f {_q(env_file)}")
    else:
        # A private temporary file, removed when this command's shell exits.
        lines = " ".join(_q(f"{k}={v}") for k, v in secrets)
        steps.append(
            "f=$(umask 077 && mktemp) && trap 'rm -f \"$f\"' EXIT && "
            f"printf '%s\\n' {lines} > \"$f\""
        )
        create = shlex.join(A.container_create_argv(c, _ENV_FILE_TOKEN))
        steps.append(create.replace(_ENV_FILE_TOKEN, '"$f"') + " >/dev/null")
    for net in c.spec.networks[1:]:
        if net.name != DEFAULT_BRIDGE:
            steps.append(shlex.join(A.network_connect_argv(net, c.name)))
    if c.state == "running":
        steps += _start_steps(c, c.name)
    return _steps(steps)


def _remove(action: Action) -> str:
    ref = action.container_id or action.resource
    stop = shlex.join(A.stop_argv(ref, action.stop_timeout))
    rm = shlex.join(A.rm_argv(ref))
    return _owned_or_gone(ref, action.owner_stack, f"{stop} >/dev/null && {rm} >/dev/null")


def _resource_command(
    action: Action,
    build_dir: Callable[[DesiredImage], str],
    archive_path: Callable[[DesiredImage], str],
) -> str | None:
    kind = action.kind
    if kind == "create-network" and action.network:
        return shlex.join(A.network_create_argv(action.network))
    if kind == "create-volume" and action.volume:
        return shlex.join(A.volume_create_argv(action.volume))
    if kind == "remove-volume" and action.volume:
        rm = shlex.join(A.volume_rm_argv(action.resource))
        fmt = "{{index .Labels " + f'"{LABEL_STACK}"' + "}}"
        return (
            f"l=$(docker volume inspect --format {_q(fmt)} {_q(action.resource)} 2>/dev/null) "
            f'|| exit 0; [ "$l" = {_q(action.volume.stack)} ] && {rm}'
        )
    if kind == "pull" and action.image:
        return shlex.join(A.pull_argv(action.image))
    if kind == "load" and action.image:
        return shlex.join(A.load_argv(archive_path(action.image)))
    if kind == "build" and action.image:
        return shlex.join(A.build_argv(action.image, build_dir(action.image)))
    return None


def _container_command(action: Action, env_dir: str | None) -> str:
    kind = action.kind
    if kind == "remove":
        return _remove(action)
    c = action.container
    if c is None:
        raise ValueError(f"action {kind} {action.resource} carries no container")
    ref = action.container_id or c.name
    owner = action.owner_stack
    if kind == "create":
        return _create_and_start(c, env_dir)
    if kind == "recreate":
        # Stop and remove the old container, then create the new one under the
        # same name.  Safe for data: named volumes are mounted by name and
        # survive `docker rm` (which only drops anonymous volumes).
        return f"{_remove(action)} && {_create_and_start(c, env_dir)}"
    if kind == "update":
        return _owned_or_gone(ref, owner, shlex.join(A.update_argv(c.spec, ref)))
    if kind == "stop":
        return _owned_or_gone(ref, owner, shlex.join(A.stop_argv(ref, c.spec.stop_timeout)))
    if kind == "start":
        return _owned_or_gone(ref, owner, _steps(_start_steps(c, ref)))
    raise ValueError(f"unknown action kind {kind}")


def action_command(
    action: Action,
    *,
    build_dir: Callable[[DesiredImage], str] = default_build_dir,
    archive_path: Callable[[DesiredImage], str] = default_archive_path,
    env_dir: str | None = None,
) -> str:
    """The shell command for one action."""
    command = _resource_command(action, build_dir, archive_path)
    return command if command is not None else _container_command(action, env_dir)


def host_commands(
    host_plan: HostPlan,
    *,
    build_dir: Callable[[DesiredImage], str] = default_build_dir,
    archive_path: Callable[[DesiredImage], str] = default_archive_path,
    env_dir: str | None = None,
) -> list[str]:
    """One shell command per action of ``host_plan``, in plan order.

    ``build_dir`` / ``archive_path`` say where the caller uploaded build
    contexts and image archives on the host; ``env_dir`` (optional) where it
    uploaded :func:`secret_env_files`.  A plan with errors yields no command.
    """
    if host_plan.errors:
        return []
    return [
        action_command(a, build_dir=build_dir, archive_path=archive_path, env_dir=env_dir)
        for a in host_plan.actions
    ]
