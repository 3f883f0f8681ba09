"""End to end: the shared lab's hosts are real Debian hosts, reachable only with checked keys.

Read-only on the shared lab (other engineers' tests use it at the same time):
every check looks at the hosts from outside, over SSH with the lab's
known_hosts, or through the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fleetform.lab import RunningLab, ensure_lab
from fleetform.lab.ssh import ssh_argv

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
CA = "/etc/docker/certs.d/registry.lab:5000/ca.crt"


def out(lab: RunningLab, host: str, command: str) -> str:
    proc = lab.run(host, command)
    assert proc.returncode == 0, f"{host}: {command}: {proc.stderr}"
    return proc.stdout.strip()


def test_the_lab_has_three_running_hosts_in_web_and_the_last_in_db(lab: RunningLab) -> None:
    names = [h.name for h in lab.hosts]
    assert names[:3] == ["lab-1", "lab-2", "lab-3"]
    assert all(h.state == "running" for h in lab.hosts)
    assert [h.name for h in lab.hosts if "db" in h.groups] == [names[-1]]


def test_every_host_runs_systemd_as_pid_1_with_sshd_and_python3(lab: RunningLab) -> None:
    for host in lab.hosts:
        assert out(lab, host.name, "ps -p 1 -o comm=") == "systemd"
        assert out(lab, host.name, "systemctl is-active ssh") == "active"
        assert out(lab, host.name, "systemctl is-system-running") in ("running", "degraded")
        assert out(lab, host.name, "python3 -c 'print(6*7)'") == "42"


def test_every_host_has_its_own_name_and_address(lab: RunningLab) -> None:
    for host in lab.hosts:
        assert out(lab, host.name, "hostname") == host.name
        assert f"inet {host.address}/24" in out(lab, host.name, "ip -4 -o addr show eth0")


def test_every_host_has_its_own_host_key_and_no_other_key_type(lab: RunningLab) -> None:
    keys = {h.name: out(lab, h.name, "cat /etc/ssh/ssh_host_ed25519_key.pub") for h in lab.hosts}
    assert len(set(keys.values())) == len(keys)
    assert out(lab, "lab-1", "ls /etc/ssh | grep -c '^ssh_host_' || true") == "2"
    machine_ids = {out(lab, h.name, "cat /etc/machine-id") for h in lab.hosts}
    assert len(machine_ids) == len(lab.hosts)


def test_a_host_presenting_another_hosts_key_is_refused(lab: RunningLab, tmp_path: Path) -> None:
    # known_hosts that pins lab-1's address to lab-2's key: ssh must refuse.
    lines = lab.ssh.known_hosts_file.read_text().splitlines()
    lab2_key = next(line for line in lines if line.startswith("lab-2,")).split(None, 1)[1]
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"{lab.host('lab-1').address} {lab2_key}\n")
    argv = ssh_argv(lab.cfg, lab.host("lab-1").address, "true")
    argv[argv.index(f"UserKnownHostsFile={lab.ssh.known_hosts_file}")] = (
        f"UserKnownHostsFile={wrong}"
    )
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "HOST IDENTIFICATION HAS CHANGED" in proc.stderr or "verification failed" in proc.stderr


def test_hosts_resolve_each_other_and_the_registry_by_lab_names(lab: RunningLab) -> None:
    registry = str(lab.cfg.registry_address)
    for host in lab.hosts:
        assert out(lab, host.name, "getent hosts registry.lab").split()[0] == registry
        other = lab.hosts[0] if host is not lab.hosts[0] else lab.hosts[-1]
        got = out(lab, host.name, f"getent hosts {other.name}.lab").split()[0]
        assert got == other.address


def test_every_host_reaches_the_registry_over_tls_with_the_lab_ca(lab: RunningLab) -> None:
    for host in lab.hosts:
        assert out(lab, host.name, f"cat {CA}") == lab.ca_pem.strip()
        code = out(lab, host.name, f"curl -sS -o /dev/null -w '%{{http_code}}' --cacert {CA} "
                                   "https://registry.lab:5000/v2/")  # fmt: skip
        assert code == "200"
        # Without the lab CA the certificate is not trusted: TLS is real.
        assert lab.run(host.name, "curl -sS https://registry.lab:5000/v2/").returncode != 0


def test_the_registry_holds_the_demo_images(lab: RunningLab) -> None:
    tags = json.loads(
        out(lab, "lab-1", f"curl -sS --cacert {CA} https://registry.lab:5000/v2/fleetform/demo/tags/list")
    )  # fmt: skip
    assert sorted(tags["tags"]) == ["1", "2", "broken"]
    busybox = json.loads(
        out(lab, "lab-1", f"curl -sS --cacert {CA} https://registry.lab:5000/v2/fleetform/busybox/tags/list")
    )  # fmt: skip
    assert busybox["tags"] == ["1"]


def test_hosts_can_install_packages_from_the_mirror(lab: RunningLab) -> None:
    policy = out(lab, "lab-1", "apt-cache policy docker.io")
    assert "Candidate:" in policy and "(none)" not in policy


def test_status_json_lists_the_hosts(lab: RunningLab) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fleetform.cli", "lab", "status", "--json"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    status = json.loads(proc.stdout)
    assert [(h["name"], h["address"], h["container"]) for h in status] == [
        (h.name, h.address, h.container) for h in lab.hosts
    ]


def test_plain_pyinfra_runs_commands_through_the_lab_inventory(
    lab: RunningLab, lab_inventory: Path
) -> None:
    pyinfra = Path(sys.executable).with_name("pyinfra")
    proc = subprocess.run(
        [str(pyinfra), "-y", str(lab_inventory), "exec", "--", "hostname"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr + proc.stdout
    for host in lab.hosts:
        assert f"[{host.name}] {host.name}" in proc.stdout + proc.stderr


def test_lab_up_is_fast_when_the_lab_is_already_up(lab: RunningLab) -> None:
    start = time.monotonic()
    again = ensure_lab(len(lab.hosts))
    assert time.monotonic() - start < 5
    assert [h.name for h in again.hosts] == [h.name for h in lab.hosts]
