"""The bench's own lab (``FLEETFORM_LAB_NAME=bench``) and commands on its hosts.

The bench never uses the shared ``lab``: it brings up a lab named ``bench``
through fleetform's lab API, so recreating hosts for the engine-install
measurement cannot disturb anyone else's work.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.workload import IMAGE, LABEL_BENCH
from fleetform.lab.config import LabConfig

#: The full bench's lab; the smoke run (make test) has its own, so a test run
#: never resizes the lab under a running ``make bench``.
LAB_NAME = "bench"
SMOKE_LAB_NAME = "benchsmoke"


class HostError(Exception):
    """A command on a lab host failed; the message says which and why."""


@dataclass(frozen=True)
class Host:
    index: int
    name: str
    address: str


def _cfg() -> LabConfig:
    return LabConfig.for_name(lab_name())


def lab_name() -> str:
    return os.environ.get("FLEETFORM_LAB_NAME", LAB_NAME)


def select_lab(smoke: bool = False) -> str:
    """Make every fleetform call in this process and its children use the bench's lab."""
    os.environ["FLEETFORM_LAB_NAME"] = SMOKE_LAB_NAME if smoke else LAB_NAME
    return os.environ["FLEETFORM_LAB_NAME"]


def up(n: int) -> list[Host]:
    """The bench lab with exactly ``n`` hosts answering SSH (fleetform's lab API)."""
    from fleetform.lab import lifecycle

    cfg = _cfg()
    return [Host(int(h.name.rsplit("-", 1)[1]), h.name, h.address) for h in lifecycle.up(cfg, n)]


def down() -> None:
    """Remove the bench's lab (only objects labelled as this lab's; images stay cached)."""
    from fleetform.lab import lifecycle

    lifecycle.down(_cfg())


def recreate(indexes: list[int], n: int) -> list[Host]:
    """Remove hosts ``indexes`` (container and docker volume) and bring the lab back to ``n``.

    Safe: ``observe_hosts`` only returns containers labelled as the bench
    lab's, and ``remove_host`` only removes a volume carrying that label.
    """
    from fleetform.lab.hosts import observe_hosts, remove_host

    cfg = _cfg()
    for index, observed in observe_hosts(cfg).items():
        if index in indexes:
            remove_host(cfg, observed)
    return up(n)


def ssh_files() -> tuple[Path, Path]:
    """(private key, known_hosts) of the bench lab."""
    cfg = _cfg()
    return cfg.ssh_key, cfg.known_hosts


def ssh(host: Host, command: str, timeout: float = 120) -> str:
    """Run ``command`` on ``host`` as root (host key checking on); return stdout."""
    from fleetform.lab.ssh import ssh_argv

    argv = ssh_argv(_cfg(), host.address, command, timeout=10)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise HostError(f"{host.name}: `{command[:60]}` timed out after {timeout:.0f} s") from exc
    if proc.returncode != 0:
        raise HostError(f"{host.name}: `{command[:60]}` failed: {proc.stderr.strip()[-800:]}")
    return proc.stdout


# --- what the bench needs on a host ---------------------------------------------
PREPARE = f"""set -e
# sshd logs every session it starts at VERBOSE; the bench counts them.
if ! grep -qs '^LogLevel VERBOSE' /etc/ssh/sshd_config.d/bench.conf; then
  echo 'LogLevel VERBOSE' > /etc/ssh/sshd_config.d/bench.conf
  systemctl reload ssh
fi
# Ansible's docker_container runs Python on the host with the docker SDK.
if ! python3 -c 'import docker, requests' 2>/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq python3-docker >/dev/null
fi
docker image inspect {IMAGE} >/dev/null 2>&1 || docker pull -q {IMAGE} >/dev/null
"""


def prepare(host: Host) -> None:
    """sshd at VERBOSE, python3-docker for Ansible, the bench image pulled (idempotent)."""
    ssh(host, PREPARE, timeout=600)


def remove_bench_containers(host: Host) -> int:
    """Remove every container carrying the bench label; return how many.

    Safe: only containers labelled ``bench.tool`` (the bench created
    them, whichever tool it drove) are removed.
    """
    out = ssh(
        host,
        f"ids=$(docker ps -aq --filter label={LABEL_BENCH}); "
        'if [ -n "$ids" ]; then docker rm -f $ids; fi',
    )
    return len(out.split())


@dataclass(frozen=True)
class ContainerState:
    id: str
    started_at: str
    env: tuple[str, ...]


def snapshot(host: Host) -> dict[str, ContainerState]:
    """Every bench container on ``host`` by name: id, start time and env, from the docker CLI."""
    fmt = "{{json .Name}} {{json .Id}} {{json .State.StartedAt}} {{json .Config.Env}}"
    out = ssh(
        host,
        f"ids=$(docker ps -aq --filter label={LABEL_BENCH}); "
        f"if [ -n \"$ids\" ]; then docker inspect --format '{fmt}' $ids; fi",
    )
    return parse_snapshot(out)


def parse_snapshot(text: str) -> dict[str, ContainerState]:
    """Parse ``snapshot``'s lines: four JSON values separated by spaces."""
    states = {}
    decoder = json.JSONDecoder()
    for line in text.splitlines():
        values: list[Any] = []
        pos = 0
        while pos < len(line) and len(values) < 4:
            value, pos = decoder.raw_decode(line, pos)
            values.append(value)
            pos += 1
        if len(values) == 4:
            name, cid, started, env = values
            states[str(name).lstrip("/")] = ContainerState(cid, started, tuple(env or ()))
    return states


def touched(before: dict[str, ContainerState], after: dict[str, ContainerState]) -> list[str]:
    """Names whose container was replaced, restarted, created or removed."""
    names = set(before) | set(after)
    return sorted(
        n
        for n in names
        if n not in before
        or n not in after
        or (before[n].id, before[n].started_at) != (after[n].id, after[n].started_at)
    )


def docker_version(host: Host) -> str:
    return ssh(host, "docker version --format '{{.Server.Version}}'").strip()
