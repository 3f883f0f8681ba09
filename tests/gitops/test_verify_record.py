"""``fleetform verify`` keeps each stack's result on its hosts, with the stack file's commit.

The checks and the SSH session are replaced by fakes; the scripts the
session was given are run here in ``sh``, on a temporary revisions folder.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, ClassVar

import pytest
from gitrepo import Repo

from fleetform.cli import main
from fleetform.commands import verify as verify_command
from fleetform.executor import session as session_module
from fleetform.revisions import host as revisions_host
from fleetform.revisions import verified
from fleetform.revisions.verified import parse_verified, read_verified_lines
from fleetform.verify import connection
from fleetform.verify.checks import CheckResult
from fleetform.verify.runner import HostReport

# pyinfra's CLI module patches threading with gevent when first imported: do it
# while collecting, before any test (the HTTP servers of the others) starts a thread
session_module.patch()

STACK = """\
version: 1
name: {name}
hosts: [{hosts}]
services:
  web:
    image: registry.lab:5000/fleetform/busybox:1
    command: [sleep, "1000"]
"""


class FakeSession:
    scripts: ClassVar[dict[str, str]] = {}

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

    def run_everywhere(self, script: Any, chosen: list[Any]) -> dict[str, Any]:
        done = {}
        for h in chosen:
            FakeSession.scripts[h.name] = script(h)
            done[h.name] = session_module.CommandResult(True, "", "")
        return done


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, HostReport]:
    """host -> the report the fake checks give (default: h1 passes, h2 unreachable)."""
    reports = {
        "h1": HostReport("h1", (CheckResult("vr-a-web-1", "running", True, "", ""),)),
        "h2": HostReport("h2", error="unreachable"),
    }

    def run_checks(planned: list[Any], connect: Any) -> list[HostReport]:
        return [reports[p.host] for p in planned]

    monkeypatch.setattr(verify_command, "run_checks", run_checks)
    monkeypatch.setattr(
        connection.Connection, "from_pyinfra_host", classmethod(lambda cls, host: object())
    )
    monkeypatch.setattr(connection, "ssh_config_text", lambda conns: "")
    monkeypatch.setattr(session_module, "Session", FakeSession)
    monkeypatch.setattr(revisions_host, "REVISIONS_DIR", str(tmp_path / "revisions"))
    monkeypatch.setattr(verified, "REVISIONS_DIR", str(tmp_path / "revisions"))
    FakeSession.scripts = {}
    return reports


def _kept(script: str) -> dict[str, dict[str, Any]]:
    subprocess.run(["sh", "-c", script], check=True)
    out = subprocess.run(["sh", "-c", read_verified_lines()], check=True, capture_output=True)
    return parse_verified(out.stdout.decode())


def test_verify_keeps_each_stacks_result_with_the_commit_of_its_file(
    repo: Repo, checked: dict[str, HostReport]
) -> None:
    commit = repo.commit(
        {
            "a.yml": STACK.format(name="vr-a", hosts="h1, h2"),
            "b.yml": STACK.format(name="vr-b", hosts="h2"),
        }
    )
    code = main(["verify", "-i", "h1,h2", str(repo.work / "a.yml"), str(repo.work / "b.yml")])
    assert code == 1  # h2 unreachable
    # h1 runs only vr-a; h2 was not reached, so its last result stays as it was
    assert set(FakeSession.scripts) == {"h1"}
    kept = _kept(FakeSession.scripts["h1"])
    assert set(kept) == {"vr-a"}
    assert kept["vr-a"]["ok"] is True
    assert kept["vr-a"]["checks"] == 1
    assert kept["vr-a"]["commit"] == commit
    assert "@" in kept["vr-a"]["by"]


def test_a_failed_check_is_kept_and_a_file_outside_git_has_no_commit(
    tmp_path: Path, checked: dict[str, HostReport]
) -> None:
    checked["h1"] = HostReport("h1", (CheckResult("vr-a-web-1", "running", False, "", ""),))
    stack = tmp_path / "plain" / "a.yml"
    stack.parent.mkdir()
    stack.write_text(STACK.format(name="vr-a", hosts="h1"))
    assert main(["verify", "-i", "h1,h2", str(stack)]) == 1
    kept = _kept(FakeSession.scripts["h1"])["vr-a"]
    assert (kept["ok"], kept["failed"], kept["commit"]) == (False, ["vr-a-web-1 running"], None)


def test_the_reconciles_commit_wins_over_the_files(
    repo: Repo, checked: dict[str, HostReport]
) -> None:
    from fleetform.commands.common import Output

    repo.commit({"a.yml": STACK.format(name="vr-a", hosts="h1")})
    ns = verify_command.argparse.Namespace(
        stacks=[str(repo.work / "a.yml")], inventory="h1,h2", limit=[], env_file=None, profiles=[]
    )
    assert verify_command.verify_reports(ns, Output(json_mode=True), commit="f" * 40)
    assert _kept(FakeSession.scripts["h1"])["vr-a"]["commit"] == "f" * 40
