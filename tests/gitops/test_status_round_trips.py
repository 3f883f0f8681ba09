"""``fleetform status`` with stack files reads each host in ONE round trip: the plan's
observation carries the revisions and verify results.

The session is a fake that runs each host's script here in ``sh``, with a
``docker`` that fails (the host is planned as an empty one) and the revisions
folder in a temporary directory.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, ClassVar

import pytest

from fleetform.cli import main
from fleetform.executor import session as session_module
from fleetform.revisions import host as revisions_host
from fleetform.revisions import verified

# pyinfra's CLI module patches threading with gevent when first imported: do it
# while collecting, before any test starts a thread
session_module.patch()

STACK = """\
version: 1
name: st-a
services:
  web:
    image: registry.lab:5000/fleetform/busybox:1
    command: [sleep, "1000"]
"""


class LocalSession:
    """Each host's script run here; ``calls``: how many scripts each host was sent."""

    calls: ClassVar[dict[str, int]] = {}
    path: ClassVar[str] = ""

    def __init__(self, loaded: Any) -> None:
        self.loaded = loaded
        self.failures: dict[str, str] = {}

    @property
    def hosts(self) -> list[Any]:
        return list(self.loaded.hosts)

    def connect(self) -> None:
        pass

    def disconnect(self) -> None:
        pass

    def run_everywhere(self, script: Any, chosen: list[Any] | None = None) -> dict[str, Any]:
        done = {}
        for h in chosen if chosen is not None else self.hosts:
            LocalSession.calls[h.name] = LocalSession.calls.get(h.name, 0) + 1
            env = {**os.environ, "PATH": LocalSession.path}
            proc = subprocess.run(
                ["sh", "-c", script(h)], capture_output=True, text=True, env=env, check=False
            )
            done[h.name] = session_module.CommandResult(
                proc.returncode == 0, proc.stdout, proc.stderr
            )
        return done


@pytest.fixture
def hosts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The revisions folder the fake hosts share, with revision 1 of ``st-a`` verified."""
    folder = tmp_path / "revisions"
    (folder / "st-a").mkdir(parents=True)
    doc = {"stack": "st-a", "revision": 1, "finished_at": "T", "actor": "me@here"}
    (folder / "st-a" / "1.json").write_text(json.dumps(doc) + "\n")
    (folder / "st-a" / "current").write_text("1\n")
    check = {"at": "T", "commit": None, "ok": True, "checks": 2, "failed": []}
    (folder / "st-a" / "verify.json").write_text(json.dumps(check))
    stub = tmp_path / "bin"
    stub.mkdir()
    (stub / "docker").write_text("#!/bin/sh\necho 'docker: not here' >&2\nexit 127\n")
    (stub / "docker").chmod(0o755)
    LocalSession.calls, LocalSession.path = {}, f"{stub}:/usr/bin:/bin"
    monkeypatch.setattr(session_module, "Session", LocalSession)
    monkeypatch.setattr(revisions_host, "REVISIONS_DIR", str(folder))
    monkeypatch.setattr(verified, "REVISIONS_DIR", str(folder))
    return folder


def test_status_with_stack_files_reads_each_host_once(
    hosts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = tmp_path / "a.yml"
    stack.write_text(STACK)
    code = main(["status", "-i", "h1,h2", "--json", str(stack)])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0, doc
    assert LocalSession.calls == {"h1": 1, "h2": 1}
    for host in doc["hosts"]:
        (row,) = host["stacks"]
        assert (row["stack"], row["revision"], row["applied_by"]) == ("st-a", 1, "me@here")
        assert row["verify"]["checks"] == 2
        # nothing runs on these hosts: the plan creates the container
        assert row["drift"] is True
        assert any("st-a-web-1" in a for a in row["drift_actions"])


def test_status_with_stack_names_reads_each_host_once_without_a_plan(
    hosts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "-i", "h1,h2", "--json", "st-a"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert LocalSession.calls == {"h1": 1, "h2": 1}
    assert [h["stacks"][0]["drift"] for h in doc["hosts"]] == [None, None]
