"""``fleetform reconcile``'s decisions, with ``plan`` and ``apply`` replaced by fakes.

The fakes print the documents the real commands print with ``--json``; the
lab tests (tests/e2e/test_reconcile_e2e.py) run the real ones.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli
from gitrepo import Endpoint, Repo

from fleetform.cli import main
from fleetform.commands import converge, reconcile_verify

STACK = """\
version: 1
name: gitops-unit
services:
  web:
    image: registry.lab:5000/fleetform/busybox:1
    command: [sleep, "1000"]
    environment: {COLOR: %s}
"""

ACTION = {
    "kind": "recreate",
    "resource_type": "container",
    "resource": "gitops-unit-web-1",
    "reason": "environment changed",
}


class Fleet:
    """Fake plan/apply/verify: what they were asked, and what they answer."""

    def __init__(self) -> None:
        self.changes = True
        self.apply_code = 0
        self.verify_failed: list[str] = []
        self.calls: list[str] = []
        self.sources: list[Any] = []

    def plan(self, args: Any) -> int:
        self.calls.append("plan")
        hosts = [{"host": "h1", "actions": [ACTION] if self.changes else [], "engine": []}]
        doc = {"has_changes": self.changes, "errors": [], "hosts": hosts}
        sys.stdout.write(json.dumps(doc))
        return 2 if self.changes else 0

    def apply(self, args: Any) -> int:
        self.calls.append("apply")
        self.sources.append(args.source)
        assert args.yes and args.json
        rollout = {"outcome": "rolled_back", "errors": [], "problems": {}, "sentence": "back"}
        doc: dict[str, Any] = {"ok": self.apply_code == 0, "hosts": []}
        if self.apply_code == 3:
            doc["rollout"] = rollout
        sys.stdout.write(json.dumps(doc))
        return self.apply_code

    def verify(self, out: Any, commit: str, ns: Any) -> tuple[Any, list[str], bytes]:
        self.calls.append("verify")
        return {"ok": not self.verify_failed, "hosts": []}, self.verify_failed, b"<testsuites/>"


@pytest.fixture
def fleet(monkeypatch: pytest.MonkeyPatch) -> Fleet:
    f = Fleet()
    monkeypatch.setattr(converge, "run_plan", f.plan)
    monkeypatch.setattr(converge, "run_apply", f.apply)
    monkeypatch.setattr(reconcile_verify, "verify_and_record", f.verify)
    return f


def reconcile(repo: Repo, tmp: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(
        [
            "reconcile",
            "--repo",
            str(repo.bare),
            "-i",
            "h1",
            "--cache-dir",
            str(tmp / "cache"),
            "--report-dir",
            str(tmp / "reports"),
            *extra,
        ]
    )
    return code, json.loads((tmp / "reports" / "last-reconcile.json").read_text())


def test_a_new_commit_is_applied_and_verified_with_its_source(
    repo: Repo, tmp_path: Path, fleet: Fleet
) -> None:
    commit = repo.commit({"stacks/web.yml": STACK % "blue"})
    code, doc = reconcile(repo, tmp_path)
    assert (code, doc["result"], doc["commit"]) == (0, "converged", commit)
    assert fleet.calls == ["plan", "apply", "verify"]
    assert fleet.sources == [{"repo": str(repo.bare), "commit": commit}]
    assert (tmp_path / "reports" / "verify-junit.xml").read_bytes() == b"<testsuites/>"


def test_a_readme_commit_with_an_empty_plan_changes_nothing(
    repo: Repo, tmp_path: Path, fleet: Fleet
) -> None:
    repo.commit({"stacks/web.yml": STACK % "blue"})
    reconcile(repo, tmp_path)
    repo.commit({"README.md": "docs only\n"})
    fleet.changes, fleet.calls = False, []
    code, doc = reconcile(repo, tmp_path)
    assert (code, doc["result"], fleet.calls) == (0, "in_sync", ["plan"])


def test_changes_without_a_new_commit_are_drift_reported_then_reverted(
    repo: Repo, tmp_path: Path, fleet: Fleet, endpoint: Endpoint
) -> None:
    repo.commit({"stacks/web.yml": STACK % "blue"})
    reconcile(repo, tmp_path)
    fleet.calls = []
    code, doc = reconcile(repo, tmp_path, "--notify", endpoint.url)
    assert (code, doc["result"], fleet.calls) == (0, "drift", ["plan"])
    assert doc["drift"] == ["h1: recreate container gitops-unit-web-1 (environment changed)"]
    assert [n["event"] for n in doc["notifications"]] == ["drift"]
    code, doc = reconcile(repo, tmp_path, "--notify", endpoint.url)
    assert doc["notifications"] == []  # the same drift is sent once
    code, doc = reconcile(repo, tmp_path, "--drift", "revert")
    assert (code, doc["result"]) == (0, "reverted")
    assert fleet.calls[-2:] == ["apply", "verify"]
    assert len(endpoint.received) == 1


def test_an_invalid_commit_changes_nothing_and_notifies_once(
    repo: Repo, tmp_path: Path, fleet: Fleet, endpoint: Endpoint
) -> None:
    bad = repo.commit({"stacks/web.yml": STACK % "blue" + "    ports: ['99999:80']\n"})
    code, doc = reconcile(repo, tmp_path, "--notify", endpoint.url)
    assert (code, doc["result"], doc["commit"]) == (1, "invalid", bad)
    assert fleet.calls == []  # no host was contacted
    assert any("stacks/web.yml" in p and "99999" in p for p in doc["problems"])
    assert str(tmp_path / "cache") not in json.dumps(doc["problems"])
    (got,) = endpoint.received
    assert bad in got["message"] and "99999" in got["message"]
    code, doc = reconcile(repo, tmp_path, "--notify", endpoint.url)
    assert code == 1 and len(endpoint.received) == 1
    repo.commit({"stacks/web.yml": STACK % "green"})
    code, doc = reconcile(repo, tmp_path, "--notify", endpoint.url)
    assert (code, doc["result"]) == (0, "converged")
    assert [n["event"] for n in doc["notifications"]] == ["recovery"]
    assert "recovered" in endpoint.received[-1]["title"]


def test_a_rolled_back_commit_exits_3_and_is_not_applied_again(
    repo: Repo, tmp_path: Path, fleet: Fleet, endpoint: Endpoint
) -> None:
    repo.commit({"stacks/web.yml": STACK % "blue"})
    fleet.apply_code = 3
    code, doc = reconcile(repo, tmp_path, "--notify", endpoint.url)
    assert (code, doc["result"]) == (3, "rolled_back")
    assert [n["event"] for n in doc["notifications"]] == ["rollback"]
    fleet.calls = []
    code, doc = reconcile(repo, tmp_path, "--notify", endpoint.url, "--drift", "revert")
    assert (code, doc["result"], fleet.calls) == (3, "rolled_back", ["plan"])
    assert len(endpoint.received) == 1


def test_a_failed_verify_fails_the_run(repo: Repo, tmp_path: Path, fleet: Fleet) -> None:
    repo.commit({"stacks/web.yml": STACK % "blue"})
    fleet.verify_failed = ["h1  gitops-unit-web-1  running  expected true, got false"]
    code, doc = reconcile(repo, tmp_path)
    assert (code, doc["result"], doc["problems"]) == (1, "failed", fleet.verify_failed)
    prom = (tmp_path / "reports" / "fleetform.prom").read_text()
    assert "fleetform_reconcile_failures_total 1" in prom


def test_a_repository_that_cannot_be_fetched_is_a_clear_error(
    tmp_path: Path, fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["reconcile", "--repo", str(tmp_path / "nope"), "-i", "h1",
                 "--cache-dir", str(tmp_path / "c")])  # fmt: skip
    assert code == 1 and fleet.calls == []
    assert "git fetch failed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--every", "soon"], "--every: 'soon' is not a duration"),
        (["--notify", "nosuch://x"], "notification URL 1 (nosuch://...)"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(
    tmp_path: Path, fleet: Fleet, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = main(["reconcile", "--repo", str(tmp_path), "-i", "h1", *args])
    assert code == 1 and fleet.calls == []
    assert message in capsys.readouterr().err


def test_a_secret_that_does_not_decrypt_makes_the_commit_invalid(
    repo: Repo, tmp_path: Path, fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fleetform.stackfile.sops import sops_program

    program = sops_program()
    assert program is not None
    key = tmp_path / "age.key"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    recipient = key.read_text().split("# public key: ")[1].split()[0]
    types = ["--input-type", "binary", "--output-type", "binary"]
    encrypted = subprocess.run(
        [program, "encrypt", "--age", recipient, *types, "/dev/stdin"],
        input=b"s3cret",
        capture_output=True,
        check=True,
    ).stdout
    mounted = STACK % "blue" + "    secrets: [db]\nsecrets:\n  db: {file: ./db.enc}\n"
    commit = repo.commit({"stacks/web.yml": mounted, "stacks/db.enc": encrypted.decode()})
    monkeypatch.delenv("SOPS_AGE_KEY", raising=False)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "no-such.key"))
    code, doc = reconcile(repo, tmp_path)
    assert (code, doc["result"], doc["commit"]) == (1, "invalid", commit)
    assert fleet.calls == []
    assert any("db.enc" in p and "decrypt" in p for p in doc["problems"]), doc["problems"]
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key))
    code, doc = reconcile(repo, tmp_path)
    assert (code, doc["result"]) == (0, "converged"), doc["problems"]
    assert "s3cret" not in json.dumps(doc)


def test_two_reconciles_of_one_cache_never_overlap(
    repo: Repo, tmp_path: Path, fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit({"stacks/web.yml": STACK % "blue"})
    (tmp_path / "cache").mkdir()
    with open(tmp_path / "cache" / "lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        code = main(["reconcile", "--repo", str(repo.bare), "-i", "h1",
                     "--cache-dir", str(tmp_path / "cache")])  # fmt: skip
    assert code == 1 and fleet.calls == []
    assert "another reconcile is running" in capsys.readouterr().err


def test_every_runs_again_after_a_jittered_wait(
    repo: Repo, tmp_path: Path, fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fleetform.commands import reconcile as module

    repo.commit({"stacks/web.yml": STACK % "blue"})
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            raise KeyboardInterrupt  # as Ctrl-C (or SIGTERM) stops the loop

    monkeypatch.setattr(module, "wait", sleep)
    code = main(["reconcile", "--repo", str(repo.bare), "-i", "h1", "--every", "1m",
                 "--cache-dir", str(tmp_path / "cache")])  # fmt: skip
    assert code == 130
    # the second run finds the same commit: its (fake) non-empty plan is drift, reported
    assert fleet.calls == ["plan", "apply", "verify", "plan"]
    assert all(54 <= w <= 66 for w in waits), waits


def test_an_inventory_that_does_not_load_fails_the_run_with_its_reason(
    repo: Repo, tmp_path: Path, endpoint: Endpoint
) -> None:
    # the real `plan` (pyinfra), so in a process of its own as a user runs it
    repo.commit({"stacks/web.yml": STACK % "blue", "inventory/hosts.py": "def broken(:\n"})
    done = run_cli("reconcile", "--repo", str(repo.bare), "-i", "inventory/hosts.py",
                   "--cache-dir", str(tmp_path / "cache"), "--report-dir", str(tmp_path / "r"),
                   "--notify", endpoint.url)  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    doc = json.loads((tmp_path / "r" / "last-reconcile.json").read_text())
    assert (done.returncode, doc["result"]) == (1, "failed")
    assert doc["problems"] and doc["problems"] != ["plan failed"]
    assert doc["problems"][0].startswith("inventory/hosts.py: cannot load inventory"), doc
    assert "hosts.py" in endpoint.received[0]["message"]


def test_a_report_dir_that_cannot_be_written_is_refused_first(
    tmp_path: Path, fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("")
    code = main(["reconcile", "--repo", str(tmp_path), "-i", "h1",
                 "--report-dir", str(tmp_path / "file" / "reports")])  # fmt: skip
    assert code == 1 and fleet.calls == []
    assert "--report-dir" in capsys.readouterr().err


def test_planned_lines_read_like_the_plan_for_proxy_changes_too() -> None:
    from fleetform.commands.reconcile import _action_lines

    plan = {
        "hosts": [
            {
                "host": "lab-1",
                "engine": [],
                "actions": [],
                "proxy": [
                    {
                        "kind": "upgrade-proxy",
                        "resource_type": "proxy",
                        "resource": "haproxy",
                        "reason": "2.6.12-1+deb12u1 -> 2.6.12-1+deb12u2",
                    }
                ],
            }
        ]
    }
    assert _action_lines(plan) == [
        "lab-1: upgrade-proxy haproxy (2.6.12-1+deb12u1 -> 2.6.12-1+deb12u2)"
    ]


def test_an_unforeseen_failure_of_one_run_does_not_end_every(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fleetform.commands import reconcile as module

    runs: list[int] = []

    def one_run(*_: object) -> int:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("something nobody foresaw")
        raise KeyboardInterrupt  # as SIGTERM stops the loop

    monkeypatch.setattr(module, "_one_run", one_run)
    monkeypatch.setattr(module, "wait", lambda seconds: None)
    code = main(["reconcile", "--repo", str(repo.bare), "-i", "h1", "--every", "1m",
                 "--cache-dir", str(tmp_path / "cache")])  # fmt: skip
    assert (code, len(runs)) == (130, 2)
    assert "the run failed unexpectedly: RuntimeError: something nobody foresaw" in (
        capsys.readouterr().err
    )
