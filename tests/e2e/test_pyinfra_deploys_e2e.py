"""End to end: plain ``pyinfra inventory/lab.py deploys/site.py`` converges stacks too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .onhost import lab_host, remove_stack, sh

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STACK = "pyit"


def pyinfra(*args: str, yes: bool = True) -> subprocess.CompletedProcess[str]:
    """pyinfra on the lab; without ``yes`` it checks for changes first, then Enter goes on."""
    exe = Path(sys.executable).with_name("pyinfra")
    return subprocess.run(
        [str(exe), *(["-y"] if yes else []), "inventory/lab.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        input="" if yes else "\n",
    )


def test_site_deploy_installs_the_engine_and_converges_assigned_stacks(
    lab: object, tmp_path: Path
) -> None:
    stack = {
        "version": 1,
        "name": STACK,
        "services": {
            "app": {
                "image": "registry.lab:5000/fleetform/busybox:1",
                "command": ["sleep", "100000"],
                "environment": {"COLOR": "blue"},
                "stop_grace_period": "1s",
            }
        },
    }
    path = tmp_path / "pyit.yml"
    path.write_text(yaml.safe_dump(stack))
    data = f"fleetform_stacks={path}"
    try:
        # without -y: pyinfra's change detection runs the operations before any
        # change (the stack operation observes the host before the engine step)
        first = pyinfra("deploys/site.py", "--limit", lab_host(1), "--data", data, yes=False)
        out = first.stdout + first.stderr
        assert first.returncode == 0, out
        assert "Detected changes" in out and "Traceback" not in out
        assert "create container pyit-app-1" in out
        # the engine part of the site deploy: packages installed, dockerd answering
        assert "Docker engine" in out
        installed = sh(lab_host(1), "dpkg-query -W -f='${Status}' docker.io containerd runc")
        assert installed == "install ok installed" * 3
        assert sh(lab_host(1), "docker info --format '{{.ServerVersion}}'")
        env = sh(lab_host(1), "docker inspect -f '{{json .Config.Env}}' pyit-app-1")
        assert "COLOR=blue" in env
        cid = sh(lab_host(1), "docker inspect -f '{{.Id}}' pyit-app-1")

        second = pyinfra("deploys/stack.py", "--limit", lab_host(1), "--data", data)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "create container" not in second.stdout + second.stderr
        assert sh(lab_host(1), "docker inspect -f '{{.Id}}' pyit-app-1") == cid

        stack["services"]["app"]["environment"]["COLOR"] = "green"
        path.write_text(yaml.safe_dump(stack))
        third = pyinfra("deploys/stack.py", "--limit", lab_host(1), "--data", data)
        assert third.returncode == 0, third.stdout + third.stderr
        assert "environment.COLOR: blue -> green" in third.stdout + third.stderr
        env = sh(lab_host(1), "docker inspect -f '{{json .Config.Env}}' pyit-app-1")
        assert "COLOR=green" in env
    finally:
        remove_stack(lab_host(1), STACK)
