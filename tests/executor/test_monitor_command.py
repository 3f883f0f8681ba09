"""The monitor window's command, run by a real shell against a stand-in ``docker``.

The stand-in answers ``docker inspect`` from a file of lines, one per call
(the last one repeats), as a container seen over time.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from fleetform.executor.shell import baseline_command, monitor_command

DOCKER = """#!/bin/sh
n=$(cat "$S/n" 2>/dev/null || echo 1)
line=$(sed -n "${n}p" "$S/answers")
[ -n "$line" ] || line=$(tail -n 1 "$S/answers")
echo $((n + 1)) > "$S/n"
case "$3" in
  *Status*) echo "$line" ;;
  *) echo "$line" | cut -d' ' -f2,3 ;;
esac
"""


def _run(tmp_path: Path, answers: list[str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "docker").write_text(DOCKER)
    (tmp_path / "docker").chmod(0o755)
    (tmp_path / "answers").write_text("".join(f"{a}\n" for a in answers))
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "S": str(tmp_path)}
    # The baseline is taken when the container starts (the first answer).
    command = f"{baseline_command('web-1')} && ( {monitor_command('web-1', 2)} )"
    return subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True)


UP = "running 0 2026-01-01T00:00:00Z false healthy"


def test_a_container_that_stays_up_passes(tmp_path: Path) -> None:
    assert _run(tmp_path, [UP]).returncode == 0


def test_a_start_again_without_a_new_restart_count_fails(tmp_path: Path) -> None:
    # What a dockerd restart does: the container runs again, healthy, same RestartCount.
    again = "running 0 2026-01-01T00:00:09Z false healthy"
    run = _run(tmp_path, [UP, UP, again])
    assert run.returncode == 1
    assert "did not stay up for 2s" in run.stderr and "00:00:09Z" in run.stderr


def test_a_restart_by_the_policy_or_an_oom_kill_fails(tmp_path: Path) -> None:
    assert _run(tmp_path, [UP, "running 1 2026-01-01T00:00:00Z false healthy"]).returncode == 1
    assert _run(tmp_path, [UP, "running 0 2026-01-01T00:00:00Z true healthy"]).returncode == 1
    assert _run(tmp_path, [UP, "running 0 2026-01-01T00:00:00Z false unhealthy"]).returncode == 1


def test_a_restart_between_the_start_and_the_window_fails(tmp_path: Path) -> None:
    # Restarted by its policy during the health wait: up and healthy again when
    # the window opens, but not the start the baseline recorded.
    restarted = "running 1 2026-01-01T00:00:03Z false healthy"
    run = _run(tmp_path, [UP, restarted])
    assert run.returncode == 1
    assert "did not stay up for 2s" in run.stderr and "00:00:03Z" in run.stderr


def test_a_window_without_a_recorded_start_fails_saying_so(tmp_path: Path) -> None:
    (tmp_path / "docker").write_text(DOCKER)
    (tmp_path / "docker").chmod(0o755)
    (tmp_path / "answers").write_text(UP + "\n")
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "S": str(tmp_path)}
    run = subprocess.run(
        ["sh", "-c", monitor_command("web-1", 2)], env=env, capture_output=True, text=True
    )
    assert run.returncode == 1
    assert "web-1: its start was not recorded" in run.stderr
