"""POSIX shell glue around the docker argv of :mod:`fleetform.executor.argv`.

Pure string builders, quoted once with :func:`shlex.quote` / :func:`shlex.join`:
the on-host ownership re-check, the waits that follow a ``docker start``, and
the removal of a secret env file on every exit path.  Example::

    >>> if_owned("abc", "demo", "docker stop abc").startswith("if l=$(docker container inspect")
    True
"""

from __future__ import annotations

import shlex

from fleetform.model import LABEL_STACK

_q = shlex.quote


def join_steps(steps: list[str]) -> str:
    """``a && b && { c; d; }``: each step runs only if the one before succeeded."""
    return " && ".join(f"{{ {s}; }}" if ";" in s else s for s in steps)


def if_owned(ref: str, stack: str | None, then: str, gone: str = ":") -> str:
    """Run ``then`` only if container ``ref`` still carries ``fleetform.stack=stack``.

    Fails closed: a container that is no longer there runs ``gone`` (nothing
    by default), and only Docker's "No such container" counts as not there;
    any other ``docker inspect`` error (daemon down, permission denied) fails
    the step with Docker's message, and nothing is touched.
    """
    fmt = "{{index .Config.Labels " + f'"{LABEL_STACK}"' + "}}"
    refuse = _q(f"fleetform: refusing to touch {ref}: not labelled {LABEL_STACK}={stack}")
    cannot = _q(f"fleetform: cannot check who owns {ref}, nothing done:")
    return (
        f"if l=$(docker container inspect --format {_q(fmt)} {_q(ref)} 2>&1); then "
        f'if [ "$l" != {_q(stack or "")} ]; then echo {refuse} >&2; exit 1; fi; {then}; '
        'else case "$l" in *"No such container"*|*"No such object"*) '
        f'{gone} ;; *) echo {cannot} "$l" >&2; exit 1 ;; esac; fi'
    )


def wait_healthy_command(name: str, seconds: int) -> str:
    """Poll until ``name`` is healthy; fail with its last health output after ``seconds``."""
    fmt = "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}"
    last = '{{$o := ""}}{{range .State.Health.Log}}{{$o = .Output}}{{end}}{{$o}}'
    n = _q(name)
    fail = (
        f"echo {_q(f'fleetform: container {name} is not healthy after')} "
        '"${i}s (state: $s); last health check output:" >&2; '
        f"docker inspect --format {_q(last)} {n} >&2; exit 1"
    )
    return (
        f"i=0; while :; do s=$(docker inspect --format {_q(fmt)} {n}) || exit 1; "
        'case "$s" in "running healthy"|"running none") break ;; '
        f'"running unhealthy"|exited*|dead*) {fail} ;; esac; '
        f'if [ "$i" -ge {seconds} ]; then {fail}; fi; sleep 1; i=$((i+1)); done'
    )


#: The shell variable that holds a container's restart count and start time as
#: they were right after ``docker start`` (:func:`baseline_command`).
BASELINE = "ff_started"
_BASELINE_FORMAT = "{{.RestartCount}} {{.State.StartedAt}}"


def baseline_command(ref: str) -> str:
    """Record ``ref``'s restart count and start time in ``$ff_started``.

    Run right after ``docker start``, in the shell that later runs
    :func:`monitor_command` (or its parent): a restart during the health wait
    that follows is then a restart the monitor window sees.
    """
    return f"{BASELINE}=$(docker inspect --format {_q(_BASELINE_FORMAT)} {_q(ref)})"


def monitor_command(name: str, seconds: float) -> str:
    """Fail unless ``name`` stays up for ``seconds``: running, healthy if it has a
    healthcheck, not restarted and not OOM-killed.

    A restart is a new RestartCount (the restart policy) or a new start time: a
    dockerd restart starts the container again without counting it.  Both are
    compared with ``$ff_started``, taken when the container started
    (:func:`baseline_command`): a restart during the health wait before the
    window counts too.
    """
    n = _q(name)
    fmt = (
        "{{.State.Status}} {{.RestartCount}} {{.State.StartedAt}} {{.State.OOMKilled}} "
        "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}"
    )
    fail = _q(f"fleetform: container {name} did not stay up for {seconds:g}s")
    unknown = _q(f"fleetform: container {name}: its start was not recorded")
    return (
        f'n0=${BASELINE}; [ -n "$n0" ] || {{ echo {unknown} >&2; exit 1; }}; '
        f"i=0; while :; do s=$(docker inspect --format {_q(fmt)} {n}) || "
        f'{{ echo {fail} "(the engine did not answer)" >&2; exit 1; }}; '
        'case "$s" in "running $n0 false healthy"|"running $n0 false none") ;; '
        f'*) echo {fail} "(status restarts started oom-killed health: $s)" >&2; exit 1 ;; '
        "esac; "
        f'if [ "$i" -ge {max(1, round(seconds))} ]; then break; fi; sleep 1; i=$((i+1)); done'
    )


def wait_exit_zero_command(name: str, seconds: int = 180) -> str:
    """Wait for the one-shot container ``name`` to exit, and fail unless it exited 0."""
    n = _q(name)
    return (
        f'rc=$(timeout {seconds} docker wait {n}) && [ "$rc" = 0 ] || '
        f"{{ echo {_q(f'fleetform: {name} did not complete successfully')} "
        '"(exit code: ${rc:-timeout})" >&2; exit 1; }'
    )


def remove_on_exit(path: str) -> str:
    """``trap``: remove ``path`` when the command's shell exits, whatever the outcome.

    A hang-up or termination exits (and so runs the EXIT trap) as well.
    """
    return f"trap {_q(f'rm -f -- {_q(path)}')} EXIT; trap 'exit 1' HUP INT TERM"
