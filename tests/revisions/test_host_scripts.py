"""The host scripts of revisions, run for real with sh in a temporary folder.

The scripts name /var/lib/fleetform/revisions; here that path is replaced by
a temporary folder, so the test checks the real shell: modes, the key made
once, atomic writes, numbering, and what history reads back.
"""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

from fleetform.revisions import REVISIONS_DIR
from fleetform.revisions.host import (
    RevisionHostError,
    history_script,
    parse_history,
    parse_prepared,
    prepare_script,
    upload_path,
    write_command,
)


def _sh(script: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", script.replace(REVISIONS_DIR, str(root))],
        capture_output=True,
        text=True,
        check=False,
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _record(root: Path, stack: str, doc: dict) -> subprocess.CompletedProcess[str]:
    prepared = parse_prepared(_sh(prepare_script([stack], [], []), root).stdout)
    number = prepared.numbers[stack] + 1
    tmp = Path(upload_path(stack, number).replace(REVISIONS_DIR, str(root)))
    tmp.write_text(json.dumps({**doc, "stack": stack, "revision": number}) + "\n")
    return _sh(write_command(stack, number), root)


def test_prepare_makes_root_only_folders_and_one_key(tmp_path: Path) -> None:
    root = tmp_path / "revisions"
    first = parse_prepared(_sh(prepare_script(["u-a"], ["u-a-web-1"], ["busybox"]), root).stdout)
    again = parse_prepared(_sh(prepare_script(["u-a", "u-b"], [], []), root).stdout)
    assert len(first.key) == 32 and first.key == again.key  # made once, then kept
    assert first.numbers == {"u-a": 0} and again.numbers == {"u-a": 0, "u-b": 0}
    assert _mode(root) == 0o700 and _mode(root / "u-a") == 0o700
    assert _mode(root / ".digest-key") == 0o600


def test_revisions_are_numbered_in_order_and_current_follows(tmp_path: Path) -> None:
    root = tmp_path / "revisions"
    for _ in range(2):
        result = _record(root, "u-a", {"finished_at": "t"})
        assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (root / "u-a").iterdir()) == ["1.json", "2.json", "current"]
    assert (root / "u-a" / "current").read_text() == "2\n"
    for name in ("1.json", "2.json", "current"):
        assert _mode(root / "u-a" / name) == 0o600


def test_an_existing_revision_is_never_replaced(tmp_path: Path) -> None:
    root = tmp_path / "revisions"
    assert _record(root, "u-a", {"finished_at": "t"}).returncode == 0
    (root / "u-a" / ".1.json.tmp").write_text("{}\n")
    result = _sh(write_command("u-a", 1), root)
    assert result.returncode == 1 and "revision 1 of stack u-a exists already" in result.stderr
    assert not (root / "u-a" / ".1.json.tmp").exists()
    assert json.loads((root / "u-a" / "1.json").read_text())["revision"] == 1


def test_history_reads_every_stack_or_the_named_ones(tmp_path: Path) -> None:
    root = tmp_path / "revisions"
    _record(root, "u-a", {"finished_at": "1"})
    _record(root, "u-a", {"finished_at": "2"})
    _record(root, "u-b", {"finished_at": "3"})
    every = parse_history(_sh(history_script(), root).stdout)
    assert every.current == {"u-a": 2, "u-b": 1}
    assert sorted((d["stack"], d["revision"]) for d in every.documents) == [
        ("u-a", 1), ("u-a", 2), ("u-b", 1),
    ]  # fmt: skip
    only_b = parse_history(_sh(history_script(["u-b", "u-none"]), root).stdout)
    assert [d["stack"] for d in only_b.documents] == ["u-b"]
    nothing = parse_history(_sh(history_script(), tmp_path / "never-made").stdout)
    assert nothing.documents == [] and nothing.current == {}


def test_a_damaged_revision_file_is_reported_not_fatal(tmp_path: Path) -> None:
    root = tmp_path / "revisions"
    _record(root, "u-a", {"finished_at": "1"})
    (root / "u-a" / "2.json").write_text("{not json\n")
    read = parse_history(_sh(history_script(), root).stdout)
    assert [d["revision"] for d in read.documents] == [1]
    assert len(read.problems) == 1 and "not a revision" in read.problems[0]


def test_an_unreadable_folder_or_a_missing_key_is_an_error_that_says_so() -> None:
    with pytest.raises(RevisionHostError, match="cannot set up"):
        parse_prepared("")
    with pytest.raises(RevisionHostError, match="no revisions section"):
        parse_history("garbage")
    from fleetform.observe.sections import MARK, RC

    with pytest.raises(RevisionHostError, match="cannot read"):
        parse_history(f"{MARK}revisions\n{RC}3\n")
