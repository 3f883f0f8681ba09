"""End to end: binds with `z`/`Z` (SELinux relabelling) converge on a lab host.

A Compose project mounts an uploaded project file with `:ro,Z`, a data folder
with `:z` and a host path with `:z`.  They are created with `--volume` (the
lab's engine has no SELinux, so it relabels nothing, as on any such host); the
next plan is empty, so what is read back matches; verify passes; dropping the
option from the project file recreates the container and says why.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fleetform.model import PROJECTS_DIR

from .onhost import remove_stack, sh

pytestmark = pytest.mark.e2e

STACK = "corpus-relabel-e2e"
IMAGE = "registry.lab:5000/fleetform/busybox:1"
HOST_DIR = f"/tmp/{STACK}"
COMPOSE = f"""\
name: {STACK}
services:
  web:
    image: {IMAGE}
    command: ["sleep", "100000"]
    stop_grace_period: 1s
    volumes:
      - ./app.conf:/etc/app/app.conf:ro,Z
      - ./data:/var/lib/app:z
      - {HOST_DIR}:/srv:z
"""

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def host(lab: Any) -> Iterator[str]:
    name: str = lab.hosts[0].name
    clean = f"rm -rf {PROJECTS_DIR}/{STACK} {HOST_DIR}"
    remove_stack(name, STACK, clean)  # an interrupted run may have left it behind
    sh(name, f"mkdir -p {HOST_DIR} && echo on-host > {HOST_DIR}/x")
    yield name
    remove_stack(name, STACK, clean)


def _cli(fleetform: Cli, host: str, *args: str) -> subprocess.CompletedProcess[str]:
    return fleetform(*args, "-i", "inventory/lab.py", "--limit", host)


def test_relabelled_binds_converge_and_a_dropped_label_is_a_recreate(
    fleetform: Cli, host: str, tmp_path: Path
) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "app.conf").write_text("level = 1\n")
    stack = str(tmp_path / "compose.yaml")
    web = f"{STACK}-web-1"

    applied = _cli(fleetform, host, "apply", stack, "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    binds = sh(host, f"docker inspect -f '{{{{json .HostConfig.Binds}}}}' {web}")
    assert "/etc/app/app.conf:ro,Z" in binds and f"{HOST_DIR}:/srv:z" in binds
    assert ":/var/lib/app:z" in binds
    assert sh(host, f"docker exec {web} cat /etc/app/app.conf /srv/x") == "level = 1\non-host"
    assert "Read-only" in sh(
        host, f"docker exec {web} sh -c 'echo x >> /etc/app/app.conf' 2>&1; true"
    )
    again = _cli(fleetform, host, "plan", stack, "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    verified = _cli(fleetform, host, "verify", stack)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    (tmp_path / "compose.yaml").write_text(COMPOSE.replace(":ro,Z", ":ro"))
    plan = _cli(fleetform, host, "plan", stack)
    assert f"recreate container {web}" in plan.stdout, plan.stdout + plan.stderr
    assert "SELinux :Z" in plan.stdout
    changed = _cli(fleetform, host, "apply", stack, "--yes")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert "app.conf" not in sh(host, f"docker inspect -f '{{{{json .HostConfig.Binds}}}}' {web}")
    final = _cli(fleetform, host, "plan", stack, "--detailed-exitcode")
    assert final.returncode == 0, final.stdout + final.stderr
