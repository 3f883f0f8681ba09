"""Recording revisions in ``fleetform apply``, on pyinfra's @fake hosts.

What each host is sent is read back: the revision file uploaded (its
content), and the command that moves it into place.  A host that failed, or
whose plan changes nothing, records nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pyinfra.connectors.fake import FakeConnector
from test_apply_fake import (  # tests/cli is on sys.path (pytest's prepend import mode)
    EMPTY_DOC,
    REVISIONS_PART,
    apply,
    fake_host,
    section_output,
)

PASSWORD = "s3cret-value-for-the-fake-test"
STACK = f"""\
version: 1
name: fftest
services:
  app:
    image: registry.lab:5000/fleetform/busybox:1
    command: [sleep, "1000"]
    environment:
      DB_PASSWORD: {PASSWORD}
      LOG_LEVEL: info
"""
IMAGE_ID = "sha256:" + "c" * 64


@pytest.fixture
def uploads(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[tuple[str, str]]]:
    """host -> [(remote path, text)] of every file uploaded."""
    seen: dict[str, list[tuple[str, str]]] = {}

    def put_file(self: Any, filename_or_io: Any, remote_filename: str, *a: Any, **k: Any) -> bool:
        data = filename_or_io.read() if hasattr(filename_or_io, "read") else b""
        text = data.decode() if isinstance(data, bytes) else str(data)
        seen.setdefault(self.host.name.removeprefix("@fake/"), []).append((remote_filename, text))
        return True

    monkeypatch.setattr(FakeConnector, "put_file", put_file)
    return seen


def _host(numbers: str = "fftest current 1.json 2.json", fail_create: bool = False) -> dict:
    host = fake_host("debian-systemd-running", EMPTY_DOC, EMPTY_DOC)
    prepared = (
        section_output("key", "ab" * 32)
        + section_output("numbers", numbers)
        + section_output("containers", f"/fftest-app-1 {IMAGE_ID}")
        + section_output("images", f"registry.lab:5000/fleetform/busybox:1 {IMAGE_ID}")
    )
    responses = dict(host["fake_responses"], **{REVISIONS_PART: prepared})
    if fail_create:
        responses = {"docker create": {"success": False, "stderr": "no space left"}, **responses}
    return {**host, "fake_responses": responses}


def test_a_host_that_applied_gets_the_next_revision_without_any_secret_value(
    tmp_path: Path, sessions: list[Any], capsys: Any, uploads: dict
) -> None:
    code, result, commands = apply(tmp_path, {"one": _host()}, sessions, capsys, STACK)
    assert code == 0, result
    ((path, text),) = [u for u in uploads["one"] if "revisions" in u[0]]
    assert path == "/var/lib/fleetform/revisions/fftest/.3.json.tmp"  # after 1 and 2
    assert PASSWORD not in text
    doc = json.loads(text)
    assert doc["revision"] == 3 and doc["stack"] == "fftest" and doc["host"] == "@fake/one"
    assert doc["image_ids"]["containers"] == {"fftest-app-1": IMAGE_ID}
    assert dict(doc["desired"]["containers"][0]["spec"]["env"])["LOG_LEVEL"] == "info"
    writes = [c for c in commands["one"] if "mv .3.json.tmp 3.json" in c]
    assert len(writes) == 1
    # recorded after the containers were applied
    create = next(i for i, c in enumerate(commands["one"]) if "docker create" in c)
    assert commands["one"].index(writes[0]) > create


def test_a_failed_host_records_nothing_and_the_others_still_do(
    tmp_path: Path, sessions: list[Any], capsys: Any, uploads: dict
) -> None:
    hosts = {"bad": _host(fail_create=True), "good": _host(numbers="fftest")}
    code, result, commands = apply(tmp_path, hosts, sessions, capsys, STACK)
    assert code == 1 and result["bad"]["ok"] is False and result["good"]["ok"] is True
    assert not any(REVISIONS_PART in c for c in commands["bad"])
    assert not any("revisions" in p for p, _ in uploads.get("bad", []))
    assert [p for p, _ in uploads["good"] if "revisions" in p] == [
        "/var/lib/fleetform/revisions/fftest/.1.json.tmp"
    ]


def test_a_host_whose_plan_changes_nothing_records_nothing(
    tmp_path: Path, sessions: list[Any], capsys: Any, uploads: dict
) -> None:
    elsewhere = STACK.replace("services:", "hosts: [nowhere]\nservices:", 1)
    code, result, commands = apply(tmp_path, {"one": _host()}, sessions, capsys, elsewhere)
    assert code == 0, result
    assert not any(REVISIONS_PART in c for c in commands["one"])
    assert uploads.get("one", []) == []


def test_a_host_where_the_revision_cannot_be_set_up_fails_with_the_reason(
    tmp_path: Path, sessions: list[Any], capsys: Any, uploads: dict
) -> None:
    host = _host()
    responses = dict(host["fake_responses"])
    responses[REVISIONS_PART] = section_output("key", "install: Permission denied", rc=1)
    code, result, commands = apply(
        tmp_path, {"one": {**host, "fake_responses": responses}}, sessions, capsys, STACK
    )
    assert code == 1 and result["one"]["ok"] is False
    (failing,) = [c for c in commands["one"] if "no revision was recorded" in c]
    assert "Permission denied" in failing and failing.endswith("exit 1")
