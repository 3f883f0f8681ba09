"""Shell commands that carry out a host plan, in order.  They decide nothing.

``host_commands(host_plan)`` returns one POSIX shell command per action; each
is built from argv lists (:mod:`fleetform.executor.argv`) joined once with
:func:`shlex.join`, plus a little shell glue (:mod:`fleetform.executor.shell`):

- before anything is stopped or removed, the container's (or volume's)
  ``fleetform.stack`` label is checked again on the host, and the container is
  addressed by the id seen when planning: a container replaced or relabelled
  since then is left alone (the command fails instead), and so is one whose
  label cannot be read;
- a recreate creates the new container under a temporary name first, with
  the old container's anonymous volumes (the plan lists them), then swaps it
  in; if anything fails, the old container is put back (see
  :func:`recreate_command`).  No volume is ever removed with a container;
- secret environment values never reach an argv: the caller uploads them to
  a root-only file (:func:`secret_env_file`) just before the command that
  passes it with ``--env-file``, and that command removes the file when it
  exits, whether it succeeds or fails;
- after a container with a healthcheck is started, the command waits until
  Docker reports it healthy; on timeout it fails and prints the last health
  probe output.

Example::

    for command in host_commands(host_plan):
        host.run_shell_command(command)
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from fleetform.executor import argv as A
from fleetform.executor.shell import (
    baseline_command,
    if_owned,
    join_steps,
    monitor_command,
    remove_on_exit,
    wait_exit_zero_command,
    wait_healthy_command,
)
from fleetform.model import KEPT_SUFFIX, LABEL_STACK, PROXY_DRAIN
from fleetform.plan.actions import Action, HostPlan
from fleetform.plan.desired import DEFAULT_BRIDGE, DesiredContainer, DesiredImage
from fleetform.plan.secrets import host_files
from fleetform.proxy.host import leave_script
from fleetform.secrets import SECRET_FILES_DIR

#: Where the caller uploads build contexts and image archives by default.
REMOTE_ROOT = "/var/lib/fleetform"

#: Secret environment values travel as files in a root-only directory on a
#: tmpfs, never as command-line words (which pyinfra may log and which
#: other users can read in /proc while the command runs).
SECRET_ENV_DIR = "/run/fleetform/env"

#: A recreate's new container is created under ``<name>.fleetform-new``; the
#: old one waits under ``<name>.fleetform-old`` (KEPT_SUFFIX) until the new
#: one runs, and after a rollout stays there as the previous container.
#: Service container names end with the replica number, so no service's
#: container can be called that.
NEW_SUFFIX = ".fleetform-new"
OLD_SUFFIX = KEPT_SUFFIX

#: Docker's healthcheck defaults, used for the wait timeout.
_DEFAULT_INTERVAL = 30
_DEFAULT_TIMEOUT = 30
_DEFAULT_RETRIES = 3
WAIT_MIN, WAIT_MAX = 30, 180


def _safe(ref: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in ref)


def remote_build_dir(image: DesiredImage) -> str:
    """Where the caller uploads ``image.build.context`` on the host."""
    return f"{REMOTE_ROOT}/build/{_safe(image.ref)}"


def remote_archive_path(image: DesiredImage) -> str:
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


def _secret_env(c: DesiredContainer) -> list[tuple[str, str]]:
    return [(k, v) for k, v in c.spec.env if k in c.secret_keys]


def secret_env_file(action: Action, env_dir: str = SECRET_ENV_DIR) -> tuple[str, str] | None:
    """``(remote path, content)`` of the env file to upload (mode 0600) before ``action``.

    None when the action starts no container with secret values.  The
    action's command removes the file when it exits.
    """
    c = action.container
    if action.kind not in ("create", "recreate") or c is None or not _secret_env(c):
        return None
    return _env_path(c, env_dir), "".join(f"{k}={v}\n" for k, v in _secret_env(c))


@dataclass(frozen=True)
class SecretFile:
    """A mounted secret's file to upload to the host; ``content`` never in a repr."""

    path: str
    uid: int
    gid: int
    mode: int
    content: bytes = field(default=b"", repr=False)

    def owner_command(self) -> str:
        """Give the uploaded file the owner and mode the container reads it with."""
        owner = shlex.join(["chown", f"{self.uid}:{self.gid}", self.path])
        return f"{owner} && {shlex.join(['chmod', f'{self.mode:04o}', self.path])}"


def secret_files(action: Action) -> tuple[SecretFile, ...]:
    """The files of the secrets ``action``'s new container mounts (create, recreate).

    They go, root-only, to :data:`SECRET_FILES_DIR` on tmpfs, by file upload
    (never in a command line), before the container is created, and stay while
    a container mounts them (:func:`secret_cleanup_command` removes the rest).
    """
    c = action.container
    if action.kind not in ("create", "recreate") or c is None or not c.secrets:
        return ()
    return tuple(
        SecretFile(path, s.uid, s.gid, s.mode, s.content)
        for s, path in host_files(c.name, c.secrets, c.secrets_label)
    )


