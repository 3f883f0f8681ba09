"""``fleetform rollback``'s pure plan: targets, swaps, refusals (golden text), batches."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from fleetform.model import KEPT_SUFFIX
from fleetform.revisions.host import HostRevisions
from fleetform.revisions.rollback import (
    HostContainer,
    HostReport,
    ProxySwitch,
    plan_rollback,
    rollback_document,
)

GOLDEN = Path(__file__).parent / "golden"


def _golden(text: str, name: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("FLEETFORM_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def _doc(n: int, hashes: dict[str, str], **more: Any) -> dict[str, Any]:
    containers = [
        {
            "name": name,
            "service": name.split("-")[1],
            "replica": int(name.rsplit("-", 1)[1]),
            "state": "running",
            "run_once": False,
            "config_hash": h,
            "rollback_config": {"parallelism": 2, "monitor": 1_000_000_000},
            "spec": {"image": f"registry.lab:5000/fleetform/demo:{h[1:]}"},
        }
        for name, h in hashes.items()
    ]
    return {
        "stack": "demo",
        "revision": n,
        "git": {"commit": f"{n}ab0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b", "dirty": False},
        "desired": {"containers": containers},
        **more,
    }


def _report(
    docs: list[dict[str, Any]], current: int, running: dict[str, str], kept: dict[str, str]
) -> HostReport:
    containers = [HostContainer(n, f"id-{n}", True, "demo", h) for n, h in running.items()]
    containers += [
        HostContainer(n + KEPT_SUFFIX, f"id-{n}-old", False, "demo", h) for n, h in kept.items()
    ]
    return HostReport(HostRevisions({"demo": current}, docs), tuple(containers))


def _fleet() -> dict[str, HostReport]:
    """Three hosts after a rollout from revision 1 (h1) to 2 (h2) of demo-web-1."""
    docs = [_doc(1, {"demo-web-1": "h1"}), _doc(2, {"demo-web-1": "h2"})]
    return {
        h: _report(docs, 2, {"demo-web-1": "h2"}, {"demo-web-1": "h1"}) for h in ("a", "b", "c")
    }


def test_the_default_target_is_the_previous_revision_and_every_host_swaps() -> None:
    plan = plan_rollback(_fleet(), ["demo"], None)
    assert not plan.errors
    _golden("\n".join(plan.lines()) + "\n", "rollback_default")
    # rollback_config of the current revision: 2 containers per batch, replica first
    assert [[str(s) for s in batch] for _, batch in plan.batches()] == [
        ["a demo-web-1", "b demo-web-1"],
        ["c demo-web-1"],
    ]
    assert plan.batches()[0][0].monitor == 1_000_000_000


def test_a_target_whose_containers_are_not_kept_is_refused_naming_its_commit() -> None:
    docs = [
        _doc(1, {"demo-web-1": "h1"}),
        _doc(2, {"demo-web-1": "h2"}),
        _doc(3, {"demo-web-1": "h3"}),
    ]
    reports = {"a": _report(docs, 3, {"demo-web-1": "h3"}, {"demo-web-1": "h2"})}
    plan = plan_rollback(reports, ["demo"], 1)
    assert plan.stacks == ()
    _golden("\n".join(plan.lines()) + "\n", "rollback_not_kept")


def test_added_services_unknown_revisions_and_unknown_stacks_are_refused() -> None:
    docs = [_doc(1, {"demo-web-1": "h1"}), _doc(2, {"demo-web-1": "h2", "demo-api-1": "a2"})]
    added = _report(docs, 2, {"demo-web-1": "h2", "demo-api-1": "a2"}, {"demo-web-1": "h1"})
    lines = "\n".join(plan_rollback({"a": added}, ["demo"], None).lines())
    lines += "\n" + "\n".join(plan_rollback(_fleet(), ["demo"], 7).lines())
    lines += "\n" + "\n".join(plan_rollback(_fleet(), ["other"], None).lines())
    _golden(lines + "\n", "rollback_refused")


def test_a_second_rollback_does_not_go_forth_again() -> None:
    docs = [
        _doc(1, {"demo-web-1": "h1"}),
        _doc(2, {"demo-web-1": "h2"}),
        _doc(3, {"demo-web-1": "h1"}, rollback={"from": 2, "to": 1}),
    ]
    # after the rollback, the container of revision 2 is the kept one
    report = _report(docs, 3, {"demo-web-1": "h1"}, {"demo-web-1": "h2"})
    plan = plan_rollback({"a": report}, ["demo"], None)
    assert plan.errors == ("a: stack demo: no earlier revision to roll back to",)
    # ... unless asked for by number
    (stack,) = plan_rollback({"a": report}, ["demo"], 2).stacks
    assert [(s.name, s.to_hash) for s in stack.swaps] == [("demo-web-1", "h2")]
    assert stack.next_number == 4


def test_containers_already_on_the_target_and_one_shot_jobs_are_not_swapped() -> None:
    docs = [
        _doc(1, {"demo-web-1": "h1", "demo-job-1": "j1"}),
        _doc(2, {"demo-web-1": "h1", "demo-job-1": "j2"}),
    ]
    docs[1]["desired"]["containers"][1]["run_once"] = True
    docs[0]["desired"]["containers"][1]["run_once"] = True
    report = _report(docs, 2, {"demo-web-1": "h1", "demo-job-1": "j2"}, {})
    (stack,) = plan_rollback({"a": report}, ["demo"], 1).stacks
    assert stack.swaps == ()
    assert stack.notes == (
        "demo-job-1 stays as it is: one-shot and stopped services are not rolled back",
    )


def test_a_kept_container_of_another_stack_is_never_used() -> None:
    docs = [_doc(1, {"demo-web-1": "h1"}), _doc(2, {"demo-web-1": "h2"})]
    report = _report(docs, 2, {"demo-web-1": "h2"}, {})
    foreign = HostContainer("demo-web-1" + KEPT_SUFFIX, "x", False, "other", "h1")
    report = HostReport(report.revisions, (*report.containers, foreign))
    plan = plan_rollback({"a": report}, ["demo"], None)
    assert plan.stacks == () and "no kept container of revision 1" in plan.errors[0]


def test_the_new_revision_is_the_target_renumbered_with_its_origin() -> None:
    (st, *_) = plan_rollback(_fleet(), ["demo"], None).stacks
    doc = rollback_document(
        st, actor="ops@ctl", fleetform_version="0.1", started_at="s", finished_at="f"
    )
    assert doc["revision"] == 3 and doc["rollback"] == {"from": 2, "to": 1}
    assert doc["desired"] == st.target["desired"]
    assert doc["git"] == st.target["git"] and doc["actor"] == "ops@ctl"
    assert doc["actions"] == ["roll back demo-web-1 to revision 1"]


def _proxied(doc: dict[str, Any], order: str = "start-first", drain: int = 10**9) -> None:
    for c in doc["desired"]["containers"]:
        c["rollback_config"]["order"] = order
        c["proxy"] = {
            "backend": "demo-web",
            "network": "demo_default",
            "target_port": 8080,
            "drain": drain,
        }


def test_a_proxied_service_swaps_start_first_through_the_proxy() -> None:
    docs = [_doc(1, {"demo-web-1": "h1"}), _doc(2, {"demo-web-1": "h2"})]
    _proxied(docs[0], drain=5 * 10**9)
    _proxied(docs[1], drain=2 * 10**9)
    report = _report(docs, 2, {"demo-web-1": "h2"}, {"demo-web-1": "h1"})
    (swap,) = plan_rollback({"a": report}, ["demo"], None).swaps
    # the backend and port of the kept one's revision, the drain of the running one
    assert swap.proxy == ProxySwitch("demo-web", "demo_default", 8080, 2 * 10**9)
    assert "(start-first through the proxy)" in "\n".join(
        plan_rollback({"a": report}, ["demo"], None).lines()
    )


def test_a_stop_first_proxied_swap_repoints_the_slot() -> None:
    docs = [_doc(1, {"demo-web-1": "h1"}), _doc(2, {"demo-web-1": "h2"})]
    _proxied(docs[0], order="stop-first")
    _proxied(docs[1], order="stop-first")
    report = _report(docs, 2, {"demo-web-1": "h2"}, {"demo-web-1": "h1"})
    plan = plan_rollback({"a": report}, ["demo"], None)
    (swap,) = plan.swaps
    assert swap.proxy is None
    assert swap.repoint == ProxySwitch("demo-web", "demo_default", 8080, 10**9)
    assert "(stop-first; the proxy's slot follows)" in "\n".join(plan.lines())


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("target not proxied", "only one of the two revisions puts it behind the proxy"),
        ("current not proxied", "only one of the two revisions puts it behind the proxy"),
        ("older revision", "the revisions do not record all its proxy settings"),
    ],
)
def test_a_rollback_the_revisions_cannot_keep_behind_the_proxy_is_refused(
    case: str, why: str
) -> None:
    docs = [_doc(1, {"demo-web-1": "h1"}), _doc(2, {"demo-web-1": "h2"})]
    _proxied(docs[0])
    _proxied(docs[1])
    if case == "target not proxied":
        del docs[0]["desired"]["containers"][0]["proxy"]
    if case == "current not proxied":
        del docs[1]["desired"]["containers"][0]["proxy"]
    if case == "older revision":  # recorded before revisions held the proxy's network
        del docs[0]["desired"]["containers"][0]["proxy"]["network"]
    report = _report(docs, 2, {"demo-web-1": "h2"}, {"demo-web-1": "h1"})
    plan = plan_rollback({"a": report}, ["demo"], None)
    assert plan.swaps == ()
    (error,) = plan.errors
    assert f"demo-web-1: {why}; rollback cannot keep the proxy right" in error, error
    assert "apply the stack file of revision 1 (commit 1ab0c1d2e3f4) instead" in error
