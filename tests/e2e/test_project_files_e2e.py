"""End to end: a Compose project's files go to the host, and its data stays there.

A Compose file as a team would write it (no ``version``, no ``hosts``, a
``.env``) mounts a relative config file read-only, a relative data folder
writable, a file writable, a folder read-only (its ``.git`` left out), and a
``configs`` entry.  It converges on one lab host; editing the config file
recreates only the container that mounts it, and the plan says
why; data written in the data folder and in the writable file survives and is
no change; a folder changed on the host and a file removed there are planned
back; verify checks all of it.
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

STACK = "cfiles-e2e-project"
IMAGE = "registry.lab:5000/fleetform/busybox:1"
COMPOSE = f"""\
name: {STACK}
services:
  web:
    image: {IMAGE}
    command: ["sleep", "100000"]
    stop_grace_period: 1s
    environment:
      GREETING: ${{GREETING}}
    volumes:
      - ./app.conf:/etc/app/app.conf:ro
      - ./data:/var/lib/app
      - ./app.db:/data/app.db
      - ./conf.d:/etc/conf.d:ro
    configs:
      - source: motd
        target: /etc/motd
        mode: "0440"
  other:
    image: {IMAGE}
    command: ["sleep", "100000"]
    stop_grace_period: 1s
configs:
  motd:
    content: "hello ${{GREETING}}"
"""

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def host(lab: Any) -> Iterator[str]:
    name: str = lab.hosts[0].name
    clean = f"rm -rf {PROJECTS_DIR}/{STACK}"
    remove_stack(name, STACK, clean)  # an interrupted run may have left it behind
    yield name
    remove_stack(name, STACK, clean)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cfiles-project")
    (folder / "compose.yaml").write_text(COMPOSE)
    (folder / ".env").write_text("GREETING=from-dot-env\n")
    (folder / "app.conf").write_text("level = 1\n")
    (folder / "data").mkdir()
    (folder / "data" / "seed.txt").write_text("seeded\n")
    (folder / "app.db").write_text("empty\n")
    (folder / "conf.d" / ".git").mkdir(parents=True)
    (folder / "conf.d" / ".git" / "config").write_text("[remote] url = https://u:t@example\n")
    (folder / "conf.d" / "a.conf").write_text("a\n")
    return folder


def _cli(fleetform: Cli, host: str, *args: str) -> subprocess.CompletedProcess[str]:
    return fleetform(*args, "-i", "inventory/lab.py", "--limit", host)


def _id(host: str, name: str) -> str:
    return sh(host, f"docker inspect -f '{{{{.Id}}}}' {name}")


def test_project_files_converge_and_data_survives(fleetform: Cli, host: str, project: Path) -> None:
    stack = str(project / "compose.yaml")
    web = f"{STACK}-web-1"
    plan = _cli(fleetform, host, "plan", stack)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "project file ./app.conf: + uploaded to the host" in plan.stdout
    assert "data folder ./data: + kept on the host in" in plan.stdout
    assert "seeded once from the project" in plan.stdout

    applied = _cli(fleetform, host, "apply", stack, "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert sh(host, f"docker exec {web} cat /etc/app/app.conf") == "level = 1"
    assert sh(host, f"docker exec {web} sh -c 'echo $GREETING'") == "from-dot-env"
    assert sh(host, f"docker exec {web} cat /etc/motd") == "hello from-dot-env"
    assert sh(host, f"docker exec {web} stat -c '%a' /etc/motd") == "440"
    assert sh(host, f"docker exec {web} cat /var/lib/app/seed.txt") == "seeded"
    assert "Read-only" in sh(
        host, f"docker exec {web} sh -c 'echo x >> /etc/app/app.conf' 2>&1; true"
    )
    sh(host, f"docker exec {web} sh -c 'echo precious > /var/lib/app/db'")
    assert sh(host, f"docker exec {web} ls -a /etc/conf.d").split() == [".", "..", "a.conf"]
    # A writable file mount is the container's data: what it writes is no change.
    sh(host, f"docker exec {web} sh -c 'echo written > /data/app.db'")
    again = _cli(fleetform, host, "plan", stack, "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr

    # Editing the file recreates exactly the container that mounts it, and says why.
    other_id = _id(host, f"{STACK}-other-1")
    (project / "app.conf").write_text("level = 2\n")
    (project / "data" / "seed.txt").write_text("not seeded again\n")
    plan = _cli(fleetform, host, "plan", stack)
    assert f"recreate container {web}" in plan.stdout, plan.stdout + plan.stderr
    assert "project file ./app.conf changed (sha256)" in plan.stdout
    assert f"{STACK}-other-1" not in plan.stdout
    changed = _cli(fleetform, host, "apply", stack, "--yes")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert sh(host, f"docker exec {web} cat /etc/app/app.conf") == "level = 2"
    assert sh(host, f"docker exec {web} cat /var/lib/app/db") == "precious"
    assert sh(host, f"docker exec {web} cat /var/lib/app/seed.txt") == "seeded"
    assert sh(host, f"docker exec {web} cat /data/app.db") == "written"
    assert _id(host, f"{STACK}-other-1") == other_id

    # An uploaded folder changed on the host: its manifest says so.
    sh(host, f"for f in {PROJECTS_DIR}/{STACK}/files/*/conf.d/a.conf; do echo x > $f; done")
    tampered = _cli(fleetform, host, "plan", stack)
    assert "project folder ./conf.d/: changed on the host -> uploaded again" in tampered.stdout

    # A file lost on the host is planned back; verify passes once it is.
    sh(host, f"rm -rf {PROJECTS_DIR}/{STACK}/files/*")
    lost = _cli(fleetform, host, "plan", stack)
    assert "project file ./app.conf: missing on the host -> uploaded again" in lost.stdout
    failed = _cli(fleetform, host, "verify", stack)
    assert failed.returncode != 0 and "file /etc/app/app.conf" in failed.stdout, failed.stdout
    restored = _cli(fleetform, host, "apply", stack, "--yes")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert sh(host, f"docker exec {web} cat /var/lib/app/db") == "precious"
    verified = _cli(fleetform, host, "verify", stack)
    assert verified.returncode == 0, verified.stdout + verified.stderr
