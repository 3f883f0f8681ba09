"""The guarded daemon.json change, run by a real shell against stub docker tools.

The step builders' output runs under ``sh`` with ``docker``, ``systemctl``,
``journalctl`` and ``dockerd`` replaced by small scripts that act like an
engine without live-restore: a restart stops every container, and dockerd
does not come back when daemon.json says ``"bad"``.  Paths under /etc/docker
are moved into a temporary directory.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from fleetform.engine.settings import EngineSettings
from fleetform.engine.steps import daemon_json_steps

from .conftest import observed

STUBS = {
    # running: containers running now; up: dockerd answers
    "docker": """#!/bin/sh
case "$1" in
  version) [ -f "$S/up" ] ;;
  ps) [ -f "$S/up" ] && cat "$S/running" ;;
  inspect)
    if grep -qx "$4" "$S/running"; then
      if grep -qx "$4" "$S/unhealthy" 2>/dev/null; then health=unhealthy; else health=none; fi
      case "$3" in *Status*) echo "running $health" ;; *) echo true ;; esac
    else
      case "$3" in *Status*) echo "exited none" ;; *) echo false ;; esac
    fi ;;
  start) echo "$2" >> "$S/started"; echo "$2" >> "$S/running" ;;
  *) exit 2 ;;
esac
""",
    "systemctl": """#!/bin/sh
case "$1" in
  restart)
    echo restart >> "$S/log"; : > "$S/running"; rm -f "$S/up"
    if grep -q bad "$ETC/daemon.json" 2>/dev/null; then exit 1; fi
    touch "$S/up" ;;
  reset-failed) echo reset-failed >> "$S/log" ;;
esac
""",
    "journalctl": """#!/bin/sh
echo 'failed to start daemon: invalid bad setting'
""",
    "dockerd": """#!/bin/sh
case "$1" in
  --help) [ -f "$S/has-validate" ] && echo '  --validate   Validate daemon configuration' ;;
  --validate) grep -q refuse "$3" && { echo 'unable to configure dockerd' >&2; exit 1; } ;;
esac
exit 0
""",
}


@dataclass
class Run:
    rc: int
    stderr: str
    daemon_json: str | None
    backup: str | None
    started: list[str]
    running: list[str]
    log: list[str]


class Host:
    """A temporary directory that stands for a systemd host with dockerd running."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin, self.state, self.etc = root / "bin", root / "s", root / "etc/docker"
        for d in (self.bin, self.state, self.etc):
            d.mkdir(parents=True)
        for name, text in STUBS.items():
            (self.bin / name).write_text(text)
            (self.bin / name).chmod(0o755)
        (self.state / "up").touch()
        (self.state / "running").write_text("")

    def run(
        self,
        daemon_json: str,
        running: list[str],
        validate: bool = False,
        unhealthy: tuple[str, ...] = (),
    ) -> Run:
        (self.state / "running").write_text("".join(f"{c}\n" for c in running))
        (self.state / "unhealthy").write_text("".join(f"{c}\n" for c in unhealthy))
        if validate:
            (self.state / "has-validate").touch()
        steps = daemon_json_steps(EngineSettings(daemon_json=daemon_json), observed("lab-running"))
        script = " && ".join(steps)
        script = script.replace("/etc/docker/", f"{self.etc}/").replace(
            "/usr/sbin/dockerd", str(self.bin / "dockerd")
        )
        env = {"PATH": f"{self.bin}:/usr/bin:/bin", "S": str(self.state), "ETC": str(self.etc)}
        proc = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)

        def read(path: Path) -> str | None:
            return path.read_text() if path.exists() else None

        return Run(
            rc=proc.returncode,
            stderr=proc.stderr,
            daemon_json=read(self.etc / "daemon.json"),
            backup=read(self.etc / "daemon.json.fleetform-backup"),
            started=(read(self.state / "started") or "").split(),
            running=(read(self.state / "running") or "").split(),
            log=(read(self.state / "log") or "").split(),
        )


@pytest.fixture
def host(tmp_path: Path) -> Host:
    h = Host(tmp_path)
    (h.etc / "daemon.json").write_text('{"debug":true}\n')
    return h


def test_containers_running_before_the_restart_are_started_again_and_only_those(
    host: Host,
) -> None:
    run = host.run('{"live-restore":false}', running=["aaa", "bbb"])
    assert run.rc == 0, run.stderr
    assert run.started == ["aaa", "bbb"] and sorted(run.running) == ["aaa", "bbb"]
    assert run.daemon_json == '{"live-restore":false}\n'
    assert run.backup == '{"debug":true}\n'
    assert run.log == ["reset-failed", "reset-failed", "restart"]


def test_a_container_unhealthy_after_the_restart_fails_the_step_so_no_next_host_restarts(
    host: Host,
) -> None:
    # The step runs host by host (pyinfra's _serial); failing here stops the hosts after it.
    run = host.run('{"live-restore":false}', running=["aaa", "bbb"], unhealthy=("bbb",))
    assert run.rc == 1
    assert "container bbb is not healthy again after the restart (running unhealthy)" in run.stderr
    assert "aaa" not in run.stderr
    assert run.daemon_json == '{"live-restore":false}\n'  # the change itself is in place


def test_a_stopped_container_is_not_started(host: Host) -> None:
    run = host.run('{"live-restore":false}', running=[])
    assert run.rc == 0, run.stderr
    assert run.started == []


def test_when_dockerd_does_not_come_back_the_backup_is_restored_and_the_step_fails(
    host: Host,
) -> None:
    run = host.run('{"bad":true}', running=["aaa"])
    assert run.rc == 1
    assert run.daemon_json == '{"debug":true}\n'  # the previous file, back in place
    assert run.log == ["reset-failed"] * 2 + ["restart"] + ["reset-failed"] * 2 + ["restart"]
    assert (host.state / "up").exists()  # dockerd runs again
    assert run.started == ["aaa"]  # and what ran before runs again
    assert "did not come back with the new" in run.stderr
    assert "invalid bad setting" in run.stderr  # dockerd's own reason
    assert "the new one was not applied" in run.stderr


def test_without_a_previous_file_a_failed_restart_removes_the_new_one(tmp_path: Path) -> None:
    host = Host(tmp_path)
    run = host.run('{"bad":true}', running=[])
    assert run.rc == 1 and run.daemon_json is None and (host.state / "up").exists()


def test_dockerd_validate_refusing_the_file_changes_nothing_and_restarts_nothing(
    host: Host,
) -> None:
    run = host.run('{"refuse":true}', running=["aaa"], validate=True)
    assert run.rc == 1
    assert "dockerd --validate refused the new" in run.stderr
    assert run.daemon_json == '{"debug":true}\n' and run.log == [] and run.started == []
    assert not (host.etc / "daemon.json.fleetform-new").exists()


def test_a_dockerd_without_validate_is_not_asked_to_validate(host: Host) -> None:
    run = host.run('{"refuse":true}', running=[], validate=False)
    assert run.rc == 0 and run.log[-1] == "restart"
