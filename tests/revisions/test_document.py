"""The revision document: a stack's desired state, and no secret value anywhere in it."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from fleetform.plan import plan_host
from fleetform.plan.desired import HostDesired, desired_for_host
from fleetform.plan.observed import Observed
from fleetform.revisions.document import (
    DIGEST_PREFIX,
    Provenance,
    plan_hash,
    revision_document,
    serialize,
    stacks_changed,
)
from fleetform.stackfile import load_stacks

PASSWORD = f"hunter2-{secrets.token_hex(6)}"  # unique: a hit is a leak from this test
URL = f"postgres://app:{PASSWORD}@db/app"
KEY = bytes(range(32))
PROVENANCE = Provenance(
    actor="ops@control",
    fleetform_version="0.1.0",
    started_at="2026-01-01T00:00:00.000Z",
    git={"u-rev": {"commit": "a" * 40, "dirty": False, "path": "u-rev.yml"}},
)


def _desired(tmp_path: Path, log_level: str = "info") -> HostDesired:
    (tmp_path / "app.env").write_text(f"DATABASE_URL={URL}\n")
    (tmp_path / "u-rev.yml").write_text(
        f"""\
version: 1
name: u-rev
services:
  app:
    image: registry.lab:5000/fleetform/busybox:1
    command: [sleep, "1000"]
    env_file: app.env
    environment:
      LOG_LEVEL: {log_level}
      API_TOKEN: {PASSWORD}
  other:
    image: registry.lab:5000/fleetform/demo:1
