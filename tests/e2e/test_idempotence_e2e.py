"""End to end: idempotence as an invariant.  Apply a stack, plan again: the plan is empty.

Every stack in ``stacks/`` is applied to the lab, then ``fleetform plan --json
--detailed-exitcode`` must exit 0 with no action, no engine change and no
error on any host; the verdict comes from the plan's JSON, never from its
text.  The same holds for tests/e2e/stacks/every_key.yml, which uses every
supported key with values other than the defaults (``pull: always``
included: the registry is asked for the image's digest, and an unchanged
digest is no change).

- ``stacks/engine.yml`` rewrites ``daemon.json`` (and may restart dockerd), so
  it is applied to the first lab host only (``--limit``), the host the engine
  tests mutate; it leaves the daemon.json those tests leave (live-restore on).
- Stack names are fixed (``demo`` is shared with other e2e tests): what a test
  applies is removed afterwards only when that stack was not on the lab before.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli

from fleetform.stackfile import load_stacks

from .onhost import sh

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STACKS = sorted((ROOT / "stacks").glob("*.yml"))
EVERY_KEY = Path(__file__).parent / "stacks"
EVERY_KEY_NAME = "everykey"
#: what this module creates by hand around every_key.yml carries this label
OWNER = "fleetform.test=idempotence"
ENV = {"EVERYKEY_TOKEN": "pass-through-value"}


def fleetform(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, without a TTY, with ``ENV`` set."""
    return run_cli(*args, env=ENV, timeout=900)


def _pending(doc: dict[str, Any]) -> list[str]:
    """Everything a plan's JSON says is still to do (or wrong), one line each."""
    out = []
    for host in doc["hosts"]:
        out += [f"{host['host']}: error: {e}" for e in host["errors"]]
        out += [f"{host['host']}: engine: {e}" for e in host["engine"]]
        for action in host["actions"]:
            changes = "; ".join(c["text"] for c in action["changes"]) or action["reason"]
            out.append(f"{host['host']}: {action['kind']} {action['resource']}: {changes}")
    return out


def assert_idempotent(stack_args: list[str], limit: list[str]) -> dict[str, Any]:
    """Apply, then plan: exit 0 and an empty plan.  Returns the plan's JSON."""
    applied = fleetform("apply", "-i", "inventory/lab.py", *stack_args, *limit, "--yes")
    assert applied.returncode == 0, applied.stdout[-4000:] + applied.stderr[-4000:]
    plan = fleetform(
        "plan", "-i", "inventory/lab.py", *stack_args, *limit, "--json", "--detailed-exitcode"
    )
    doc: dict[str, Any] = json.loads(plan.stdout)
    assert _pending(doc) == [], plan.stderr[-2000:]
    assert doc["has_changes"] is False
    assert plan.returncode == 0, plan.stderr[-2000:]
    assert all(h["observed"] for h in doc["hosts"]), doc["hosts"]
    return doc


def _present(hosts: list[str], stack: str) -> bool:
    label = f"label=fleetform.stack={stack}"
    return any(sh(h, f"docker ps -aq --filter {label}", check=False) for h in hosts)


def remove_everything_of(host: str, stack: str) -> None:
    """Remove the containers (with their anonymous volumes), networks and volumes of ``stack``.

    Only objects labelled ``fleetform.stack=<stack>``: what an apply of it created.
    """
    label = f"label=fleetform.stack={stack}"
    sh(
        host,
        f"docker rm -f -v $(docker ps -aq --filter {label}) 2>/dev/null; "
        f"docker network rm $(docker network ls -q --filter {label}) 2>/dev/null; "
        f"docker volume rm $(docker volume ls -q --filter {label}) 2>/dev/null; true",
        check=False,
    )


@pytest.fixture(scope="module")
def hosts(lab: Any) -> list[str]:
    return [h.name for h in lab.hosts]


@pytest.mark.parametrize("path", STACKS, ids=[p.name for p in STACKS])
def test_applying_a_project_stack_twice_changes_nothing_the_second_time(
    path: Path, hosts: list[str]
) -> None:
    (stack,) = load_stacks([path])
    limit = ["--limit", hosts[0]] if stack.engine is not None else []
    was_there = _present(hosts, stack.name)
    try:
        assert_idempotent([str(path.relative_to(ROOT))], limit)
    finally:
        if not was_there and stack.services:
            for host in hosts:
                remove_everything_of(host, stack.name)


