"""End to end on the lab: verify passes after apply, and names the host and what broke
after each sabotage by hand.  Every sabotage is repaired by re-applying, so the
tests do not depend on each other's order; the stack's containers, network and
volume are removed at the end.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fleetform.lab import RunningLab

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STACK = "tests/verify/stacks/verify.yml"
INVENTORY = "inventory/lab.py"
NAME = "verifyt"
IMAGE = "registry.lab:5000/fleetform/demo:1"
BROKEN = "registry.lab:5000/fleetform/demo:broken"
TOKEN = "verify-token-value"

Cli = Callable[..., subprocess.CompletedProcess[str]]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fleetform.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )


def apply() -> None:
    proc = cli("apply", "-i", INVENTORY, STACK, "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def verify(*extra: str) -> tuple[int, str]:
    proc = cli("verify", "-i", INVENTORY, STACK, *extra)
    return proc.returncode, proc.stdout + proc.stderr


def verify_json(*extra: str) -> tuple[int, dict[str, Any]]:
    proc = cli("verify", "-i", INVENTORY, STACK, "--json", *extra)
    return proc.returncode, json.loads(proc.stdout)


def sh(lab: RunningLab, host: str, command: str) -> str:
    proc = lab.run(host, command)
    assert proc.returncode == 0, f"{host}: {command}: {proc.stderr}"
    return proc.stdout


def recreate_web_by_hand(
    lab: RunningLab,
    host: str,
    *,
    env: dict[str, str],
    publish: bool = True,
    image: str = IMAGE,
) -> None:
    """Replace verifyt-web-1 with one run by hand: same ownership labels and hash."""
    label = '{{index .Config.Labels "fleetform.config-hash"}}'
    argv = ["docker", "run", "-d", "--name", f"{NAME}-web-1"]
    for key, value in {
        "fleetform.stack": NAME,
        "fleetform.service": "web",
        "fleetform.replica": "1",
    }.items():
        argv += ["--label", f"{key}={value}"]
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    if publish:
        argv += ["-p", "8091:8080"]
    argv += ["--network", f"{NAME}_back", "--network-alias", "front", "--network-alias", "web"]
    argv += ["--health-cmd", "wget -q -O- http://127.0.0.1:8080/healthz"]
    argv += ["--health-interval", "1s", "--health-retries", "3"]
    sh(
        lab,
        host,
        f"h=$(docker inspect -f {shlex.quote(label)} {NAME}-web-1) && "
        f"docker rm -f {NAME}-web-1 >/dev/null && "
        f'{shlex.join(argv)} --label "fleetform.config-hash=$h" {shlex.quote(image)} >/dev/null',
    )


def cleanup(lab: RunningLab) -> None:
    # Only objects labelled with this test's stack are removed.
    for h in lab.hosts:
        lab.run(
            h,
            f"docker ps -aq --filter label=fleetform.stack={NAME} | xargs -r docker rm -f; "
            f"docker network ls -q --filter label=fleetform.stack={NAME} "
            "| xargs -r docker network rm; "
            f"docker volume ls -q --filter label=fleetform.stack={NAME} "
            "| xargs -r docker volume rm",
        )


@pytest.fixture(scope="module")
def applied(lab: RunningLab) -> Iterator[RunningLab]:
    apply()
    yield lab
    cleanup(lab)


@pytest.fixture
def repaired(applied: RunningLab) -> Iterator[RunningLab]:
    """The lab with the stack applied; re-applied after the test's sabotage."""
    yield applied
    apply()
    code, out = verify()
    assert code == 0, f"re-apply did not repair the sabotage:\n{out}"


def test_verify_passes_after_apply_and_writes_junit(applied: RunningLab, tmp_path: Path) -> None:
    junit = tmp_path / "out.xml"
    code, out = verify("--junit", str(junit))
    assert code == 0, out
    for host in ("lab-1", "lab-2", "lab-3"):
        assert host in out
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "0"
    assert int(root.get("tests") or 0) > 60
    assert {s.get("name") for s in root.findall("testsuite")} >= {"lab-1", "lab-2", "lab-3"}


def test_json_lists_every_check_of_every_host(applied: RunningLab) -> None:
    code, doc = verify_json("--limit", "db")
    assert code == 0 and doc["ok"] is True
    [host] = doc["hosts"]
    assert host["host"] == "lab-3"
    checks = {(c["resource"], c["check"]) for c in host["checks"]}
    assert {
        ("engine", "dockerd running"),
        ("engine", "in effect: live-restore"),
        (f"{NAME}-web-1", "health"),
        (f"{NAME}-web-1", "listening 8091/tcp"),
        (f"{NAME}-worker-1", "mount /data"),
        (f"stack {NAME}", "no orphaned containers"),
    } <= checks
    assert TOKEN not in json.dumps(doc)


