"""Uploaded project files, configs and data folders in the plan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from planbuilders import assert_plan_golden, host_state, running, stack, svc, want

from fleetform.model import LABEL_PROJECT_FILES, Mount, ProjectFile, Stack
from fleetform.plan import plan_host
from fleetform.plan.desired import HostDesired, project_paths
from fleetform.plan.observed import Observed, ObservedContainer
from fleetform.plan.projectfiles import (
    DATA,
    FOLDER,
    PRESENT,
    data_path,
    expected,
    host_path,
    observe_script,
    parse_observed_paths,
)

OLD = "sha256:" + "1a" * 32
NEW = "sha256:" + "2b" * 32


def conf(digest: str = OLD) -> ProjectFile:
    return ProjectFile(
        "./nginx.conf", "/etc/nginx/nginx.conf", digest, "nginx.conf", Path("/p/nginx.conf")
    )


def app_config() -> ProjectFile:
    return ProjectFile(
        "config app", "/app", "sha256:" + "3c" * 32, "app", content=b"x", uid=0, gid=0, mode=0o440
    )


PGDATA = Mount("bind", "/var/lib/postgresql/data", data="pgdata", seed=Path("/p/pgdata"))


def project_stack(digest: str = OLD) -> Stack:
    """web mounts nginx.conf and a config; db a data folder; cache nothing of the project."""
    return stack(
        svc("web", files=(conf(digest), app_config())),
        svc("db", volumes=(PGDATA,)),
        svc("cache"),
    )


def labelled(c: ObservedContainer, label: str) -> ObservedContainer:
    labels = dict(c.labels)
    labels[LABEL_PROJECT_FILES] = label
    return replace(c, labels=tuple(sorted(labels.items())))


def on_host(d: HostDesired) -> dict[str, str]:
    """What the observation finds when every file and folder of ``d`` is in place."""
    out = {}
    for kind, path in project_paths(d):
        out[path] = DATA if kind == "data" else FOLDER if kind == "folder" else ""
    for c in d.containers:
        for f in c.files:
            out[host_path(c.stack, f)] = expected(f)
    return out


def applied(d: HostDesired, paths: dict[str, str] | None = None) -> Observed:
    containers = [
        labelled(running(c), c.files_label) if c.files else running(c) for c in d.containers
    ]
    return host_state(d, *containers, project_paths=on_host(d) if paths is None else paths)


def case_project_file_changed() -> tuple[HostDesired, Observed]:
    return want([project_stack(NEW)]), applied(want([project_stack()]))


def case_project_files_on_a_new_host() -> tuple[HostDesired, Observed]:
    d = want([project_stack()])
    return d, host_state(d, project_paths={})


def case_project_file_lost_on_the_host() -> tuple[HostDesired, Observed]:
    d = want([project_stack()])
    paths = on_host(d)
    del paths[host_path("demo", conf())]
    return d, applied(d, paths)


def case_project_file_changed_on_the_host() -> tuple[HostDesired, Observed]:
    d = want([project_stack()])
    return d, applied(d, {**on_host(d), host_path("demo", conf()): NEW})


def case_data_folder_lost_on_the_host() -> tuple[HostDesired, Observed]:
    d = want([project_stack()])
    paths = on_host(d)
    del paths[data_path("demo", "pgdata")]
    return d, applied(d, paths)


CASES: dict[str, Callable[[], tuple[HostDesired, Observed]]] = {
    "project_file_changed": case_project_file_changed,
    "project_files_on_a_new_host": case_project_files_on_a_new_host,
    "project_file_lost_on_the_host": case_project_file_lost_on_the_host,
    "project_file_changed_on_the_host": case_project_file_changed_on_the_host,
    "data_folder_lost_on_the_host": case_data_folder_lost_on_the_host,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan_text_matches_the_golden_file(name: str) -> None:
    assert_plan_golden(*CASES[name](), name)


def test_editing_a_file_recreates_exactly_the_containers_that_mount_it() -> None:
    host = plan_host(*case_project_file_changed())
    assert [(a.kind, a.resource) for a in host.actions] == [("recreate", "demo-web-1")]
    assert [str(c) for c in host.actions[0].changes] == [
        "project file ./nginx.conf changed (sha256): 1a1a1a1a1a1a -> 2b2b2b2b2b2b"
    ]


def test_the_same_files_and_folders_plan_nothing() -> None:
    d = want([project_stack()])
    assert plan_host(d, applied(d)).actions == ()


def test_data_folders_on_the_host_are_never_planned_again() -> None:
    d = want([project_stack()])
    c = next(c for c in plan_host(d, host_state(d, project_paths=on_host(d))).actions)
    assert c.container is not None and c.container.missing_data == ()
    fresh = next(
        a
        for a in plan_host(d, host_state(d, project_paths={})).actions
        if a.resource == "demo-db-1"
    )
    assert fresh.container is not None and fresh.container.missing_data == ("pgdata",)


def test_an_unobserved_host_plans_no_file_repairs() -> None:
    # The host could not list its files (older observation): nothing to repair.
    d = want([project_stack()])
    assert plan_host(d, replace(applied(d), project_paths=None)).actions == ()


def test_data_folders_are_bind_mounts_from_the_stacks_data_folder() -> None:
    d = want([project_stack()])
    db = next(c for c in d.containers if c.name == "demo-db-1")
    [mount] = db.spec.mounts
    assert (mount.type, mount.source) == ("bind", "/var/lib/fleetform/projects/demo/data/pgdata")


def test_the_observation_script_reports_files_folders_and_data(tmp_path: Path) -> None:
    import subprocess

    (tmp_path / "f").write_bytes(b"hello")
    (tmp_path / "f2").write_bytes(b"written by the container")
    (tmp_path / "d").mkdir()
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "x").mkdir()
    (tmp_path / "k.done").write_text("")
    script = observe_script(
        [
            ("file", str(tmp_path / "f")),
            ("file", str(tmp_path / "missing")),
            ("present", str(tmp_path / "f2")),
            ("present", str(tmp_path / "missing2")),
            ("data", str(tmp_path / "d")),
            ("folder", str(tmp_path / "k" / "x")),
            ("folder", str(tmp_path / "d" / "y")),
        ]
    )
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
    assert parse_observed_paths(out) == {
        str(
            tmp_path / "f"
        ): "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        str(tmp_path / "f2"): PRESENT,
        str(tmp_path / "d"): DATA,
        str(tmp_path / "k" / "x"): FOLDER,
    }
    assert "sha256sum" not in observe_script([("present", str(tmp_path / "f2"))])


def app_db(digest: str = OLD) -> ProjectFile:
    """``./app.db:/data/app.db``: a project file mounted writable."""
    return ProjectFile(
        "./app.db", "/data/app.db", digest, "app.db", Path("/p/app.db"), read_only=False
    )


def writable_stack(digest: str = OLD) -> Stack:
    return stack(svc("web", files=(app_db(digest),)))


def test_a_writable_file_the_container_wrote_to_is_not_planned_again() -> None:
    d = want([writable_stack()])
    assert project_paths(d) == (("present", host_path("demo", app_db())),)
    # The observation reports only that it exists: the content is the container's.
    assert plan_host(d, applied(d, {host_path("demo", app_db()): PRESENT})).actions == ()


def test_a_writable_file_lost_on_the_host_is_uploaded_again() -> None:
    d = want([writable_stack()])
    [action] = plan_host(d, applied(d, {})).actions
    assert action.kind == "recreate"
    assert [str(c) for c in action.changes] == [
        "project file ./app.db: missing on the host -> uploaded again"
    ]


def test_a_writable_file_changed_in_the_project_gets_a_new_folder() -> None:
    d = want([writable_stack(NEW)])
    [action] = plan_host(d, applied(want([writable_stack()]))).actions
    assert action.kind == "recreate"
    assert host_path("demo", app_db(NEW)) != host_path("demo", app_db(OLD))
    # Never the folder of a read-only mount of the same content.
    assert host_path("demo", app_db()) != host_path("demo", conf())
