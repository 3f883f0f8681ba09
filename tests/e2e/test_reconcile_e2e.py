"""End to end: ``fleetform reconcile`` follows a local bare git repository on lab-1 and lab-2.

One story, commit after commit, each step judged from the hosts' real state:

1. commit 1 converges, with a SOPS-encrypted secret reaching ``/run/secrets``;
2. commit 2 changes an env value: only that service is recreated, and
   ``status`` shows commit 2 on both hosts, verified;
3. an invalid commit changes nothing and is notified with its id and problem;
4. a README-only commit changes nothing (and notifies the recovery);
5. a hand-made ``docker stop`` is reported as drift, then reverted;
6. a commit whose health check fails (fleetform/demo:broken) rolls back,
   exits 3 and notifies.

The secret's plaintext is then looked for in every output, report, ``docker
inspect``, the containers' logs and the hosts' process lists.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from gitrepo import Repo, endpoint

from fleetform.revisions import REVISIONS_DIR
from fleetform.secrets import SECRET_FILES_DIR
from fleetform.stackfile.sops import sops_program

from .onhost import lab_host, remove_stack, sh

pytestmark = pytest.mark.e2e

STACK = "gitops-e2e"
PASSWORD = f"pw-{secrets.token_hex(8)}"  # unique per run: a hit is this run's leak
REGISTRY = "registry.lab:5000/fleetform"
Cli = Callable[..., subprocess.CompletedProcess[str]]


def _stack(hosts: list[str], color: str, tag: str = "1") -> str:
    web = {
        "image": f"{REGISTRY}/demo:{tag}",
        "environment": {"COLOR": color},
        "healthcheck": {
            "test": "wget -q -O- http://127.0.0.1:8080/healthz",
            "interval": "1s",
            "timeout": "1s",
            "retries": 2,
        },
        "stop_grace_period": "1s",
        "deploy": {
            # the shortest windows the gate polls (each second): the scenarios need a
            # health-gated rollout, not a long one
            "update_config": {"parallelism": 2, "monitor": "1s"},
            "rollback_config": {"parallelism": 2, "monitor": "1s"},
        },
    }
    worker = {
        "image": f"{REGISTRY}/busybox:1",
        "command": ["sleep", "100000"],
        "stop_grace_period": "1s",
        "secrets": ["db"],
    }
    doc = {
        "version": 1,
        "name": STACK,
        "hosts": hosts,
        "secrets": {"db": {"file": "./db.enc"}},
        "services": {"web": web, "worker": worker},
    }
    return yaml.safe_dump(doc)


def _clean(hosts: list[str]) -> None:
    for host in hosts:
        remove_stack(host, STACK, f"rm -rf {SECRET_FILES_DIR}/{STACK}-* {REVISIONS_DIR}/{STACK}")


@pytest.fixture(scope="module")
def hosts(lab: Any) -> Iterator[list[str]]:
    names = [lab_host(1), lab_host(2)]
    _clean(names)  # an interrupted run may have left it behind
    yield names
    _clean(names)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict[str, str]]:
    """The encrypted secret file and the environment holding the age key."""
    folder = tmp_path_factory.mktemp("gitops-keys")
    key = folder / "age.key"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    recipient = next(
        line.removeprefix("# public key: ")
        for line in key.read_text().splitlines()
        if line.startswith("# public key: ")
    )
    program = sops_program()
    assert program is not None
    types = ["--input-type", "binary", "--output-type", "binary"]
    done = subprocess.run(
        [program, "encrypt", "--age", recipient, *types, "/dev/stdin"],
        input=PASSWORD.encode(),
        capture_output=True,
        check=True,
    )
    return done.stdout, {"SOPS_AGE_KEY_FILE": str(key)}


class Runner:
    def __init__(self, fleetform: Cli, repo: Repo, folder: Path, env: dict[str, str]) -> None:
        self.fleetform, self.repo, self.folder, self.env = fleetform, repo, folder, env
        self.reports = folder / "reports"
        self.outputs: list[str] = []
        #: (what, seconds) of each fleetform run, printed at the end: where the time goes
        self.timings: list[tuple[str, float]] = []

    def timed(self, what: str, *args: str) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        done = self.fleetform(*args, env=self.env)
        self.timings.append((what, time.monotonic() - started))
        return done

    def reconcile(self, hosts: list[str], notify: str, *extra: str) -> tuple[int, dict[str, Any]]:
        done = self.timed(
            "reconcile", "reconcile", "--repo", f"file://{self.repo.bare}", "--ref", "main",
            "-i", "inventory/lab.py", "--limit", ",".join(hosts), "--once",
            "--cache-dir", str(self.folder / "cache"), "--report-dir", str(self.reports),
            "--notify", notify, "--json", *extra,
        )  # fmt: skip
        self.outputs.append(done.stdout + done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        doc = json.loads(done.stdout)
        what, seconds = self.timings[-1]
        self.timings[-1] = (f"{what} {doc['result']}", seconds)
        return done.returncode, doc

    def status(self, hosts: list[str]) -> dict[str, Any]:
        done = self.timed(
            "status", "status", "-i", "inventory/lab.py", "--limit", ",".join(hosts), "--json",
            str(self.repo.work / "stacks/app.yml"),
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return dict(json.loads(done.stdout))


def _ids(hosts: list[str]) -> dict[str, str]:
    """container name -> id, on every host."""
    out = {}
    for host in hosts:
        shown = "'{{.Names}} {{.ID}}'"
        listing = sh(host, f"docker ps -a --filter label=fleetform.stack={STACK} --format {shown}")
        out.update({f"{host}/{n}": i for n, i in (line.split() for line in listing.splitlines())})
    return out


def _env(host: str, container: str) -> str:
    return sh(host, f"docker inspect -f '{{{{json .Config.Env}}}}' {container}")


def test_reconcile_follows_the_repository_commit_by_commit(
    fleetform: Cli, hosts: list[str], keys: tuple[bytes, dict[str, str]], tmp_path: Path
) -> None:
    encrypted, env = keys
    repo = Repo(tmp_path)
    run = Runner(fleetform, repo, tmp_path, env)
    web, worker = f"{STACK}-web-1", f"{STACK}-worker-1"
    with endpoint() as notified:
        # 1. commit 1 converges; the secret reaches /run/secrets
        c1 = repo.commit({"stacks/app.yml": _stack(hosts, "blue"), "stacks/db.enc": encrypted})
        code, doc = run.reconcile(hosts, notified.url)
        assert (code, doc["result"], doc["commit"]) == (0, "converged", c1), doc["problems"]
        for host in hosts:
            assert sh(host, f"docker exec {worker} cat /run/secrets/db") == PASSWORD
            assert "COLOR=blue" in _env(host, web)
        assert doc["verify"]["ok"] is True

        # 2. commit 2 changes an env value: only web is recreated
        before = _ids(hosts)
        c2 = repo.commit({"stacks/app.yml": _stack(hosts, "green")})
        code, doc = run.reconcile(hosts, notified.url)
        assert (code, doc["result"], doc["commit"]) == (0, "converged", c2), doc["problems"]
        after = _ids(hosts)
        changed = sorted(k for k in before if before[k] != after.get(k))
        assert changed == sorted(f"{h}/{web}" for h in hosts)
        assert all("COLOR=green" in _env(h, web) for h in hosts)
        status = run.status(hosts)
        rows = {h["host"]: h["stacks"] for h in status["hosts"]}
        for host in hosts:
            (row,) = rows[host]
            assert (row["stack"], row["commit"], row["drift"]) == (STACK, c2, False)
            assert row["repo"] == f"file://{repo.bare}"
            assert row["verify"]["ok"] is True and row["verify"]["commit"] == c2
            assert row["applied_by"] and row["applied_at"]
        audit = sh(hosts[0], f'grep \'"stack":"{STACK}"\' /var/log/fleetform/audit.jsonl')
        assert f'"commit":"{c2}"' in audit

        # 3. an invalid commit changes nothing and is notified with its id and problem
        steady = _ids(hosts)
        bad = repo.commit({"stacks/app.yml": _stack(hosts, "green") + "bogus_key: 1\n"})
        code, doc = run.reconcile(hosts, notified.url)
        assert (code, doc["result"], doc["commit"]) == (1, "invalid", bad)
        assert any("bogus_key" in p for p in doc["problems"]), doc["problems"]
        assert _ids(hosts) == steady
        assert bad in notified.received[-1]["message"]
        assert "bogus_key" in notified.received[-1]["message"]

        # 4. a README-only commit (back to commit 2's stacks) changes nothing; recovery
        repo.commit({"stacks/app.yml": _stack(hosts, "green"), "README.md": "notes\n"})
        code, doc = run.reconcile(hosts, notified.url)
        assert (code, doc["result"]) == (0, "in_sync"), doc["problems"]
        assert _ids(hosts) == steady
        assert "recovered" in notified.received[-1]["title"]

        # 5. a hand-made docker stop is drift: reported, then reverted
        sh(hosts[0], f"docker stop -t 1 {worker} >/dev/null")
        code, doc = run.reconcile(hosts, notified.url)
        assert (code, doc["result"]) == (0, "drift")
        assert any(worker in line for line in doc["drift"]), doc["drift"]
        assert sh(hosts[0], f"docker inspect -f '{{{{.State.Running}}}}' {worker}") == "false"
        assert "drift" in notified.received[-1]["title"]
        code, doc = run.reconcile(hosts, notified.url, "--drift", "revert")
        assert (code, doc["result"]) == (0, "reverted"), doc["problems"]
        assert sh(hosts[0], f"docker inspect -f '{{{{.State.Running}}}}' {worker}") == "true"

        # 6. a failing health check rolls back, exits 3, and is notified
        sent = len(notified.received)
        broken = repo.commit({"stacks/app.yml": _stack(hosts, "green", tag="broken")})
        code, doc = run.reconcile(hosts, notified.url)
        assert (code, doc["result"], doc["commit"]) == (3, "rolled_back", broken), doc
        for host in hosts:
            image = sh(host, f"docker inspect -f '{{{{.Config.Image}}}}' {web}")
            assert image == f"{REGISTRY}/demo:1"
            assert sh(host, f"docker inspect -f '{{{{.State.Running}}}}' {web}") == "true"
        assert len(notified.received) == sent + 1
        assert "rolled back" in notified.received[-1]["title"]

    # where the time went (pytest -s shows it; the lead's figures for the e2e budget)
    for what, seconds in run.timings:
        print(f"{seconds:6.1f} s  {what}")
    print(f"{sum(t for _, t in run.timings):6.1f} s  fleetform runs in all")

    # the plaintext is in no output, report, or container metadata
    written = "".join(p.read_text() for p in run.reports.iterdir())
    assert PASSWORD not in written + "".join(run.outputs)
    for host in hosts:
        assert PASSWORD not in sh(host, f"docker inspect {worker}")
        assert PASSWORD not in sh(host, f"ps auxww; docker logs {worker} 2>&1")
    prom = (run.reports / "fleetform.prom").read_text()
    assert 'fleetform_reconcile_last_result{result="rolled_back"} 1' in prom
    assert "fleetform_reconcile_drift_total 1" in prom
    assert (run.reports / "verify-junit.xml").read_text().startswith("<?xml")
