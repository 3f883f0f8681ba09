"""End to end: apply records revisions on the hosts it changed, and history lists them.

A stack in its own git repository is applied to two lab hosts: revision 1 on
each, with the image id the container runs and the commit; an apply with no
change records nothing; a changed (and committed) stack records revision 2;
``history --json`` shows both, newest first.  The files are root only and
hold no secret value.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .onhost import lab_host, remove_stack, sh

pytestmark = pytest.mark.e2e

STACK = "u-revisions"
HOSTS = (lab_host(1), lab_host(2))
TOKEN = f"tok-{secrets.token_hex(8)}"  # unique per run: a hit is this run's leak
FOLDER = f"/var/lib/fleetform/revisions/{STACK}"


def _stack(mode: str) -> str:
    return f"""\
version: 1
name: {STACK}
services:
  app:
    image: registry.lab:5000/fleetform/busybox:1
    command: [sleep, "100000"]
    stop_grace_period: 1s
    environment:
      MODE: {mode}
      API_TOKEN: {TOKEN}
"""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _commit(repo: Path, mode: str) -> str:
    (repo / "stack.yml").write_text(_stack(mode))
    _git(repo, "add", "stack.yml")
    _git(repo, "commit", "-qm", f"mode {mode}")
    return _git(repo, "rev-parse", "HEAD")


def _clean() -> None:
    for host in (lab_host(1), lab_host(2), lab_host(3)):
        remove_stack(host, STACK, f"rm -rf {FOLDER}")


@pytest.fixture(scope="module")
def repo(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    _clean()  # an interrupted run may have left it behind
    path = tmp_path_factory.mktemp("u-revisions")
    _git(path, "init", "-q")
    yield path
    _clean()


def _apply(fleetform: Any, repo: Path) -> dict[str, Any]:
    result = fleetform(
        "apply", "-i", "inventory/lab.py", str(repo / "stack.yml"), "--yes", "--json",
        "--limit", ",".join(HOSTS),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _revision(host: str, number: int) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(sh(host, f"cat {FOLDER}/{number}.json"))
    return doc


def _numbers(host: str) -> list[str]:
    return sorted(sh(host, f"ls {FOLDER}", check=False).split())


def test_revisions_are_recorded_on_change_only_and_history_lists_them(
    fleetform: Any, repo: Path
) -> None:
    first = _commit(repo, "a")
    _apply(fleetform, repo)
    for host in HOSTS:
        assert _numbers(host) == ["1.json", "current"]
        rev = _revision(host, 1)
        running = sh(host, f"docker inspect -f '{{{{.Image}}}}' {STACK}-app-1")
        assert rev["image_ids"]["containers"] == {f"{STACK}-app-1": running}
        assert rev["git"] == {"commit": first, "dirty": False, "path": "stack.yml"}
        assert rev["revision"] == 1 and rev["result"] == "applied" and rev["host"] == host
        assert rev["plan_hash"].startswith("sha256:")
        assert "@" in rev["actor"] and rev["fleetform_version"]
        assert rev["started_at"] <= rev["finished_at"]
    assert sh(lab_host(3), f"ls {FOLDER} 2>/dev/null; true") == ""  # not targeted

    again = _apply(fleetform, repo)  # nothing to change: no new revision
    assert again["plan"]["has_changes"] is False
    for host in HOSTS:
        assert _numbers(host) == ["1.json", "current"]

    second = _commit(repo, "b")
    _apply(fleetform, repo)
    for host in HOSTS:
        assert _numbers(host) == ["1.json", "2.json", "current"]
        assert sh(host, f"cat {FOLDER}/current") == "2"
        assert _revision(host, 2)["git"]["commit"] == second
        assert any("recreate container" in a for a in _revision(host, 2)["actions"])

    result = fleetform("history", "-i", "inventory/lab.py", STACK, "--json", "--limit", lab_host(1))
    assert result.returncode == 0, result.stdout + result.stderr
    (entry,) = json.loads(result.stdout)["hosts"]
    revisions = entry["revisions"]
    assert [(r["revision"], r["current"]) for r in revisions] == [(2, True), (1, False)]
    assert [r["git"]["commit"] for r in revisions] == [second, first]
    text = fleetform("history", "-i", "inventory/lab.py", STACK, "--limit", lab_host(1))
    assert text.returncode == 0 and "2 *" in text.stdout and second[:12] in text.stdout


def test_revision_files_are_root_only_and_hold_no_secret_value(repo: Path) -> None:
    for host in HOSTS:
        modes = sh(host, f"stat -c '%n %a %U' /var/lib/fleetform/revisions {FOLDER} {FOLDER}/*")
        for line in modes.splitlines():
            name, mode, owner = line.split()
            assert owner == "root"
            assert mode == ("600" if name.startswith(f"{FOLDER}/") else "700"), line
        key = sh(host, "stat -c %a /var/lib/fleetform/revisions/.digest-key")
        assert key == "600"
        assert sh(host, f"grep -rl {TOKEN} {FOLDER} 2>/dev/null; true") == ""
        env = dict(_revision(host, 1)["desired"]["containers"][0]["spec"]["env"])
        assert env["API_TOKEN"].startswith("hmac-sha256:") and env["MODE"] == "a"
