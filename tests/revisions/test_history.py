"""``fleetform history``: entries newest first, rendering, JSON, and bad input."""

from __future__ import annotations

import json
from typing import Any

from clirun import run_cli

from fleetform.commands.common import Output
from fleetform.commands.history import render
from fleetform.revisions.history import (
    commit_text,
    history_json,
    host_entry,
    images_text,
    newest_first,
    row_cells,
)
from fleetform.revisions.host import HostRevisions


def _rev(stack: str, n: int, finished: str, **more: Any) -> dict[str, Any]:
    return {
        "stack": stack,
        "revision": n,
        "finished_at": finished,
        "result": "applied",
        "actor": "ops@ctl",
        "desired": {"containers": ["big"]},
        **more,
    }


def test_entries_are_newest_first_with_current_marked_and_no_desired_state() -> None:
    docs = [
        _rev("u-a", 1, "2026-01-01T00:00:00.000Z"),
        _rev("u-b", 1, "2026-01-03T00:00:00.000Z"),
        _rev("u-a", 2, "2026-01-02T00:00:00.000Z"),
    ]
    rows = newest_first(docs, {"u-a": 2, "u-b": 1})
    assert [(r["stack"], r["revision"]) for r in rows] == [("u-b", 1), ("u-a", 2), ("u-a", 1)]
    assert [r["current"] for r in rows] == [True, True, False]
    assert all("desired" not in r for r in rows)


def test_a_tie_in_time_goes_to_the_higher_revision() -> None:
    same = "2026-01-01T00:00:00.000Z"
    rows = newest_first([_rev("u-a", 1, same), _rev("u-a", 2, same)], {})
    assert [r["revision"] for r in rows] == [2, 1]


def test_named_stacks_narrow_a_host_and_an_unreadable_host_is_not_ok() -> None:
    read = HostRevisions(
        current={"u-a": 1, "u-b": 1},
        documents=[_rev("u-a", 1, "1"), _rev("u-b", 1, "2")],
    )
    doc = history_json(
        [
            host_entry("lab-2", None, "cannot connect: refused"),
            host_entry("lab-1", read, None, ["u-a"]),
        ]
    )
    assert doc["format_version"] == 1 and doc["ok"] is False
    assert [h["host"] for h in doc["hosts"]] == ["lab-1", "lab-2"]
    assert [r["stack"] for r in doc["hosts"][0]["revisions"]] == ["u-a"]
    assert doc["hosts"][1]["revisions"] == [] and doc["hosts"][1]["error"].startswith("cannot")


def test_cells_show_short_commit_dirty_mark_and_short_image_ids() -> None:
    assert commit_text({"commit": "0123456789abcdef", "dirty": True}) == "0123456789ab+dirty"
    assert commit_text(None) == "-"
    ids = {"containers": {"u-a-web-1": "sha256:" + "f" * 64}, "images": {}}
    assert images_text(ids) == "u-a-web-1=ffffffffffff"
    entry = {**_rev("u-a", 3, "T"), "current": True, "image_ids": ids, "git": None}
    assert row_cells("lab-1", entry) == [
        "lab-1", "u-a", "3 *", "T", "ops@ctl", "-", "applied", "u-a-web-1=ffffffffffff",
    ]  # fmt: skip


def test_the_table_lists_every_entry_and_says_which_hosts_failed(capsys: Any) -> None:
    read = HostRevisions(current={"u-a": 2}, documents=[_rev("u-a", 1, "1"), _rev("u-a", 2, "2")])
    doc = history_json(
        [
            host_entry("lab-1", read, None),
            host_entry("lab-2", HostRevisions(), None),
            host_entry("lab-3", None, "cannot connect: timed out"),
        ]
    )
    render(doc, Output())
    out = capsys.readouterr().out
    assert "2 *" in out and "ops@ctl" in out
    assert "lab-2\n  no revisions recorded" in out
    assert "lab-3\n  error: cannot connect: timed out" in out


def test_bad_input_exits_1_with_a_message_and_no_traceback(tmp_path: Any) -> None:
    inventory = tmp_path / "inv.py"
    inventory.write_text('hosts = ["@fake/one"]\n')
    bad_name = run_cli("history", "-i", str(inventory), "Not A Stack!")
    assert bad_name.returncode == 1 and "neither a stack name" in bad_name.stderr
    bad_file = tmp_path / "broken.yml"
    bad_file.write_text("version: 1\nname: [\n")
    broken = run_cli("history", "-i", str(inventory), str(bad_file))
    assert broken.returncode == 1 and "problem(s) in the stack files" in broken.stderr
    missing = run_cli("history", "-i", str(tmp_path / "nope.py"))
    assert missing.returncode == 1 and "error:" in missing.stderr
    for result in (bad_name, broken, missing):
        assert "Traceback" not in (result.stdout + result.stderr)


def test_history_of_a_host_without_revisions_is_empty_and_exits_0(tmp_path: Any) -> None:
    from fleetform.observe.sections import MARK, RC

    empty = f"\n{MARK}revisions\n\n{RC}0\n"
    inventory = tmp_path / "inv.py"
    inventory.write_text(
        f"hosts = [('@fake/one', {{'fake_delay': 0, 'fake_responses': {{'': {empty!r}}}}})]\n"
    )
    result = run_cli("history", "-i", str(inventory), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    assert [(h["host"], h["revisions"], h["error"]) for h in doc["hosts"]] == [
        ("@fake/one", [], None)
    ]
    text = run_cli("history", "-i", str(inventory))
    assert text.returncode == 0 and "@fake/one\n  no revisions recorded" in text.stdout


def test_a_host_that_answers_nonsense_is_an_error_and_exit_1(tmp_path: Any) -> None:
    inventory = tmp_path / "inv.py"
    inventory.write_text("hosts = [('@fake/one', {'fake_delay': 0})]\n")
    result = run_cli("history", "-i", str(inventory), "--json")
    assert result.returncode == 1
    (host,) = json.loads(result.stdout)["hosts"]
    assert host["ok"] is False and "no revisions section" in host["error"]
    assert "Traceback" not in (result.stdout + result.stderr)
