"""Each published Compose file of the corpus validates unchanged (needs the Debian mirror
on first run; archives are cached by sha256, see corpus.py)."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path

import pytest
from clirun import run_cli

from .corpus import (
    Archive,
    CorpusError,
    CorpusFile,
    fetch,
    load_sources,
    materialise,
    sha256_of,
    unpack,
)

ARCHIVES, FILES = load_sources()
VALID = [f for f in FILES if not f.refused]
REFUSED = [f for f in FILES if f.refused]


def _profile_args(profiles: tuple[str, ...]) -> list[str]:
    return [arg for p in profiles for arg in ("--profile", p)]


def test_every_file_names_its_source_and_licence() -> None:
    assert 8 <= len(FILES) <= 20
    assert len({f.id for f in FILES}) == len(FILES)
    for archive in ARCHIVES.values():
        assert re.fullmatch(r"[0-9a-f]{64}", archive.sha256)
        assert archive.licence and archive.homepage and archive.project
    for item in FILES:
        assert item.archive in ARCHIVES and item.shape


@pytest.mark.parametrize("archive", ARCHIVES.values(), ids=lambda a: a.key)
def test_the_licence_named_is_the_archive_licence(archive: Archive) -> None:
    text = (unpack(archive) / archive.licence_file).read_text(encoding="utf-8")
    marker = {
        "Apache-2.0": "Apache License\n                           Version 2.0",
        "BSD-3-Clause": "Neither the name of",
    }[archive.licence]
    assert marker in text


@pytest.mark.parametrize("item", VALID, ids=lambda f: f.id)
def test_published_file_validates_unchanged(item: CorpusFile) -> None:
    path = materialise(item, ARCHIVES)
    before = path.read_bytes()
    result = run_cli("validate", *_profile_args(item.profiles), str(path), env=item.env)
    assert "Traceback" not in result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 stack file valid" in result.stdout + result.stderr
    assert path.read_bytes() == before


@pytest.mark.parametrize("item", REFUSED, ids=lambda f: f.id)
def test_swarm_only_file_is_refused_naming_each_key(item: CorpusFile) -> None:
    path = materialise(item, ARCHIVES)
    result = run_cli("validate", str(path), env=item.env)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    problems = [
        line.split(" ", 1)[1]
        for line in (result.stdout + result.stderr).splitlines()
        if line.startswith(str(path)) and "warning" not in line
    ]
    assert problems == list(item.refused)


def _tarball(tmp_path: Path) -> tuple[Path, str]:
    payload = b"services: {}\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("demo-1/compose.yaml")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    path = tmp_path / "demo_1.orig.tar.gz"
    path.write_bytes(buffer.getvalue())
    return path, sha256_of(path)


def _archive(sha256: str) -> Archive:
    return Archive("demo", "demo", "demo", "1-1", "demo_1.orig.tar.gz", sha256, "MIT", "", "")


def test_fetch_caches_by_sha256_and_unpacks(tmp_path: Path) -> None:
    tarball, digest = _tarball(tmp_path)
    cache = tmp_path / "cache"
    tree = unpack(_archive(digest), tarball.as_uri(), cache)
    assert tree == cache / digest / "tree"
    assert (tree / "demo-1" / "compose.yaml").read_text() == "services: {}\n"
    tarball.unlink()  # cached: no download any more
    assert fetch(_archive(digest), tarball.as_uri(), cache).is_file()


def test_a_wrong_sha256_is_a_hard_failure(tmp_path: Path) -> None:
    tarball, digest = _tarball(tmp_path)
    wrong = "0" * 64
    with pytest.raises(CorpusError, match=f"has sha256 {digest}, but sources.yaml pins {wrong}"):
        fetch(_archive(wrong), tarball.as_uri(), tmp_path / "cache")
    assert not list((tmp_path / "cache" / wrong).iterdir())


def test_a_corrupt_cached_archive_is_downloaded_again(tmp_path: Path) -> None:
    tarball, digest = _tarball(tmp_path)
    cached = tmp_path / "cache" / digest / "demo_1.orig.tar.gz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"truncated")
    assert sha256_of(fetch(_archive(digest), tarball.as_uri(), tmp_path / "cache")) == digest


# What `docker compose config` resolves in these files (Compose 1.29.2's own tests
# assert the same values): variables from the project's .env, a set variable
# over its default, an unset one over its empty default.
RESOLVED = {
    "compose-default-env-file": {
        "image": "alpine:latest",
        "command": "true",
        "ports": [{"protocol": "tcp", "target": 5643}, {"protocol": "tcp", "target": 9999}],
    },
    "compose-interpolation-defaults": {
        "image": "busybox",
        "hostname": "host-",
        "ports": [{"protocol": "tcp", "published": 80, "target": 8000}],
    },
}


@pytest.mark.parametrize("item", [f for f in FILES if f.id in RESOLVED], ids=lambda f: f.id)
def test_interpolated_values_are_those_compose_resolves(item: CorpusFile) -> None:
    path = materialise(item, ARCHIVES)
    result = run_cli("config", "--format", "json", str(path), env=item.env)
    assert result.returncode == 0, result.stderr
    web = json.loads(result.stdout)["services"]["web"]
    assert {key: web.get(key) for key in RESOLVED[item.id]} == RESOLVED[item.id]
