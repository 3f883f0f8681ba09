"""Fetching the repository into the cache, and reading the stacks and inventory inside."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest
from gitrepo import Repo, smart_http

from fleetform.gitops.repo import (
    RepoError,
    cache_folder,
    checkout,
    inventory_spec,
    split_credentials,
    stack_files,
)
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


def _files_holding(folder: Path, secret: str) -> list[str]:
    return [
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and secret.encode() in p.read_bytes()
    ]


def test_a_token_in_an_https_url_is_used_for_the_fetch_and_never_kept_on_disk(
    repo: Repo, tmp_path: Path
) -> None:
    commit = repo.commit({"stacks/a.yml": "x\n"})
    token = "tok-5ecret-4242"
    with smart_http(repo.bare.parent, "bot", token) as base:
        url = f"{base.replace('://', f'://bot:{token}@')}/fleet.git"
        co = checkout(url, "main", tmp_path / "cache")
        assert co.commit == commit
        assert co.url == f"{base}/fleet.git"
        config = (co.path / ".git/config").read_text()
        assert f"url = {base}/fleet.git" in config
        assert _files_holding(co.path / ".git", token) == []
        # a wrong token: git's refusal, without the token in the message
        with pytest.raises(RepoError, match="git fetch failed") as failed:
            checkout(url.replace(token, "wrong-token"), "main", tmp_path / "cache")
        assert "wrong-token" not in str(failed.value)


def test_the_server_refuses_a_fetch_without_the_token(repo: Repo, tmp_path: Path) -> None:
    """The test server above really checks the credentials (else the test proves nothing)."""
    repo.commit({"a": "x"})
    with (
        smart_http(repo.bare.parent, "bot", "tok") as base,
        pytest.raises(RepoError, match="git fetch failed"),
    ):
        checkout(f"{base}/fleet.git", "main", tmp_path / "c")


def test_a_clone_made_with_the_token_in_its_config_loses_it_on_the_next_run(
    repo: Repo, tmp_path: Path
) -> None:
    repo.commit({"a": "x"})
    with smart_http(repo.bare.parent, "bot", "tok-old") as base:
        url = f"{base.replace('://', '://bot:tok-old@')}/fleet.git"
        folder = cache_folder(tmp_path / "c", url)
        folder.mkdir(parents=True)
        subprocess.run(["git", "init", "-q", str(folder)], check=True)
        subprocess.run(["git", "-C", str(folder), "remote", "add", "origin", url], check=True)
        checkout(url, "main", tmp_path / "c")
        assert _files_holding(folder / ".git", "tok-old") == []


def test_the_token_is_on_no_command_line(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.commit({"a": "x"})
    seen: list[tuple[list[str], dict[str, str]]] = []
    real = subprocess.run

    def spy(argv: list[str], **kwargs: Any) -> Any:
        seen.append((list(argv), dict(kwargs.get("env") or {})))
        return real(argv, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    with smart_http(repo.bare.parent, "bot", "tok-argv") as base:
        checkout(f"{base.replace('://', '://bot:tok-argv@')}/fleet.git", "main", tmp_path / "c")
    assert seen and all("tok-argv" not in " ".join(argv) for argv, _ in seen)
    # only the fetch was given the header, scoped to the repository's URL
    given = [(argv, env) for argv, env in seen if "GIT_CONFIG_COUNT" in env]
    assert [argv[1] for argv, _ in given] == ["fetch"]
    env = given[0][1]
    assert env["GIT_CONFIG_KEY_0"] == f"http.{base}/fleet.git.extraHeader"
    assert env["GIT_CONFIG_VALUE_0"].startswith("Authorization: Basic ")


def test_other_urls_keep_their_user_and_lose_only_a_password() -> None:
    assert split_credentials("ssh://git@example.com/r.git") == ("ssh://git@example.com/r.git", {})
    assert split_credentials("/srv/fleet.git") == ("/srv/fleet.git", {})
    bare, env = split_credentials("https://x%40y:p%2Fq@example.com/r.git")
    assert bare == "https://example.com/r.git"
    assert (
        env["GIT_CONFIG_VALUE_0"] == "Authorization: Basic " + base64.b64encode(b"x@y:p/q").decode()
    )
