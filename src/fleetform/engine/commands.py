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
from fleetform.engine.state import CERTS_DIR, DAEMON_JSON, EngineState

DOCKERD_PIDFILE = "/var/run/docker.pid"  # written by dockerd itself
BACKGROUND_PIDFILE = "/run/dockerd.pid"
BACKGROUND_LOG = "/var/log/fleetform-dockerd.log"
SOCKET_WAIT_SECONDS = 60


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sh(*argv: str) -> str:
    """One argv as a shell word list, quoted once."""
    return shlex.join(argv)


def write_file(path: str, content: str, mode: str = "0644") -> str:
    """Write through a temporary file and rename, so readers never see half a file."""
    tmp = f"{path}.fleetform-tmp"
    return " && ".join(
        [
            sh("mkdir", "-p", posixpath.dirname(path)),
            f"printf %s {shlex.quote(content)} > {shlex.quote(tmp)}",
            sh("chmod", mode, tmp),
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
    """
    wanted = settings.daemon_json
    if wanted is None:
        return []
    have = state.daemon_json_sha256
    if json.loads(wanted) == {}:
        if have is None:
            return []
        steps = [sh("rm", "-f", DAEMON_JSON)]
    else:
        content = wanted + "\n"
        if have == sha256_text(content):
            return []
        steps = [write_file(DAEMON_JSON, content)]
    if state.dockerd_pid is not None:
        steps += restart_steps(settings, state)
    return steps


def registry_cert_steps(settings: EngineSettings, state: EngineState) -> list[str]:
    """CA certificates under certs.d; dockerd reads them per pull, so no restart."""
    steps = []
    for reg in settings.registries:
        content = reg.ca_cert if reg.ca_cert.endswith("\n") else reg.ca_cert + "\n"
        if state.certs.get(reg.registry) != sha256_text(content):
            steps.append(write_file(f"{CERTS_DIR}/{reg.registry}/ca.crt", content))
    return steps


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


def docker_group_steps(settings: EngineSettings, state: EngineState) -> list[str]:
    members = set(state.docker_group or ())
    return [sh("usermod", "-aG", "docker", user) for user in settings.users if user not in members]
