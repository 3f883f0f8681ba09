"""Provenance: the git commit of the stack file's work tree, and whether it was dirty."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fleetform.model import Stack
from fleetform.revisions.provenance import actor, git_source, now, provenance


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def _repo(tmp_path: Path) -> tuple[Path, Path]:
    repo = tmp_path / "repo"
    (repo / "stacks").mkdir(parents=True)
    stack = repo / "stacks" / "web.yml"
    stack.write_text("version: 1\nname: web\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "one")
    return repo, stack


def test_a_stack_file_in_a_clean_work_tree_gives_its_commit(tmp_path: Path) -> None:
    repo, stack = _repo(tmp_path)
    source = git_source(stack)
    assert source == {
        "commit": _git(repo, "rev-parse", "HEAD"),
        "dirty": False,
        "path": "stacks/web.yml",
    }


def test_a_changed_tracked_file_makes_it_dirty_but_an_untracked_one_does_not(
    tmp_path: Path,
) -> None:
    repo, stack = _repo(tmp_path)
    (repo / "notes.txt").write_text("untracked\n")
    assert git_source(stack)["dirty"] is False  # type: ignore[index]
    stack.write_text("version: 1\nname: web\n# edited\n")
    assert git_source(stack)["dirty"] is True  # type: ignore[index]


def test_a_stack_file_outside_git_or_in_a_repository_without_commits_has_none(
    tmp_path: Path,
) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "web.yml").write_text("x")
    assert git_source(loose / "web.yml") is None
    empty = tmp_path / "empty"
    empty.mkdir()
    _git(empty, "init", "-q")
    (empty / "web.yml").write_text("x")
    assert git_source(empty / "web.yml") is None


def test_provenance_names_the_actor_version_and_each_stacks_commit(tmp_path: Path) -> None:
    repo, stack = _repo(tmp_path)
    p = provenance([Stack("web", stack), Stack("other", tmp_path / "nowhere.yml")])
    assert p.git["web"]["commit"] == _git(repo, "rev-parse", "HEAD")  # type: ignore[index]
    assert p.git["other"] is None
    assert "@" in p.actor and p.actor == actor()
    assert p.started_at.endswith("Z") and p.started_at <= now()