@pytest.fixture
def every_key(tmp_path: Path, hosts: list[str]) -> Iterator[Path]:
    """every_key.yml in a folder of its own, with its archive and external objects."""
    db = hosts[-1]
    folder = tmp_path / "every_key"
    shutil.copytree(EVERY_KEY, folder, ignore=shutil.ignore_patterns("*.tar"))
    ref = "everykey/air:1"
    subprocess.run(
        f"docker tag fleetform-lab/busybox:1 {ref} && "
        f"docker save -o {folder / 'everykey-air.tar'} {ref} && docker rmi {ref} >/dev/null",
        shell=True,
        check=True,
        timeout=120,
    )

    def clean() -> None:
        remove_everything_of(db, EVERY_KEY_NAME)
        sh(
            db,
            "docker network rm everykey_ext 2>/dev/null; docker volume rm everykey_extvol "
            "2>/dev/null; docker image rm everykey/built:1 everykey/air:1 2>/dev/null; true",
            check=False,
        )

    if not sh(db, "command -v docker", check=False):
        # A fresh lab: the externals need an engine before the first apply.
        engine_only = tmp_path / "engine_only.yml"
        engine_only.write_text("version: 1\nname: everykey-engine\nengine: {source: distro}\n")
        done = fleetform(
            "apply", "-i", "inventory/lab.py", str(engine_only), "--limit", db, "--yes"
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    clean()
    sh(db, f"docker network create --label {OWNER} everykey_ext >/dev/null")
    sh(db, f"docker volume create --label {OWNER} everykey_extvol >/dev/null")
    yield folder / "every_key.yml"
    clean()


def test_a_stack_using_every_key_applied_twice_changes_nothing_the_second_time(
    every_key: Path, hosts: list[str]
) -> None:
    doc = assert_idempotent([str(every_key)], [])
    # `pull: always` was settled by asking the registry: no warning that it
    # could not be asked, and no pull.
    (db,) = [h for h in doc["hosts"] if h["host"] == hosts[-1]]
    assert db["warnings"] == []
    running = sh(
        hosts[-1], "docker ps --filter label=fleetform.stack=everykey --format '{{.Names}}'"
    )
    assert sorted(running.split()) == [
        "everykey-built-1",
        "everykey-cache-1",
        "everykey-cache-2",
        "everykey-web-1",
    ]


MOVING = "fleetform/everykey-moving:1"  # a tag of this module's own in the lab registry


def _push(local: str, lab: Any) -> None:
    """Push the control engine's ``local`` image as MOVING (the registry's 127.0.0.1 port)."""
    from fleetform.lab.registry import published_port

    via = f"127.0.0.1:{published_port(lab.cfg.registry_container)}/{MOVING}"
    subprocess.run(
        f"docker tag {local} {via} && docker push -q {via} >/dev/null && "
        f"docker rmi {via} >/dev/null",
        shell=True,
        check=True,
        timeout=300,
    )


def test_a_pull_always_image_is_pulled_and_its_container_recreated_only_when_its_tag_moves(
    tmp_path: Path, hosts: list[str], lab: Any
) -> None:
    db = hosts[-1]
    path = tmp_path / "everykey-moving.yml"
    path.write_text(
        "version: 1\nname: everykey-moving\nhosts: [db]\nservices:\n  app:\n"
        f"    image: registry.lab:5000/{MOVING}\n    pull: always\n"
        "    command: [sleep, '2147483647']\n    stop_grace_period: 1s\n"
    )

    def plan() -> tuple[int, dict[str, Any]]:
        done = fleetform(
            "plan", "-i", "inventory/lab.py", str(path), "--json", "--detailed-exitcode"
        )
        return done.returncode, json.loads(done.stdout)

    def image_of_app() -> str:
        return sh(db, "docker inspect -f '{{.Image}}' everykey-moving-app-1")

    try:
        _push("fleetform-lab/busybox:1", lab)
        assert_idempotent([str(path)], [])
        first = image_of_app()

        _push("fleetform-lab/demo:1", lab)  # the tag now names another image
        code, doc = plan()
        (host,) = [h for h in doc["hosts"] if h["host"] == db]
        assert code == 2
        assert [(a["kind"], a["resource"]) for a in host["actions"]] == [
            ("pull", f"registry.lab:5000/{MOVING}"),
            ("recreate", "everykey-moving-app-1"),
        ]
        assert_idempotent([str(path)], [])  # pulls, recreates, then plans nothing
        assert image_of_app() != first
    finally:
        remove_everything_of(db, "everykey-moving")
        sh(db, f"docker image rm registry.lab:5000/{MOVING} 2>/dev/null; true", check=False)
