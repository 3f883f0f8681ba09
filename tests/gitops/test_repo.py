"""Fetching the repository into the cache, and reading the stacks and inventory inside."""

from __future__ import annotations

from pathlib import Path

import pytest
from gitrepo import Repo

from fleetform.gitops.repo import RepoError, checkout, inventory_spec, stack_files
from fleetform.revisions.provenance import git_source, public_url


def test_a_checkout_follows_the_newest_commit_and_drops_stray_files(
    repo: Repo, tmp_path: Path
) -> None:
    first = repo.commit({"stacks/a.yml": "one\n"})
    co = checkout(str(repo.bare), "main", tmp_path / "cache")
    assert co.commit == first
    assert (co.path / "stacks/a.yml").read_text() == "one\n"
    (co.path / "stacks/stray.yml").write_text("not in git\n")
    second = repo.commit({"stacks/a.yml": "two\n"})
    co = checkout(str(repo.bare), "main", tmp_path / "cache")
    assert co.commit == second
    assert (co.path / "stacks/a.yml").read_text() == "two\n"
    assert not (co.path / "stacks/stray.yml").exists()


def test_the_default_ref_is_the_remote_head(repo: Repo, tmp_path: Path) -> None:
    commit = repo.commit({"README.md": "x\n"})
    assert checkout(str(repo.bare), None, tmp_path / "c").commit == commit


def test_a_file_url_works_and_the_recorded_source_names_the_repository(
    repo: Repo, tmp_path: Path
) -> None:
    commit = repo.commit({"stacks/a.yml": "x\n"})
    co = checkout(f"file://{repo.bare}", "main", tmp_path / "c")
    source = git_source(co.path / "stacks/a.yml")
    assert source == {
        "commit": commit,
        "dirty": False,
        "path": "stacks/a.yml",
        "remote": f"file://{repo.bare}",
    }


def test_an_unknown_ref_or_repository_is_an_error_in_gits_words(repo: Repo, tmp_path: Path) -> None:
    repo.commit({"a": "x"})
    with pytest.raises(RepoError, match=r"git fetch failed: .*nope"):
        checkout(str(repo.bare), "nope", tmp_path / "c")
    with pytest.raises(RepoError, match="git fetch failed"):
        checkout(str(tmp_path / "missing.git"), "main", tmp_path / "d")


def test_credentials_never_leave_the_url() -> None:
    assert public_url("https://u:p@example.com/r.git") == "https://example.com/r.git"
    assert public_url("ssh://git@example.com/r.git") == "ssh://example.com/r.git"
    assert public_url("/srv/fleet.git") == "/srv/fleet.git"


def test_stacks_default_to_the_yaml_files_under_stacks(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    for name in ("b.yaml", "a.yml", "notes.md"):
        (tmp_path / "stacks" / name).write_text("")
    assert stack_files(tmp_path, []) == [
        str(tmp_path / "stacks/a.yml"),
        str(tmp_path / "stacks/b.yaml"),
    ]
    assert stack_files(tmp_path, ["other/x.yml"]) == [str(tmp_path / "other/x.yml")]


def test_a_relative_inventory_is_read_inside_the_checkout(tmp_path: Path) -> None:
    (tmp_path / "inventory").mkdir()
    (tmp_path / "inventory/hosts.py").write_text("")
    assert inventory_spec(tmp_path, "inventory/hosts.py") == str(tmp_path / "inventory/hosts.py")
    assert inventory_spec(tmp_path, "lab-1,lab-2") == "lab-1,lab-2"
    assert inventory_spec(tmp_path, "/etc/hosts.py") == "/etc/hosts.py"