def secret_dir_command(files: tuple[SecretFile, ...]) -> str:
    """The root-only folders the files go to (made before they are uploaded)."""
    dirs = sorted({SECRET_FILES_DIR, *(f.path.rsplit("/", 1)[0] for f in files)})
    return f"umask 077 && {shlex.join(['install', '-d', '-m', '700', *dirs])}"


def secret_cleanup_command() -> str:
    """Remove the secret files no container (running, stopped or kept) mounts any more.

    Nothing is removed unless Docker listed every container's mounts: a file
    a container mounts must stay, or the container could not start again.
    """
    d = shlex.quote(SECRET_FILES_DIR)
    fmt = shlex.quote("{{range .HostConfig.Mounts}}{{println .Source}}{{end}}")
    return (
        f"if [ -d {d} ] && ids=$(docker ps -aq --no-trunc) && "
        f'used=$(if [ -n "$ids" ]; then docker inspect --format {fmt} $ids; fi); then '
        f'for f in {d}/*/*; do [ -e "$f" ] || continue; '
        f'printf \'%s\\n\' "$used" | grep -qxF -- "$f" || rm -f -- "$f"; done; '
        f"rmdir {d}/* 2>/dev/null; fi; true"
    )


def _env_path(c: DesiredContainer, env_dir: str) -> str:
    return f"{env_dir}/{c.name}.env"


def _start_steps(c: DesiredContainer, ref: str, *, after_exit: bool = True) -> list[str]:
    steps = [wait_exit_zero_command(dep, WAIT_MAX) for dep in c.after_exit] if after_exit else []
    steps.append(f"{shlex.join(A.start_argv(ref))} >/dev/null")
    if c.spec.healthcheck is not None and c.spec.healthcheck.test != ("NONE",):
        steps.append(wait_healthy_command(c.name, health_wait_seconds(c)))
    return steps


def env_file_of(c: DesiredContainer, env_dir: str) -> str | None:
    return _env_path(c, env_dir) if _secret_env(c) else None


def connect_steps(c: DesiredContainer, ref: str) -> list[str]:
    return [
        shlex.join(A.network_connect_argv(net, ref))
        for net in c.spec.networks[1:]
        if net.name != DEFAULT_BRIDGE
    ]


def create_and_start(c: DesiredContainer, env_dir: str) -> str:
    create = A.container_create_argv(c, env_file_of(c, env_dir))
    steps = [f"{shlex.join(create)} >/dev/null", *connect_steps(c, c.name)]
    if c.state == "running":
        steps += _start_steps(c, c.name)
    return join_steps(steps)


#: Stands for ``"$new"``, the new container's id, in the argv of a recreate's
#: steps that address it (Docker names cannot contain ``@``).
NEW_REF = "@new@"


def on_new(command: str) -> str:
    return command.replace(NEW_REF, '"$new"')


def swap_in(
    action: Action,
    c: DesiredContainer,
    env_dir: str,
    keep_old: bool = False,
    monitor: float | None = None,
) -> str:
    old = action.container_id or c.name
    create = A.container_create_argv(
        c, env_file_of(c, env_dir), name=c.name + NEW_SUFFIX, carried=action.carried_volumes
    )
    drop_new = f"{on_new(shlex.join(A.rm_argv(NEW_REF, force=True)))} >/dev/null"
    # Before the old container is touched: the new one's other networks, and
    # the one-shot jobs it depends on.  Subshells: a failing step exits them,
    # not the script, so the new container can be dropped / the old put back.
    prepare = connect_steps(c, NEW_REF)
    prepare += [wait_exit_zero_command(dep, WAIT_MAX) for dep in c.after_exit]
    swap = [
        f"{shlex.join(A.stop_argv(old, action.stop_timeout))} >/dev/null",
        shlex.join(A.rename_argv(old, c.name + OLD_SUFFIX)),
        "m=1",
        on_new(shlex.join(A.rename_argv(NEW_REF, c.name))),
    ]
    if c.state == "running" and monitor is None:
        swap.append(f"( {on_new(join_steps(_start_steps(c, NEW_REF, after_exit=False)))} )")
    elif c.state == "running" and monitor is not None:
        # The monitor window's baseline is taken right after the start, in this
        # shell: a restart during the health wait fails the window too.
        start, *waits = _start_steps(c, NEW_REF, after_exit=False)
        swap += [on_new(start), on_new(baseline_command(NEW_REF))]
        swap += [f"( {w} )" for w in waits]
        swap.append(f"( {monitor_command(c.name, monitor)} )")
    # A rollout keeps the old container, stopped and renamed aside, until the
    # whole rollout passed: going back is then a rename, with no pull.
    done = ":" if keep_old else f"{shlex.join(A.rm_argv(old))} >/dev/null"
    running = "{{.State.Running}}"
    put_back = _q(f"fleetform: {c.name}: the new container failed; the old one is put back")
    return "".join(
        [
            f"new=$({shlex.join(create)}) || exit 1; m=; ",
            f"if ! ( {on_new(join_steps(prepare))} ); then {drop_new}; exit 1; fi; "
            if prepare
            else "",
            f"r=$(docker container inspect --format {_q(running)} {_q(old)}) ",
            f"|| {{ {drop_new}; exit 1; }}; ",
            f"if {' && '.join(swap)}; then {done}; ",
            f"else echo {put_back} >&2; {drop_new}; ",
            f'if [ -n "$m" ]; then {shlex.join(A.rename_argv(old, c.name))}; fi; ',
            f'if [ "$r" = true ]; then {shlex.join(A.start_argv(old))} >/dev/null; fi; ',
            "exit 1; fi",
        ]
    )