def test_container_stopped_by_hand_fails_naming_host_and_service(repaired: RunningLab) -> None:
    sh(repaired, "lab-2", f"docker stop -t 1 {NAME}-web-1")
    code, out = verify()
    assert code == 1
    assert f"lab-2  {NAME}-web-1  state  expected running, got exited" in out
    assert f"lab-1  {NAME}-web-1" not in out


def test_container_recreated_with_other_env_fails_on_that_variable(repaired: RunningLab) -> None:
    recreate_web_by_hand(
        repaired, "lab-1", env={"LOG_LEVEL": "debug", "API_TOKEN": "a-hand-made-token"}
    )
    code, out = verify()
    assert code == 1
    assert f"lab-1  {NAME}-web-1  env LOG_LEVEL  expected info, got debug" in out
    assert (
        f"lab-1  {NAME}-web-1  env API_TOKEN  expected (secret), got (secret), a different value"
        in out
    )
    assert TOKEN not in out and "a-hand-made-token" not in out


def test_published_port_gone_fails_publication_and_listening(repaired: RunningLab) -> None:
    recreate_web_by_hand(
        repaired, "lab-1", env={"LOG_LEVEL": "info", "API_TOKEN": TOKEN}, publish=False
    )
    code, out = verify()
    assert code == 1
    assert f"lab-1  {NAME}-web-1  port 8091:8080/tcp  expected published, got not published" in out
    assert (
        f"lab-1  {NAME}-web-1  listening 8091/tcp  expected listening on the host, "
        "got nothing listens on 8091/tcp" in out
    )


def test_failing_healthcheck_fails_health(repaired: RunningLab) -> None:
    recreate_web_by_hand(
        repaired, "lab-2", env={"LOG_LEVEL": "info", "API_TOKEN": TOKEN}, image=BROKEN
    )
    code, out = verify()
    assert code == 1
    assert f"lab-2  {NAME}-web-1  health  expected healthy, got unhealthy" in out
    assert f"lab-2  {NAME}-web-1  image  expected {IMAGE}, got {BROKEN}" in out


def test_dockerd_stopped_fails_the_engine_checks(repaired: RunningLab) -> None:
    try:
        sh(repaired, "lab-3", "systemctl stop docker.socket docker")
        code, out = verify("--limit", "lab-3")
        assert code == 1
        assert "lab-3  engine  dockerd running  expected active, got inactive" in out
        assert "lab-3  engine  docker info  expected answers, got Cannot connect" in out
        assert f"lab-3  {NAME}-web-1  exists  expected a container, got unknown" in out
        apply()  # the repair under test: re-apply starts dockerd again
        code, out = verify("--limit", "lab-3")
        assert code == 0, out
    finally:
        # Other tests share the lab: never leave its engine down, even if
        # re-apply (the repair under test) were broken.
        repaired.run("lab-3", "systemctl start docker")


def test_daemon_json_edited_by_hand_fails_daemon_json(repaired: RunningLab) -> None:
    edited = '{"live-restore": true, "log-driver": "local", "log-opts": {"max-size": "10m"}}'
    sh(repaired, "lab-2", f"echo {shlex.quote(edited)} > /etc/docker/daemon.json")
    code, out = verify("--limit", "lab-2")
    assert code == 1
    assert "lab-2  engine  daemon.json  expected" in out
    assert "got differs: log-driver=local" in out


def test_unreachable_host_fails_with_the_ssh_reason(applied: RunningLab, tmp_path: Path) -> None:
    inventory = tmp_path / "inv.py"
    known = applied.ssh.known_hosts_file
    inventory.write_text(
        "hosts = [('lab-9', {'ssh_hostname': '10.213.0.250', 'ssh_user': 'root', "
        f"'ssh_key': {str(applied.ssh.key_file)!r}, 'ssh_known_hosts_file': {str(known)!r}}})]\n"
    )
    proc = cli("verify", "-i", str(inventory), STACK)
    assert proc.returncode == 1
    assert "lab-9  host  reachable  expected reachable over SSH, got ssh: connect to host" in (
        proc.stdout
    )


def test_checks_run_with_plain_pytest_and_testinfra(applied: RunningLab, tmp_path: Path) -> None:
    ssh_config = tmp_path / "ssh_config"
    proc = subprocess.run(
        [sys.executable, "-m", "fleetform.verify.ssh_config", "-i", INVENTORY],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    ssh_config.write_text(proc.stdout)
    module = subprocess.run(
        [sys.executable, "-m", "fleetform.verify.pytest_module"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    args = [
        sys.executable, "-m", "pytest", module, "-q", "-p", "no:cacheprovider",
        "--hosts", "ssh://lab-1,ssh://lab-3", "--ssh-config", str(ssh_config),
        "--fleetform-stack", STACK, "--fleetform-inventory", INVENTORY,
    ]  # fmt: skip
    run = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout and "failed" not in run.stdout

    applied.run("lab-3", f"docker stop -t 1 {NAME}-worker-1")
    try:
        run = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert run.returncode == 1
        assert f"lab-3  {NAME}-worker-1  state  expected running, got exited" in run.stdout
    finally:
        apply()
