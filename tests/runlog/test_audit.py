"""Audit lines: built with every key, never a value; merged by time; read back."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fleetform.runlog import audit
from fleetform.runlog.audit import action_line_command, entry, iso, line, merge, parse_lines
from fleetform.runlog.run import Run, parse_duration

RUN = Run("abc123abc123", "ops@ctl", "ctl", 7, 0.0)
KEYS = {
    "time", "host", "run_id", "actor", "pid", "stack", "service", "action", "resource",
    "container_ids", "from_revision", "to_revision", "result", "duration", "error", "details",
}  # fmt: skip


def test_an_entry_has_every_key_and_is_one_ascii_line() -> None:
    e = entry(RUN, host="lab-1", action="recreate", at=1.5, stack="web", error="naïve\nfail")
    assert set(e) == KEYS
    text = line(e)
    assert "\n" not in text and text.isascii()
    assert json.loads(text)["error"] == "naïve\nfail"
    assert e["time"] == "1970-01-01T00:00:01.500Z"
    assert e["from_revision"] is None and e["to_revision"] is None


def test_times_sort_as_text() -> None:
    assert iso(9.999) < iso(10.0) < iso(100.0)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("30s", 30), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("250ms", 0.25)],
)
def test_durations_as_people_write_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5 minutes", "-1s", "1x", "m"])
def test_a_bad_duration_is_a_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_lines_of_many_hosts_merge_by_time_and_since_keeps_the_recent_ones() -> None:
    by_host = {
        "lab-2": [{"time": iso(2), "n": "b1"}, {"time": iso(5), "n": "b2"}],
        "lab-1": [{"time": iso(1), "n": "a1"}, {"time": iso(5), "n": "a2"}],
    }
    assert [e["n"] for e in merge(by_host)] == ["a1", "b1", "a2", "b2"]
    assert [e["n"] for e in merge(by_host, since=4)] == ["a2", "b2"]


def test_unreadable_lines_are_counted_not_fatal() -> None:
    records, bad = parse_lines("lab-1", '{"time": "x", "host": "elsewhere"}\nnot json\n[1]\n\n')
    assert records == [{"time": "x", "host": "lab-1"}] and bad == 2


def test_the_new_container_id_is_filled_in_on_the_host(tmp_path: Path) -> None:
    """Run by a real shell with a fake ``docker`` on PATH: a hex id, or null."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text('#!/bin/sh\n[ "$5" = web-1 ] && echo 0123abcd && exit 0\nexit 1\n')
    docker.chmod(0o755)
    record = entry(
        RUN, host="h", action="recreate", at=0, container_ids={"old": "ffee", "new": None}
    )
    script = audit.append_script(
        [action_line_command(record, "web-1"), action_line_command(record, "gone-1")]
    ).replace(audit.AUDIT_DIR, str(tmp_path / "log"))
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    subprocess.run(["sh", "-c", script], check=True, env=env)
    lines = (tmp_path / "log" / "audit.jsonl").read_text().splitlines()
    ids = [json.loads(x)["container_ids"] for x in lines]
    assert ids == [{"old": "ffee", "new": "0123abcd"}, {"old": "ffee", "new": None}]


def test_read_command_prints_nothing_without_a_log(tmp_path: Path) -> None:
    script = audit.read_command().replace(audit.AUDIT_DIR, str(tmp_path))
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout == ""