def recreate_command(action: Action, env_dir: str = SECRET_ENV_DIR) -> str:
    """Replace a container so that a failure leaves the old one in place.

    1. create the new container under ``<name>.fleetform-new``, with the old
       container's anonymous volumes mounted again (``action.carried_volumes``),
       and connect its other networks: a value Docker rejects fails here,
       before the old container is touched;
    2. stop the old container (it may hold ports the new one needs), rename
       it ``<name>.fleetform-old``, rename the new one ``<name>``, start it
       and wait for its health;
    3. on success remove the old container, without ``--volumes``: its
       anonymous volumes are the new container's now; on any failure remove
       the new container, give the old one its name back and start it again
       if it was running.

    A container gone since the plan is simply created.
    """
    c = action.container
    assert c is not None
    old = action.container_id or c.name
    return if_owned(
        old,
        action.owner_stack,
        swap_in(action, c, env_dir),
        f"{{ {create_and_start(c, env_dir)}; }}",
    )


def _remove(action: Action) -> str:
    # Without --volumes (see argv.rm_argv): a removed container's anonymous
    # volumes stay on the host.
    ref = action.container_id or action.resource
    stop = shlex.join(A.stop_argv(ref, action.stop_timeout))
    rm = shlex.join(A.rm_argv(ref))
    return if_owned(
        ref, action.owner_stack, f"{_leave(action, ref)}{stop} >/dev/null && {rm} >/dev/null"
    )


def _leave(action: Action, ref: str) -> str:
    """A proxied replica leaves its backend before it stops: no request meets it stopped.

    Best effort: a proxy that does not answer does not keep the container running.
    """
    p = action.container.service.proxy if action.container is not None else None
    return f"( {leave_script(ref, p.drain if p else PROXY_DRAIN)}\n) || true; "


def _resource_command(action: Action) -> str | None:
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
        return shlex.join(A.load_argv(remote_archive_path(action.image)))
    if kind == "build" and action.image:
        return shlex.join(A.build_argv(action.image, remote_build_dir(action.image)))
    return None


def _container_command(action: Action, env_dir: str) -> str:
    kind = action.kind
    if kind == "remove":
        return _remove(action)
    c = action.container
    if c is None:
        raise ValueError(f"action {kind} {action.resource} carries no container")
    ref = action.container_id or c.name
    owner = action.owner_stack
    env_file = env_file_of(c, env_dir) if kind in ("create", "recreate") else None
    if kind == "create":
        command = create_and_start(c, env_dir)
    elif kind == "recreate":
        command = recreate_command(action, env_dir)
    elif kind == "update":
        return if_owned(ref, owner, shlex.join(A.update_argv(c.spec, ref)))
    elif kind == "stop":
        stop = shlex.join(A.stop_argv(ref, c.spec.stop_timeout))
        return if_owned(ref, owner, f"{_leave(action, ref)}{stop}")
    elif kind == "start":
        return if_owned(ref, owner, join_steps(_start_steps(c, ref)))
    else:
        raise ValueError(f"unknown action kind {kind}")
    # The uploaded secret env file goes when this command exits, however.
    return f"{remove_on_exit(env_file)}; {command}" if env_file else command


def action_command(action: Action, *, env_dir: str = SECRET_ENV_DIR) -> str:
    """The shell command for one action (``env_dir``: where :func:`secret_env_file` went).

    Build contexts and image archives are where :mod:`fleetform.executor.uploads`
    puts them (:func:`remote_build_dir`, :func:`remote_archive_path`).
    """
    command = _resource_command(action)
    return command if command is not None else _container_command(action, env_dir)


def host_commands(host_plan: HostPlan, *, env_dir: str = SECRET_ENV_DIR) -> list[str]:
    """One shell command per action of ``host_plan``, in plan order.

    ``env_dir``: where the caller uploads each action's :func:`secret_env_file`
    before running the action's command.  A plan with errors yields no command.
    """
    if host_plan.errors:
        return []
    return [action_command(a, env_dir=env_dir) for a in host_plan.actions]
