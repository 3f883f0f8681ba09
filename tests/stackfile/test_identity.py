"""A stack file's identity: its path inside its git work tree, else its absolute path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fleetform.stackfile import load_stack
from fleetform.stackfile.identity import stack_file_identity

from .helpers import write

STACK = "version: 1\nname: web\nservices:\n  app:\n    image: nginx:1.25\n"


def _clone(root: Path) -> Path:
    (root / ".git").mkdir(parents=True)
    (root / "teams" / "a").mkdir(parents=True)
    return write(root / "teams" / "a", STACK, "web.yml")


def test_two_clones_in_different_places_give_one_identity(tmp_path: Path) -> None:
    laptop = _clone(tmp_path / "home" / "alice" / "src" / "infra")
    ci = _clone(tmp_path / "builds" / "infra")
    assert stack_file_identity(laptop) == stack_file_identity(ci) == "teams/a/web.yml"
    assert load_stack(laptop).identity == "teams/a/web.yml"


def test_the_identity_does_not_depend_on_how_the_path_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _clone(tmp_path / "infra")
    monkeypatch.chdir(path.parent)
    assert stack_file_identity(Path("web.yml")) == "teams/a/web.yml"
    assert stack_file_identity(Path("../a/./web.yml")) == "teams/a/web.yml"


def test_a_linked_worktree_counts_as_a_work_tree(tmp_path: Path) -> None:
    root = tmp_path / "wt"
    (root / "stacks").mkdir(parents=True)
    (root / ".git").write_text("gitdir: /elsewhere/.git/worktrees/wt\n")
    assert stack_file_identity(write(root / "stacks", STACK, "web.yml")) == "stacks/web.yml"


def test_outside_a_git_work_tree_the_identity_is_the_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wherever the temporary folder lives, no `.git` above it is seen: the test
    # never depends on the machine's layout (and never needs to be skipped).
    exists = Path.exists

    def no_git_above(self: Path) -> bool:
        if self.name == ".git" and not self.is_relative_to(tmp_path.resolve()):
            return False
        return exists(self)

    monkeypatch.setattr(Path, "exists", no_git_above)
    path = write(tmp_path, STACK, "web.yml")
    assert stack_file_identity(path) == os.path.realpath(path)
