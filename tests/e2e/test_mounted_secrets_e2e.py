"""End to end: a SOPS-encrypted Compose secret reaches ``/run/secrets`` and nowhere else.

The test makes its own age key, encrypts a password with the real ``sops``,
applies a stack that mounts it twice (short form, and long form with uid,
gid and mode), and then looks for the password everywhere it must not be:
``docker inspect``, the host's process list, the container's logs, the
plan and apply output.  Changing the secret recreates only the service that
mounts it, and the plan shows digests only.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleetform.secrets import SECRET_FILES_DIR
from fleetform.stackfile.sops import sops_program

from .onhost import remove_stack, sh

pytestmark = pytest.mark.e2e

STACK = "x-mounted-secrets"
PASSWORD = f"pw-{secrets.token_hex(8)}"  # unique per run: a hit is this run's leak
NEW_PASSWORD = f"pw-{secrets.token_hex(8)}"
IMAGE = "registry.lab:5000/fleetform/busybox:1"


def _encrypt(plaintext: str, recipient: str, folder: Path) -> None:
    program = sops_program()
    assert program is not None
    argv = [program, "encrypt", "--age", recipient, "--input-type", "binary"]
    done = subprocess.run(
        [*argv, "--output-type", "binary", "/dev/stdin"],
        input=plaintext.encode(),
        capture_output=True,
        cwd=folder,
        check=True,
    )
    (folder / "db.enc").write_bytes(done.stdout)


def _stack() -> dict[str, Any]:
    service = {"image": IMAGE, "command": ["sleep", "100000"], "stop_grace_period": "1s"}
    return {
        "version": 1,
        "name": STACK,
        "secrets": {"db": {"file": "./db.enc"}},
        "services": {
            "app": {
                **service,
                "secrets": [
                    "db",
                    {
                        "source": "db",
                        "target": "other",
                        "uid": "1000",
                        "gid": "1000",
                        "mode": "0400",
                    },
                ],
            },
            "plain": service,
        },
    }


@pytest.fixture(scope="module")
def host(lab: Any) -> Iterator[str]:
    name: str = lab.hosts[0].name
    clean = f"rm -rf {SECRET_FILES_DIR}/{STACK}-*"
    remove_stack(name, STACK, clean)  # an interrupted run may have left it behind
    yield name
    remove_stack(name, STACK, clean)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, str]]:
    folder = tmp_path_factory.mktemp("x-mounted-secrets")
    key = folder / "age.key"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    recipient = next(
        line.removeprefix("# public key: ")
        for line in key.read_text().splitlines()
        if line.startswith("# public key: ")
    )
    _encrypt(PASSWORD, recipient, folder)
    (folder / "stack.yml").write_text(yaml.safe_dump(_stack()))
    return folder, recipient, {"SOPS_AGE_KEY_FILE": str(key)}


Cli = Callable[..., subprocess.CompletedProcess[str]]


def _cli(fleetform: Cli, env: dict[str, str], host: str, *args: str) -> Any:
    return fleetform(*args, "-i", "inventory/lab.py", "--limit", host, env=env)


def _leaks(host: str, *values: str) -> list[str]:
    """Where on the host any of ``values`` shows, outside the secret files themselves."""
    places = {
        "docker inspect": sh(
            host, f"docker inspect $(docker ps -aq --filter label=fleetform.stack={STACK})"
        ),
        "process list": sh(host, "ps auxww"),
        "logs": sh(host, f"docker logs {STACK}-app-1 2>&1"),
        "labels": sh(
            host, f"docker ps -a --format '{{{{.Labels}}}}' --filter label=fleetform.stack={STACK}"
        ),
    }
    return [where for where, text in places.items() for v in values if v in text]


def test_a_sops_secret_reaches_run_secrets_and_nowhere_else(
    fleetform: Cli, host: str, setup: tuple[Path, str, dict[str, str]]
) -> None:
    folder, recipient, env = setup
    stack = str(folder / "stack.yml")
    applied = _cli(fleetform, env, host, "apply", stack, "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert PASSWORD not in applied.stdout + applied.stderr

    app = f"{STACK}-app-1"
    assert sh(host, f"docker exec {app} cat /run/secrets/db") == PASSWORD
    assert sh(host, f"docker exec {app} cat /run/secrets/other") == PASSWORD
    assert sh(host, f"docker exec {app} stat -c '%u %g %a' /run/secrets/other") == "1000 1000 400"
    assert sh(host, f"docker exec {app} stat -c '%u %g %a' /run/secrets/db") == "0 0 444"
    # read-only in the container
    assert "Read-only" in sh(host, f"docker exec {app} sh -c 'echo x > /run/secrets/db' 2>&1; true")
    # root-only on the host, on tmpfs
    assert sh(host, f"stat -c '%a %U' {SECRET_FILES_DIR}") == "700 root"
    assert sh(host, f"stat -f -c %T {SECRET_FILES_DIR}") == "tmpfs"
    assert _leaks(host, PASSWORD) == []

    again = _cli(fleetform, env, host, "plan", stack, "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr

    # Without the key, nothing runs and the file is named.
    no_key = _cli(fleetform, {"SOPS_AGE_KEY_FILE": str(folder / "none")}, host, "plan", stack)
    assert no_key.returncode == 1
    assert "cannot decrypt secret file `./db.enc` with SOPS" in no_key.stderr

    plain_id = sh(host, f"docker inspect -f '{{{{.Id}}}}' {STACK}-plain-1")
    _encrypt(NEW_PASSWORD, recipient, folder)
    plan = _cli(fleetform, env, host, "plan", stack)
    assert "secret db changed (digest)" in plan.stdout, plan.stdout + plan.stderr
    assert PASSWORD not in plan.stdout and NEW_PASSWORD not in plan.stdout
    assert f"recreate container {STACK}-plain-1" not in plan.stdout

    changed = _cli(fleetform, env, host, "apply", stack, "--yes")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert sh(host, f"docker exec {app} cat /run/secrets/db") == NEW_PASSWORD
    assert sh(host, f"docker inspect -f '{{{{.Id}}}}' {STACK}-plain-1") == plain_id
    assert _leaks(host, PASSWORD, NEW_PASSWORD) == []
    final = _cli(fleetform, env, host, "plan", stack, "--detailed-exitcode")
    assert final.returncode == 0, final.stdout + final.stderr

    # A reboot empties the host's tmpfs: the plan sees the lost file, apply brings it back.
    sh(host, f"rm -rf {SECRET_FILES_DIR}/{STACK}-app-1")
    lost = _cli(fleetform, env, host, "plan", stack)
    assert "secret db: file missing on the host -> uploaded again" in lost.stdout, lost.stdout
    restored = _cli(fleetform, env, host, "apply", stack, "--yes")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert sh(
        host, f"docker restart {app} >/dev/null && docker exec {app} cat /run/secrets/db"
    ) == (NEW_PASSWORD)
