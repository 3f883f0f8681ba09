"""``fleetform status``'s document, from what the hosts printed and the drift plan."""

from __future__ import annotations

from fleetform.commands.status import _cells, _document
from fleetform.revisions.host import HostRevisions

REV = {
    "stack": "shop",
    "revision": 2,
    "finished_at": "2026-01-01T00:00:00.000Z",
    "actor": "ci@runner",
    "git": {"commit": "c" * 40, "dirty": False, "path": "stacks/shop.yml", "remote": "file:///r"},
}
OLD = {**REV, "revision": 1, "git": {"commit": "b" * 40}}


def test_each_host_shows_the_current_revision_its_commit_verify_and_drift() -> None:
    revisions = HostRevisions(current={"shop": 2}, documents=[OLD, REV])
    checked = {"shop": {"ok": False, "commit": "b" * 40, "failed": ["shop-web-1 running"]}}
    doc = _document(
        {"h1": (revisions, checked, None), "h2": (None, {}, "unreachable")},
        {"h1": {"shop": ["start shop-web-1: not running"], "idle": []}},
    )
    assert doc["ok"] is False
    h1, h2 = doc["hosts"]
    (row,) = h1["stacks"]  # `idle` has nothing recorded and nothing to change: not shown
    assert (row["revision"], row["commit"], row["repo"]) == (2, "c" * 40, "file:///r")
    assert (row["applied_by"], row["drift"]) == ("ci@runner", True)
    assert _cells(row)[-2:] == ["failed (bbbbbbbbbbbb)", "yes"]
    assert (h2["ok"], h2["error"], h2["stacks"]) == (False, "unreachable", [])


def test_without_stack_files_drift_is_unknown() -> None:
    revisions = HostRevisions(current={"shop": 2}, documents=[REV])
    (host,) = _document({"h1": (revisions, {}, None)}, None)["hosts"]
    assert host["stacks"][0]["drift"] is None
    assert _cells(host["stacks"][0])[-2:] == ["-", "unknown"]