"""
    )
    (tmp_path / "u-two.yml").write_text(
        "version: 1\nname: u-two\nservices:\n"
        "  job:\n    image: registry.lab:5000/fleetform/busybox:1\n"
    )
    stacks = load_stacks([str(tmp_path / "u-rev.yml"), str(tmp_path / "u-two.yml")])
    return desired_for_host(list(stacks), "lab-1", frozenset({"lab-1"}))


def _document(desired: HostDesired, number: int = 1) -> dict:
    return revision_document(
        stack="u-rev",
        number=number,
        host_plan=plan_host(desired, Observed()),
        desired=desired,
        key=KEY,
        image_ids={"u-rev-app-1": "sha256:" + "1" * 64, "u-two-job-1": "sha256:" + "2" * 64},
        provenance=PROVENANCE,
        finished_at="2026-01-01T00:00:05.000Z",
    )


def test_no_secret_value_is_anywhere_in_the_serialized_revision(tmp_path: Path) -> None:
    text = serialize(_document(_desired(tmp_path)))
    assert PASSWORD not in text
    assert URL not in text
    import hashlib

    for plain in (PASSWORD, URL):  # not even its plain, guessable digest
        assert hashlib.sha256(plain.encode()).hexdigest() not in text
    doc = json.loads(text)
    (app,) = [c for c in doc["desired"]["containers"] if c["service"] == "app"]
    env = dict(app["spec"]["env"])
    assert env["LOG_LEVEL"] == "info"  # a plain value is kept
    assert env["DATABASE_URL"].startswith(DIGEST_PREFIX)  # marked secret by env_file
    assert env["API_TOKEN"].startswith(DIGEST_PREFIX)  # named like a secret
    assert app["secret_keys"] == ["API_TOKEN", "DATABASE_URL"]


def test_the_digest_tells_a_changed_secret_and_depends_on_the_hosts_key(tmp_path: Path) -> None:
    desired = _desired(tmp_path)
    first = _document(desired)["desired"]["containers"][0]["spec"]["env"]
    again = _document(desired)["desired"]["containers"][0]["spec"]["env"]
    assert first == again
    other_key = revision_document(
        stack="u-rev",
        number=1,
        host_plan=plan_host(desired, Observed()),
        desired=desired,
        key=b"\xff" * 32,
        image_ids={},
        provenance=PROVENANCE,
        finished_at="x",
    )["desired"]["containers"][0]["spec"]["env"]
    assert dict(first)["API_TOKEN"] != dict(other_key)["API_TOKEN"]


def test_the_document_holds_only_its_stack_with_provenance_and_image_ids(tmp_path: Path) -> None:
    doc = _document(_desired(tmp_path), number=7)
    assert doc["revision"] == 7 and doc["stack"] == "u-rev" and doc["host"] == "lab-1"
    assert [c["name"] for c in doc["desired"]["containers"]] == ["u-rev-app-1", "u-rev-other-1"]
    assert doc["image_ids"]["containers"] == {"u-rev-app-1": "sha256:" + "1" * 64}
    assert doc["actor"] == "ops@control" and doc["fleetform_version"] == "0.1.0"
    assert doc["git"] == {"commit": "a" * 40, "dirty": False, "path": "u-rev.yml"}
    assert doc["result"] == "applied"
    assert doc["started_at"] < doc["finished_at"]
    assert "+ create container u-rev-app-1" in doc["actions"]
    assert not any("u-two" in a for a in doc["actions"])
    refs = {i["ref"] for i in doc["desired"]["images"]}
    assert refs == {"registry.lab:5000/fleetform/busybox:1", "registry.lab:5000/fleetform/demo:1"}


def test_the_plan_hash_is_stable_and_changes_with_the_plan(tmp_path: Path) -> None:
    a = plan_host(_desired(tmp_path), Observed())
    b = plan_host(_desired(tmp_path), Observed())
    assert plan_hash(a) == plan_hash(b)
    assert plan_hash(a).startswith("sha256:") and len(plan_hash(a)) == 7 + 64
    from dataclasses import replace

    # the plan JSON names actions and reasons (a create carries no spec there)
    assert plan_hash(replace(a, actions=a.actions[:-1])) != plan_hash(a)
    assert plan_hash(replace(a, host="lab-2")) != plan_hash(a)


def test_only_stacks_with_actions_get_a_revision(tmp_path: Path) -> None:
    desired = _desired(tmp_path)
    empty = plan_host(desired, Observed())
    assert stacks_changed(empty, desired) == ("u-rev", "u-two")
    from dataclasses import replace

    only_rev = replace(empty, actions=tuple(a for a in empty.actions if "u-two" not in a.resource))
    # the busybox pull belongs to both stacks, so u-two still counts
    pulls = [a.resource for a in only_rev.actions if a.kind == "pull"]
    assert stacks_changed(only_rev, desired) == (
        ("u-rev", "u-two") if "registry.lab:5000/fleetform/busybox:1" in pulls else ("u-rev",)
    )
    assert stacks_changed(replace(empty, actions=()), desired) == ()
    assert stacks_changed(replace(empty, actions=(), engine=("restart dockerd",)), desired) == ()


def test_serialized_revisions_are_one_canonical_json_line(tmp_path: Path) -> None:
    text = serialize(_document(_desired(tmp_path)))
    assert text.endswith("\n") and text.count("\n") == 1
    assert serialize(json.loads(text)) == text


def test_a_proxied_containers_record_says_how_rollback_reaches_it(tmp_path: Path) -> None:
    (tmp_path / "u-px.yml").write_text(
        "version: 1\nname: u-px\nservices:\n"
        "  web:\n    image: registry.lab:5000/fleetform/demo:1\n"
        "    proxy: {listen: 8080, drain: 3s}\n"
        "  job:\n    image: registry.lab:5000/fleetform/busybox:1\n"
    )
    desired = desired_for_host(
        list(load_stacks([str(tmp_path / "u-px.yml")])), "lab-1", frozenset({"lab-1"})
    )
    doc = revision_document(
        stack="u-px",
        number=1,
        host_plan=plan_host(desired, Observed()),
        desired=desired,
        key=KEY,
        image_ids={},
        provenance=PROVENANCE,
        finished_at="x",
    )
    records = {c["name"]: c for c in doc["desired"]["containers"]}
    assert records["u-px-web-1"]["proxy"] == {
        "backend": "u-px-web",
        "network": "u-px_default",
        "target_port": 8080,
        "drain": 3_000_000_000,
    }
    assert records["u-px-web-1"]["rollback_config"]["order"] == "start-first"
    assert "proxy" not in records["u-px-job-1"]  # unproxied records read as before
