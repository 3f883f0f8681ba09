"""Shell steps that move a host's engine from what it is to what it should be.

Pure: each builder reads ``EngineSettings`` and an observed ``EngineState``
and returns the steps to run, in order (an empty list means "nothing to
do").  Every value from settings or a host is quoted once, here, with
``shlex``; an operation joins the steps with `` && `` into one command, so a
change costs one round trip.

Example::

    >>> from pathlib import Path
    >>> from fleetform.engine.state import parse_engine_state
    >>> def recorded(name):  # output of FACT_SCRIPT recorded on real hosts
    ...     text = Path(f"tests/engine/data/{name}.txt").read_text()
    ...     return parse_engine_state(text.splitlines())
    >>> from fleetform.engine.settings import EngineSettings
    >>> service_steps(EngineSettings(), recorded("debian-systemd-fresh"))[0]
    'systemctl enable --now containerd.service docker.service'
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import shlex

from fleetform.engine.packages import PackagePlan, RepoFile, dockerd_path, package_plan
from fleetform.engine.settings import EngineSettings
from fleetform.engine.state import ADDED_CAS, ADDED_USERS, CERTS_DIR, DAEMON_JSON, EngineState
from fleetform.model import RegistryCA

DAEMON_JSON_NEW = f"{DAEMON_JSON}.fleetform-new"
DAEMON_JSON_BACKUP = f"{DAEMON_JSON}.fleetform-backup"
# systemd refuses a unit's start after StartLimitBurst starts (manual ones
# count) within StartLimitIntervalSec; a deliberate restart, and above all the
# restore after a failed one, must not be refused for that.
_RESET = (
    "{ systemctl reset-failed docker.service 2>/dev/null; "
    "systemctl reset-failed docker.socket 2>/dev/null; true; }"
)

DOCKERD_PIDFILE = "/var/run/docker.pid"  # written by dockerd itself
BACKGROUND_PIDFILE = "/run/dockerd.pid"
BACKGROUND_LOG = "/var/log/fleetform-dockerd.log"
SOCKET_WAIT_SECONDS = 60


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sh(*argv: str) -> str:
    """One argv as a shell word list, quoted once."""
    return shlex.join(argv)


def write_file(path: str, content: str) -> str:
    """Write through a temporary file and rename, so readers never see half a file."""
    tmp = f"{path}.fleetform-tmp"
    return " && ".join(
        [
            sh("mkdir", "-p", posixpath.dirname(path)),
            f"printf %s {shlex.quote(content)} > {shlex.quote(tmp)}",
            sh("chmod", "0644", tmp),
            sh("mv", "-f", tmp, path),
        ]
    )


def wait_for_socket() -> str:
    """Poll until dockerd answers on its socket; fail with its last log lines if not."""
    tries = SOCKET_WAIT_SECONDS * 2
    # Braces keep the loop one command, so it chains with && like an argv.
    return (
        "{ i=0; until docker version >/dev/null 2>&1; do i=$((i+1)); "
        f"if [ $i -ge {tries} ]; then echo 'dockerd did not answer on /var/run/docker.sock "
        f"within {SOCKET_WAIT_SECONDS} s' >&2; tail -n 20 {BACKGROUND_LOG} >&2 2>/dev/null; "
        "exit 1; fi; sleep 0.5; done; }"
    )


# -- packages ------------------------------------------------------------------


def _repo_steps(plan: PackagePlan, repo: RepoFile, state: EngineState) -> list[str]:
    steps: list[str] = []
    key_missing = repo.key is not None and repo.key[1] not in state.files
    if key_missing and repo.key is not None:
        url, key_path = repo.key
        if plan.repo_prerequisites:
            steps += _apt_install(plan.repo_prerequisites, update=True)
        steps += [
            sh("install", "-m", "0755", "-d", posixpath.dirname(key_path)),
            sh("curl", "-fsSL", url, "-o", key_path),
            sh("chmod", "a+r", key_path),
        ]
    if state.files.get(repo.path) != sha256_text(repo.content):
        steps.append(write_file(repo.path, repo.content))
    return steps


def _apt_install(specs: tuple[str, ...], update: bool) -> list[str]:
    steps = [sh("apt-get", "update", "-qq")] if update else []
    steps.append(
        sh(
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            "apt-get",
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "--allow-downgrades",
            *specs,
        )
    )
    return steps


def package_steps(settings: EngineSettings, state: EngineState) -> list[str]:
    """Repository (docker-ce only) and packages; apt's index is updated once, only
    when something is installed."""
    plan = package_plan(settings.source, settings.version, state.os)
    steps = _repo_steps(plan, plan.repo, state) if plan.repo else []
    missing = plan.missing(state.packages)
    if not missing and not steps:
        return []
    if not missing:
        # The repository changed but packages are fine: refresh apt's index so
        # the next install sees the new source, nothing more.
        return [*steps, sh("apt-get", "update", "-qq")] if plan.manager == "apt" else steps
    if plan.manager == "apt":
        # A fresh key/repo install already ran apt-get update for curl; update
        # again after the new source exists.
        return steps + _apt_install(missing, update=True)
    return [*steps, sh("dnf", "-y", "-q", "install", *missing)]


# -- configuration ---------------------------------------------------------------


def daemon_json_steps(settings: EngineSettings, state: EngineState) -> list[str]:
    """Write or remove daemon.json; restart a running dockerd in the same command.

    Restarting in the same step as the write is what makes "restart exactly once
    when it changed" hold: a later operation cannot see the old file any more.
    Nothing happens when no stack manages daemon.json (``daemon_json`` is None).
    The new file is written aside and checked first; a restart is guarded
    (``guarded_restart``).
    """
    wanted = settings.daemon_json
    if wanted is None:
        return []
    have = state.daemon_json_sha256
    steps: list[str] = []
    if json.loads(wanted) == {}:
        if have is None:
            return []
        install = sh("rm", "-f", DAEMON_JSON)
    else:
        content = wanted + "\n"
        if have == sha256_text(content):
            return []
        steps = [write_file(DAEMON_JSON_NEW, content), validate_daemon_json(settings, state)]
        install = sh("mv", "-f", DAEMON_JSON_NEW, DAEMON_JSON)
    if state.dockerd_pid is None:
        return [*steps, install]
    return [*steps, *guarded_restart(settings, state, install)]


def validate_daemon_json(settings: EngineSettings, state: EngineState) -> str:
    """``dockerd --validate`` on the new file, where this dockerd has it (23.0 and
    later; Debian 12's 20.10 has not, and is then left to the restart guard)."""
    dockerd = shlex.quote(dockerd_path(settings.source, state.os))
    new = shlex.quote(DAEMON_JSON_NEW)
    refused = shlex.quote(f"dockerd --validate refused the new {DAEMON_JSON}:")
    return (
        f"{{ if [ -x {dockerd} ] && {dockerd} --help 2>&1 | grep -q -e --validate; then "
        f"out=$({dockerd} --validate --config-file {new} 2>&1) || "
        f'{{ rm -f {new}; echo {refused} "$out" >&2; exit 1; }}; fi; }}'
    )


#: seconds a host's containers have, all together, to be healthy again after a restart
HEALTH_GATE_SECONDS = 180


def _health_gate() -> str:
    """Wait until every container in ``$running`` runs again, healthy if it has a
    healthcheck; ``failed=1`` (with a message) for one that does not within
    :data:`HEALTH_GATE_SECONDS`.  The step runs host by host, so the next host
    restarts only once this one's containers are back (docs/rollouts.md)."""
    fmt = shlex.quote(
        "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}"
    )
    return (
        "t=0; for c in $running; do while :; do "
        f's=$(docker inspect -f {fmt} "$c" 2>/dev/null) || break; '
        'case "$s" in "running healthy"|"running none") break ;; '
        '"running unhealthy"|exited*|dead*) echo "container $c is not healthy again after '
        'the restart ($s)" >&2; failed=1; break ;; esac; '
        f'if [ "$t" -ge {HEALTH_GATE_SECONDS} ]; then echo "container $c is not healthy '
        f'{HEALTH_GATE_SECONDS}s after the restart ($s)" >&2; failed=1; break; fi; '
        "sleep 1; t=$((t+1)); done; done"
    )


def _record_running(otherwise: str) -> str:
    """``$running``: the containers running now (they must run again after a restart)."""
    return (
        "{ running=$(docker ps -q --no-trunc) || { echo "
        + shlex.quote(f"cannot list the running containers, so {otherwise}")
        + " >&2; exit 1; }; }"
    )


def _start_running() -> str:
    """Start each container of ``$running`` that a restart stopped; ``failed=1`` if one
    does not start."""
    return (
        "failed=; for c in $running; do "
        f'st=$(docker inspect -f {shlex.quote("{{.State.Running}}")} "$c" 2>/dev/null) '
        '|| continue; [ "$st" = true ] || docker start "$c" >/dev/null || { echo "container '
        '$c was running before the restart and does not start again" >&2; failed=1; }; done'
    )


def install_steps(settings: EngineSettings, state: EngineState) -> list[str]:
    """Packages for a host whose dockerd does not run (a fresh install): all hosts at once."""
    return [] if state.dockerd_pid is not None else package_steps(settings, state)


def upgrade_steps(settings: EngineSettings, state: EngineState) -> list[str]:
    """Packages changed on a host whose dockerd runs: its running containers are
    recorded, the packages installed (their scripts restart the engine), and the
    step waits until dockerd answers and those containers run again, healthy where
    they have a healthcheck (the health gate).  The operation runs host by host,
    so the next host upgrades only after that (docs/engine.md)."""
    if state.dockerd_pid is None:
        return []
    steps = package_steps(settings, state)
    if not steps:
        return []
    back = shlex.quote("dockerd does not answer after the package upgrade")
    return [
        _record_running("the packages were not upgraded"),
        *steps,
        f"{{ ( {wait_for_socket()} ) || {{ echo {back} >&2; exit 1; }}; }}",
        f'{{ {_start_running()}; {_health_gate()}; [ -z "$failed" ]; }}',
    ]


def guarded_restart(settings: EngineSettings, state: EngineState, install: str) -> list[str]:
    """Install the new daemon.json and restart dockerd, without losing the host.

    - The containers running before are listed first; a restart without
      ``live-restore`` stops them, and ``restart: no`` ones stay stopped, so
      they are started again afterwards.  Only those: a container that was
      stopped before stays stopped.  The step then waits until they all run
      again, healthy where they have a healthcheck (the health gate: the
      step runs host by host, so the next host restarts only after that).
    - The old file is copied to ``daemon.json.fleetform-backup``.  When dockerd
      does not come back, the old file is put back and dockerd restarted with
      it; the step then fails, saying why.
    """
    json_file, backup = shlex.quote(DAEMON_JSON), shlex.quote(DAEMON_JSON_BACKUP)
    restart = " && ".join(restart_steps(settings, state)[:-1])
    reason = ""
    if state.init == "systemd":
        restart = f"{_RESET} && {restart}"
        reason = "journalctl -u docker.service -n 10 -o cat --no-pager >&2 2>/dev/null; "
    record = _record_running("dockerd was not restarted")
    back_up = (
        f"{{ if [ -f {json_file} ]; then cp -p {json_file} {backup} && had=1; "
        f"else rm -f {backup} && had=0; fi; }}"
    )
    came_back = shlex.quote(
        f"dockerd did not come back with the new {DAEMON_JSON}: putting the previous one back"
    )
    restore = (
        f"{{ if {{ {restart}; }} && ( {wait_for_socket()} ); then ok=1; else ok=0; "
        f"echo {came_back} >&2; {reason}"
        f'if [ "$had" = 1 ]; then cp -p {backup} {json_file}; else rm -f {json_file}; fi; '
        f"{{ {restart}; }} && ( {wait_for_socket()} ) || {{ echo 'dockerd does not start "
        "with the previous daemon.json either' >&2; exit 1; }; fi; }"
    )
    restart_containers = (
        f"{{ {_start_running()}; "
        f"{_health_gate()}; "
        '[ "$ok" = 1 ] || { echo \'the previous daemon.json is back and dockerd runs with '
        'it; the new one was not applied\' >&2; exit 1; }; [ -z "$failed" ]; }'
    )
    return [record, back_up, install, restore, restart_containers]


def registries_to_write(settings: EngineSettings, state: EngineState) -> list[RegistryCA]:
    """Declared CAs whose ca.crt is missing or differs."""
    return [
        reg
        for reg in settings.registries
        if state.certs.get(reg.registry) != sha256_text(_pem(reg.ca_cert))
    ]


def registries_to_remove(settings: EngineSettings, state: EngineState) -> list[str]:
    """CAs fleetform installed that no stack (or host data) declares any more.

    Only those: a ca.crt fleetform never wrote is the host's own and stays.
    """
    declared = {reg.registry for reg in settings.registries}
    return [r for r in state.added_registries if r not in declared and r in state.certs]


def registry_cert_steps(settings: EngineSettings, state: EngineState) -> list[str]:
    """CA certificates under certs.d; dockerd reads them per pull, so no restart."""
    written = registries_to_write(settings, state)
    steps = [write_file(f"{CERTS_DIR}/{reg.registry}/ca.crt", _pem(reg.ca_cert)) for reg in written]
    for registry in registries_to_remove(settings, state):
        folder = f"{CERTS_DIR}/{registry}"
        # rmdir: only when the folder is empty (client certificates stay)
        steps.append(
            f"{sh('rm', '-f', f'{folder}/ca.crt')} && {{ {sh('rmdir', folder)} "
            "2>/dev/null || true; }"
        )
    declared = {reg.registry for reg in settings.registries}
    kept = {r for r in state.added_registries if r in declared}
    return steps + _record(
        ADDED_CAS, kept | {reg.registry for reg in written}, state.added_registries
    )


def _pem(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _record(path: str, names: set[str], recorded: tuple[str, ...]) -> list[str]:
    """Rewrite a record of what fleetform added, when it changes."""
    if names == set(recorded):
        return []
    return [write_file(path, "".join(f"{name}\n" for name in sorted(names)))]


# -- service ---------------------------------------------------------------------


def background_start(settings: EngineSettings, state: EngineState) -> str:
    """Start dockerd supervised by start-stop-daemon where no init system can.

    dockerd starts its own containerd when none is running.
    """
    return sh(
        "start-stop-daemon",
        "--start",
        "--background",
        "--make-pidfile",
        "--pidfile",
        BACKGROUND_PIDFILE,
        "--output",
        BACKGROUND_LOG,
        "--exec",
        dockerd_path(settings.source, state.os),
    )


def restart_steps(settings: EngineSettings, state: EngineState) -> list[str]:
    if state.init == "systemd":
        return [sh("systemctl", "restart", "docker.service"), wait_for_socket()]
    if state.init == "sysvinit":
        return [sh("service", "docker", "restart"), wait_for_socket()]
    # The pidfile dockerd writes itself names this host's dockerd; matching by
    # executable alone could also hit the dockerd of a container on this host.
    stop = sh(
        "start-stop-daemon",
        "--stop",
        "--quiet",
        "--oknodo",
        "--retry",
        "TERM/30/KILL/5",
        "--pidfile",
        DOCKERD_PIDFILE,
        "--exec",
        dockerd_path(settings.source, state.os),
    )
    return [stop, background_start(settings, state), wait_for_socket()]


def service_steps(settings: EngineSettings, state: EngineState) -> list[str]:
    """dockerd and containerd enabled at boot and running, per init system."""
    running = state.dockerd_pid is not None
    if state.init == "systemd":
        units_ok = all(state.enabled.get(u) for u in ("docker", "containerd"))
        if units_ok and running and state.containerd_pid is not None:
            return []
        return [
            sh("systemctl", "enable", "--now", "containerd.service", "docker.service"),
            wait_for_socket(),
        ]
    if state.init == "sysvinit":
        steps = [] if state.enabled.get("docker") else [sh("update-rc.d", "docker", "defaults")]
        if not running:
            steps += [sh("service", "docker", "start"), wait_for_socket()]
        return steps
    if running:
        return []
    return [background_start(settings, state), wait_for_socket()]


def users_to_add(settings: EngineSettings, state: EngineState) -> list[str]:
    members = set(state.docker_group or ())
    return [user for user in settings.users if user not in members]


def users_to_remove(settings: EngineSettings, state: EngineState) -> list[str]:
    """Users fleetform added to the docker group that no stack declares any more.

    Only those: a member fleetform did not add was put there by someone else.
    """
    members = set(state.docker_group or ())
    return [u for u in state.added_users if u not in settings.users and u in members]


def docker_group_steps(settings: EngineSettings, state: EngineState) -> list[str]:
    added = users_to_add(settings, state)
    steps = [sh("usermod", "-aG", "docker", user) for user in added]
    steps += [sh("gpasswd", "-d", user, "docker") for user in users_to_remove(settings, state)]
    kept = {u for u in state.added_users if u in settings.users}
    return steps + _record(ADDED_USERS, kept | set(added), state.added_users)
