"""``fleetform history``'s data: each host's revisions, newest first.

Pure: from what :func:`fleetform.revisions.host.parse_history` read on each
host to rows for the table and to the JSON document (docs/revisions.md).

Example::

    >>> doc = {"stack": "demo", "revision": 2, "finished_at": "2026-01-02T00:00:00.000Z"}
    >>> old = {"stack": "demo", "revision": 1, "finished_at": "2026-01-01T00:00:00.000Z"}
    >>> [r["revision"] for r in newest_first([old, doc], {"demo": 2})]
    [2, 1]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fleetform.revisions.host import HostRevisions

#: format_version of ``history --json``
HISTORY_FORMAT_VERSION = 1

#: the fields of a revision that history shows (the desired state stays on the host)
_FIELDS = (
    "stack",
    "revision",
    "result",
    "started_at",
    "finished_at",
    "actor",
    "fleetform_version",
    "git",
    "plan_hash",
    "image_ids",
    "actions",
)


def newest_first(
    documents: Iterable[Mapping[str, Any]], current: Mapping[str, int | None]
) -> list[dict[str, Any]]:
    """History entries: the shown fields plus ``current``, newest first.

    Newest is the latest finish time; a tie goes to the higher revision number.
    """
    rows = [{k: doc.get(k) for k in _FIELDS} for doc in documents]
    for row in rows:
        row["current"] = current.get(str(row["stack"])) == row["revision"]
    rows.sort(key=lambda r: (str(r["stack"] or ""), -int(r["revision"] or 0)))
    rows.sort(key=lambda r: str(r["finished_at"] or ""), reverse=True)
    return rows


def host_entry(
    host: str, read: HostRevisions | None, error: str | None, stacks: Iterable[str] = ()
) -> dict[str, Any]:
    """One host's part of ``history --json``; ``stacks`` (if any) narrows it."""
    wanted = set(stacks)
    docs = [] if read is None else read.documents
    if wanted:
        docs = [d for d in docs if d.get("stack") in wanted]
    return {
        "host": host,
        "ok": error is None,
        "error": error,
        "problems": [] if read is None else list(read.problems),
        "revisions": newest_first(docs, {} if read is None else read.current),
    }


def history_json(hosts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    entries = sorted(hosts, key=lambda h: h["host"])
    return {
        "format_version": HISTORY_FORMAT_VERSION,
        "ok": all(h["ok"] for h in entries),
        "hosts": entries,
    }


def short_id(image_id: str) -> str:
    """``sha256:0123456789abcdef...`` -> ``0123456789ab``."""
    return image_id.split(":", 1)[-1][:12]


def commit_text(git: Mapping[str, Any] | None) -> str:
    """The commit as shown: 12 characters, ``+dirty`` when the work tree had changes."""
    if not git or not git.get("commit"):
        return "-"
    return str(git["commit"])[:12] + ("+dirty" if git.get("dirty") else "")


def images_text(image_ids: Mapping[str, Any] | None) -> str:
    """Each container's image id, short: ``demo-web-1=0123456789ab``."""
    containers = (image_ids or {}).get("containers") or {}
    return " ".join(f"{name}={short_id(str(i))}" for name, i in sorted(containers.items())) or "-"


def row_cells(host: str, entry: Mapping[str, Any]) -> list[str]:
    """One table row: host, stack, revision (``*`` marks current), time, actor, commit..."""
    mark = " *" if entry.get("current") else ""
    return [
        host,
        str(entry.get("stack")),
        f"{entry.get('revision')}{mark}",
        str(entry.get("finished_at") or "-"),
        str(entry.get("actor") or "-"),
        commit_text(entry.get("git")),
        str(entry.get("result") or "-"),
        images_text(entry.get("image_ids")),
    ]
