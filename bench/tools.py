"""One adapter per tool: write the tool's input for some containers, run it, time it.

Every adapter runs the tool's own command line in a subprocess, so each
measured time includes the tool's start-up, as a user (or CI) pays it:

- fleetform: ``fleetform apply -i INVENTORY STACK --yes --json``;
- Ansible: ``ansible-playbook`` with a loop over ``community.docker.docker_container``,
  tuned as Ansible's docs advise for speed: pipelining on, fact gathering
  off, OpenSSH multiplexing (a fresh control socket per run, so no run
  reuses a connection of the previous one);
- pyinfra: ``pyinfra INVENTORY deploy.py -y`` with one ``docker.container``
  operation per container.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import workload
from bench.labhosts import Host, ssh_files
from bench.paths import REPO, WORK

VENV_BIN = Path(sys.executable).parent


class ToolError(Exception):
    """A tool run failed; the message holds the tool's own output."""


@dataclass(frozen=True)
class Run:
    seconds: float
    output: str


def _timed(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    t0 = time.monotonic()
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=cwd or REPO,
    )
    seconds = time.monotonic() - t0
    if proc.returncode != 0:
        tail = (proc.stdout[-1500:] + "\n" + proc.stderr[-1500:]).strip()
        raise ToolError(f"{Path(argv[0]).name} exited {proc.returncode}:\n{tail}")
    return Run(seconds, proc.stdout)


def pyinfra_inventory(hosts: list[Host], path: Path) -> Path:
    """A pyinfra inventory file for ``hosts`` (fleetform and pyinfra both read it)."""
    key, known_hosts = ssh_files()
    lines = ["# written by the bench harness", "bench = ["]
    for h in hosts:
        data = {
            "ssh_hostname": h.address,
            "ssh_user": "root",
            "ssh_key": str(key),
            "ssh_known_hosts_file": str(known_hosts),
            "ssh_strict_host_key_checking": "yes",
        }
        lines.append(f"    ({h.name!r}, {data!r}),")
    lines.append("]")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


class Fleetform:
    key = "fleetform"
    label = "fleetform apply"

    def __init__(self, work: Path = WORK / "fleetform") -> None:
        self.work = work

    def converge(self, hosts: list[Host], specs: list[workload.ContainerSpec]) -> Run:
        stack = workload.write_json(self.work / "benchff.yml", workload.fleetform_stack(specs))
        return self._apply(hosts, stack)

    def install_engine(self, hosts: list[Host]) -> Run:
        stack = workload.write_json(self.work / "benchengine.yml", workload.engine_stack())
        return self._apply(hosts, stack)

    def _apply(self, hosts: list[Host], stack: Path) -> Run:
        inventory = pyinfra_inventory(hosts, self.work / f"inventory_{len(hosts)}.py")
        argv = [str(VENV_BIN / "fleetform"), "apply", "-i", str(inventory), str(stack)]
        return _timed([*argv, "--yes", "--json"])


class Pyinfra:
    key = "pyinfra"
    label = "pyinfra docker.container"

    def __init__(self, work: Path = WORK / "pyinfra") -> None:
        self.work = work

    def converge(self, hosts: list[Host], specs: list[workload.ContainerSpec]) -> Run:
        specs_file = workload.write_json(self.work / "specs.json", workload.pyinfra_specs(specs))
        deploy = self.work / "deploy.py"
        deploy.write_text(workload.PYINFRA_DEPLOY)
        inventory = pyinfra_inventory(hosts, self.work / f"inventory_{len(hosts)}.py")
        argv = [str(VENV_BIN / "pyinfra"), "-y", str(inventory), str(deploy)]
        return _timed(argv, env={"BENCH_PYINFRA_SPECS": str(specs_file)}, cwd=self.work)


class Ansible:
    key = "ansible"
    label = "Ansible docker_container"

    def __init__(self, venv: Path, work: Path = WORK / "ansible") -> None:
        self.venv = venv
        self.work = work

    def converge(self, hosts: list[Host], specs: list[workload.ContainerSpec]) -> Run:
        playbook = workload.write_json(self.work / "play.yml", workload.ansible_playbook(specs))
        inventory = self._inventory(hosts)
        self.work.mkdir(parents=True, exist_ok=True)
        control = Path(tempfile.mkdtemp(prefix="cp-", dir=self.work))
        try:
            env = {
                "ANSIBLE_CONFIG": str(self._config()),
                "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control),
            }
            argv = [str(self.venv / "bin/ansible-playbook"), "-i", str(inventory), str(playbook)]
            return _timed(argv, env=env, cwd=self.work)
        finally:
            self._close_masters(control)

    def _inventory(self, hosts: list[Host]) -> Path:
        key, _ = ssh_files()
        lines = ["[bench]"]
        lines += [
            f"{h.name} ansible_host={h.address} ansible_user=root "
            f"ansible_ssh_private_key_file={key}"
            for h in hosts
        ]
        path = self.work / f"inventory_{len(hosts)}.ini"
        path.write_text("\n".join(lines) + "\n")
        return path

    def _config(self) -> Path:
        _, known_hosts = ssh_files()
        path = self.work / "ansible.cfg"
        path.write_text(
            "[defaults]\n"
            "host_key_checking = True\n"
            "forks = 50\n"
            "interpreter_python = /usr/bin/python3\n"
            "gathering = explicit\n"
            "retry_files_enabled = False\n"
            "[ssh_connection]\n"
            "pipelining = True\n"
            "ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o IdentitiesOnly=yes "
            f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes\n"
        )
        return path

    @staticmethod
    def _close_masters(control: Path) -> None:
        """End the run's OpenSSH masters, so the next run starts cold and nothing lingers."""
        for sock in control.iterdir():
            subprocess.run(
                ["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "bench"],
                capture_output=True,
                check=False,
            )
        shutil.rmtree(control, ignore_errors=True)


def bare_apt_install(host: Host) -> Run:
    """The floor for an engine install: apt-get over one SSH command, until docker answers."""
    from bench.labhosts import ssh

    command = (
        "set -e; export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; "
        "apt-get install -y -qq docker.io >/dev/null; "
        "for i in $(seq 100); do docker info >/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1"
    )
    t0 = time.monotonic()
    out = ssh(host, command, timeout=900)
    return Run(time.monotonic() - t0, out)
