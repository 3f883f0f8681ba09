"""End to end: a secret never shows in a plan, even once the stack stops calling it secret.

A service gets DATABASE_URL (a name that does not look secret) from an
``env_file``.  After apply, the stack drops the key, or turns it into a
literal, or passes it through from a machine where it is unset (a plan job
without secrets): ``fleetform plan`` and ``plan --json`` must not print the
value the container still has, and no label on the host may carry the value
or its plain sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleetform.plan.desired import desired_for_host
from fleetform.plan.spec import IN_PLACE_FIELDS, spec_to_json
from fleetform.stackfile import load_stacks

from .onhost import remove_stack, sh

pytestmark = pytest.mark.e2e

STACK = "b-secrets"
PASSWORD = f"hunter2-{secrets.token_hex(6)}"  # unique per run, so a hit is this run's leak
DATABASE_URL = f"postgres://app:{PASSWORD}@db/app"


def _stack(**app: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "name": STACK,
        "services": {
            "app": {
                "image": "registry.lab:5000/fleetform/busybox:1",
                "command": ["sleep", "100000"],
                "stop_grace_period": "1s",
                **app,
            }
        },
    }


@pytest.fixture(scope="module")
def host(lab: Any) -> Iterator[str]:
    name: str = lab.hosts[0].name
    remove_stack(name, STACK)  # an interrupted run may have left it behind
    yield name
    remove_stack(name, STACK)


@pytest.fixture(scope="module")
def applied(fleetform: Any, host: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("b-secrets")
    (folder / "app.env").write_text(f"DATABASE_URL={DATABASE_URL}\n")
    path = folder / "stack.yml"
    path.write_text(yaml.safe_dump(_stack(env_file="app.env", environment={"MODE": "a"})))
    result = fleetform("apply", "-i", "inventory/lab.py", str(path), "--yes", "--limit", host)
    assert result.returncode == 0, result.stdout + result.stderr
    env = json.loads(sh(host, f"docker inspect -f '{{{{json .Config.Env}}}}' {STACK}-app-1"))
    assert f"DATABASE_URL={DATABASE_URL}" in env  # the container really has the secret
    return folder


def test_a_second_plan_is_empty(fleetform: Any, applied: Path, host: str) -> None:
    # The label and the hash without secret values agree with what apply created.
    path = str(applied / "stack.yml")
    plan = fleetform("plan", "-i", "inventory/lab.py", path, "--limit", host, "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr


def _labels(host: str) -> dict[str, str]:
    out = sh(host, f"docker inspect -f '{{{{json .Config.Labels}}}}' {STACK}-app-1")
    labels: dict[str, str] = json.loads(out)
    return labels


def test_no_label_carries_the_secret_or_its_plain_sha256(applied: Path, host: str) -> None:
    labels = _labels(host)
    text = json.dumps(labels)
    for needle in (PASSWORD, DATABASE_URL):
        assert needle not in text
        assert hashlib.sha256(needle.encode()).hexdigest() not in text
    assert labels["fleetform.secret-keys"] == "DATABASE_URL"


def test_the_config_hash_cannot_be_confirmed_by_guessing_the_secret(
    applied: Path, host: str
) -> None:
    # Whoever can read the stack file and the label hashes the spec with a
    # guessed value; the right guess must not reproduce the label.
    (stack,) = load_stacks([applied / "stack.yml"])
    (c,) = desired_for_host([stack], host, frozenset({host, "web"})).containers
    assert dict(c.spec.env)["DATABASE_URL"] == DATABASE_URL  # the right guess
    data = {k: v for k, v in spec_to_json(c.spec).items() if k not in IN_PLACE_FIELDS}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    guessed = f"v1:{hashlib.sha256(text.encode()).hexdigest()}"
    label = _labels(host)["fleetform.config-hash"]
    assert label == c.config_hash
    assert label != guessed


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"environment": {"MODE": "a"}}, id="key-and-env_file-removed"),
        pytest.param(
            {"environment": {"MODE": "a", "DATABASE_URL": "postgres://app:other@db/app"}},
            id="turned-into-a-literal",
        ),
        pytest.param({"environment": {"MODE": "a", "DATABASE_URL": None}}, id="pass-through-unset"),
    ],
)
def test_plan_never_shows_the_old_secret_value(
    fleetform: Any, applied: Path, host: str, change: dict[str, Any]
) -> None:
    assert "DATABASE_URL" not in os.environ  # pass-through: unset on this machine
    # The same file, edited: a stack file's path is its identity (fleetform.stack-file).
    path = applied / "stack.yml"
    applied_text = path.read_text()
    path.write_text(yaml.safe_dump(_stack(**change)))
    try:
        text = fleetform("plan", "-i", "inventory/lab.py", str(path), "--limit", host)
        js = fleetform("plan", "-i", "inventory/lab.py", str(path), "--limit", host, "--json")
    finally:
        path.write_text(applied_text)
    assert text.returncode == 0 and js.returncode == 0, text.stderr + js.stderr
    assert "environment.DATABASE_URL" in text.stdout  # the change is shown, masked
    paths = [
        c["path"]
        for h in json.loads(js.stdout)["hosts"]
        for a in h["actions"]
        for c in a["changes"]
    ]
    assert "environment.DATABASE_URL" in paths
    for out in (text.stdout, text.stderr, js.stdout, js.stderr):
        assert PASSWORD not in out
