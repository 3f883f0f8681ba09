"""The deploy lock: holder record, staleness, and its scripts run by a real shell.

The scripts address /var/lib/fleetform/locks and /var/log/fleetform; here
those paths are rewritten to a temporary directory, so the same text the
hosts run is run against a scratch folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from fleetform.runlog import audit, lock
from fleetform.runlog.lock import (
    HeldLock,
    Holder,
    LockSettings,
    LockSettingsError,
    acquire_script,
    heartbeat_script,
    parse_output,
    release_script,
    state_command,
)
from fleetform.runlog.run import Run

RUN_A = Run("aaaa11112222", "ops@ctl-1", "ctl-1", 101, 1_700_000_000.0)
RUN_B = Run("bbbb33334444", "ci@ctl-2", "ctl-2", 202, 1_700_000_100.0)
SETTINGS = LockSettings(heartbeat=1, stale_after=3)


def test_holder_record_round_trips_and_names_the_run() -> None:
    holder = Holder.of(RUN_A, SETTINGS, "apply")
    text = holder.to_json()
    assert "\n" not in text and '"run_id":"aaaa11112222"' in text  # the scripts grep for it
    assert Holder.from_json(text) == holder
    assert json.loads(text)["started"] == "2023-11-14T22:13:20.000Z"
    assert Holder.from_json("") is None
    assert Holder.from_json('{"run_id": "x"}') is None  # not a record fleetform wrote


def test_a_lock_is_stale_only_once_its_heartbeat_is_older_than_stale_after() -> None:
    assert not HeldLock("web", 3).is_stale(3)
    assert HeldLock("web", 4).is_stale(3)
    assert not HeldLock("web", 0).is_stale(60)


def test_a_held_lock_is_described_with_its_holder() -> None:
    held = HeldLock("web", 2, Holder.of(RUN_B, SETTINGS, "apply"))
    text = held.describe("lab-1")
    assert text == (
        "stack web on lab-1 is locked by run bbbb33334444 of ci@ctl-2 "
        "(apply, pid 202, since 2023-11-14T22:15:00.000Z) (heartbeat 2 s ago)"
    )
    doc = held.to_json("lab-1", stale_after=1)
    assert doc["stale"] is True and doc["holder"]["actor"] == "ci@ctl-2"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, (10.0, 60.0)),
        ({"FLEETFORM_LOCK_HEARTBEAT": "1s", "FLEETFORM_LOCK_STALE_AFTER": "3s"}, (1.0, 3.0)),
        ({"FLEETFORM_LOCK_STALE_AFTER": "2m"}, (10.0, 120.0)),
    ],
)
def test_lock_settings_come_from_the_environment(
    env: dict[str, str], expected: tuple[float, float]
) -> None:
    s = LockSettings.from_env(env)
    assert (s.heartbeat, s.stale_after) == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FLEETFORM_LOCK_HEARTBEAT": "soon"}, "is not a duration"),
        ({"FLEETFORM_LOCK_HEARTBEAT": "0"}, "more than 0"),
        ({"FLEETFORM_LOCK_HEARTBEAT": "5s", "FLEETFORM_LOCK_STALE_AFTER": "6s"}, "twice"),
    ],
)
def test_bad_lock_settings_are_refused_with_a_message(env: dict[str, str], message: str) -> None:
    with pytest.raises(LockSettingsError, match=message):
        LockSettings.from_env(env)


def test_a_stack_name_that_is_not_a_plain_name_never_becomes_a_path() -> None:
    with pytest.raises(ValueError):
        lock.lock_path("../etc")


def test_output_lines_are_parsed_and_others_ignored() -> None:
    record = Holder.of(RUN_A, SETTINGS, "apply").to_json()
    out = parse_output(f"noise\nacquired web\nbroken db\nheld api 7 {record}\nheld x 2 \nlost q\n")
    assert out.acquired == ("web",) and out.broken == ("db",) and out.lost == ("q",)
    assert out.held[0] == HeldLock("api", 7, Holder.from_json(record))
    assert out.held[1] == HeldLock("x", 2, None) and out.held[1].run_id == lock.UNKNOWN


# --- the scripts, run by /bin/sh against a scratch folder ---------------------


class Host:
    def __init__(self, root: Path) -> None:
        self.locks = root / "locks"
        self.log = root / "log"

    def sh(self, script: str) -> subprocess.CompletedProcess[str]:
        script = script.replace(lock.LOCK_DIR, str(self.locks)).replace(
            audit.AUDIT_DIR, str(self.log)
        )
        return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)

    def audit_lines(self) -> list[dict[str, object]]:
        path = self.log / "audit.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    def age(self, stack: str, seconds: int) -> None:
        beat = self.locks / stack / "heartbeat"
        past = time.time() - seconds
        os.utime(beat, (past, past))


@pytest.fixture
def host(tmp_path: Path) -> Host:
    return Host(tmp_path)


def _line(run: Run, action: str, stack: str) -> str:
    return audit.line(audit.entry(run, host="h", action=action, stack=stack, at=time.time()))


def _acquire(host: Host, run: Run, stacks: list[str], breaks=None):  # type: ignore[no-untyped-def]
    lines = {s: _line(run, "lock", s) for s in stacks}
    result = host.sh(acquire_script(Holder.of(run, SETTINGS, "apply"), stacks, lines, breaks))
    assert result.returncode == 0, result.stderr
    return parse_output(result.stdout)


def test_a_second_run_finds_the_lock_held_and_takes_none_of_the_hosts_stacks(host: Host) -> None:
    assert _acquire(host, RUN_A, ["web"]).acquired == ("web",)
    out = _acquire(host, RUN_B, ["db", "web"])  # db is free, web is not: all or none
    assert out.acquired == ()
    (held,) = out.held
    assert held.stack == "web" and held.run_id == RUN_A.run_id and held.age <= 1
    assert not (host.locks / "db").exists()
    assert [e["action"] for e in host.audit_lines()] == ["lock"]


def test_a_stale_lock_is_broken_only_while_the_same_run_holds_it(host: Host) -> None:
    _acquire(host, RUN_A, ["web"])
    host.age("web", 30)
    (held,) = _acquire(host, RUN_B, ["web"]).held
    assert held.is_stale(SETTINGS.stale_after)
    # A break aimed at another run (the lock changed hands meanwhile) breaks nothing.
    other = {"web": ("cccc", _line(RUN_B, "lock-broken", "web"))}
    assert _acquire(host, RUN_B, ["web"], other).acquired == ()
    breaks = {"web": (held.run_id, _line(RUN_B, "lock-broken", "web"))}
    out = _acquire(host, RUN_B, ["web"], breaks)
    assert out.broken == ("web",) and out.acquired == ("web",)
    record = (host.locks / "web" / "holder.json").read_text()
    assert Holder.from_json(record) == Holder.of(RUN_B, SETTINGS, "apply")
    actions = [(e["action"], e["run_id"]) for e in host.audit_lines()]
    assert actions == [
        ("lock", RUN_A.run_id),
        ("lock-broken", RUN_B.run_id),
        ("lock", RUN_B.run_id),
    ]


def test_a_lock_without_a_readable_record_can_be_broken_as_unknown(host: Host) -> None:
    (host.locks / "web").mkdir(parents=True)  # a run died between mkdir and its record
    (held,) = _acquire(host, RUN_B, ["web"]).held
    assert held.holder is None
    breaks = {"web": (lock.UNKNOWN, _line(RUN_B, "lock-broken", "web"))}
    assert _acquire(host, RUN_B, ["web"], breaks).acquired == ("web",)


def test_heartbeat_refreshes_own_locks_and_reports_lost_ones(host: Host) -> None:
    _acquire(host, RUN_A, ["web"])
    host.age("web", 30)
    assert parse_output(host.sh(heartbeat_script(RUN_A.run_id, ["web"])).stdout).lost == ()
    (held,) = parse_output(host.sh(state_command(["web"])).stdout).held
    assert held.age <= 1
    assert parse_output(host.sh(heartbeat_script(RUN_B.run_id, ["web"])).stdout).lost == ("web",)


def test_release_removes_only_this_runs_locks_and_logs_unlock(host: Host) -> None:
    _acquire(host, RUN_A, ["web"])
    _acquire(host, RUN_B, ["db"])
    unlock = {s: _line(RUN_A, "unlock", s) for s in ["db", "web"]}
    out = parse_output(host.sh(release_script(RUN_A.run_id, unlock)).stdout)
    assert out.released == ("web",)
    assert not (host.locks / "web").exists() and (host.locks / "db").exists()
    assert [e["action"] for e in host.audit_lines()][-1] == "unlock"


def test_the_state_section_lists_held_locks_only(host: Host) -> None:
    assert parse_output(host.sh(state_command(["web"])).stdout).held == ()
    _acquire(host, RUN_A, ["web"])
    (held,) = parse_output(host.sh(state_command(["db", "web"])).stdout).held
    assert held.stack == "web" and held.holder is not None
