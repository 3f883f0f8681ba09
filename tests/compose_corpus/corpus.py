"""The Compose corpus: real Compose files, fetched from published source archives.

``sources.yaml`` names each archive (a Debian source package's upstream
tarball, pinned by sha256) and each Compose file inside it.  Archives are
downloaded once into a cache keyed by their sha256 and unpacked there; the
files are used where they lie, exactly as published, so their project folder
(``.env``, relative binds, ``extends`` files) is the real one.  Nothing of them
is copied into this repository.

The Debian mirror is the one this machine's apt uses (``FLEETFORM_DEBIAN_MIRROR``
overrides it); the cache is ``~/.cache/fleetform/compose-corpus``
(``FLEETFORM_CORPUS_CACHE`` overrides it).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SOURCES = Path(__file__).with_name("sources.yaml")
APT_SOURCES = (Path("/etc/apt/sources.list.d"), Path("/etc/apt/sources.list"))


class CorpusError(Exception):
    """An archive could not be fetched, or is not the one ``sources.yaml`` pins."""


@dataclass(frozen=True)
class Archive:
    key: str
    project: str
    source: str  # Debian source package
    version: str
    file: str  # as listed in the package's .dsc
    sha256: str
    licence: str
    licence_file: str
    homepage: str

    def pool_path(self) -> str:
        """The archive's path under a Debian mirror (``pool/main/<prefix>/<source>/<file>``)."""
        prefix = self.source[:4] if self.source.startswith("lib") else self.source[0]
        return f"pool/main/{prefix}/{self.source}/{self.file}"


@dataclass(frozen=True)
class CorpusFile:
    id: str
    archive: str
    path: str
    shape: str
    env: dict[str, str] = field(default_factory=dict)
    profiles: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    requires: dict[str, tuple[str, ...]] = field(default_factory=dict)  # external objects


def load_sources(path: Path = SOURCES) -> tuple[dict[str, Archive], list[CorpusFile]]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    archives = {
        key: Archive(
            key=key,
            project=spec["project"],
            source=spec["debian"]["source"],
            version=spec["debian"]["version"],
            file=spec["debian"]["file"],
            sha256=spec["sha256"],
            licence=spec["licence"],
            licence_file=spec["licence_file"],
            homepage=spec["homepage"],
        )
        for key, spec in data["archives"].items()
    }
    files = [
        CorpusFile(
            id=spec["id"],
            archive=spec["archive"],
            path=spec["path"],
            shape=spec["shape"],
            env={str(k): str(v) for k, v in (spec.get("env") or {}).items()},
            profiles=tuple(spec.get("profiles") or ()),
            refused=tuple(spec.get("refused") or ()),
            requires={k: tuple(v) for k, v in (spec.get("requires") or {}).items()},
        )
        for spec in data["files"]
    ]
    return archives, files


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "fleetform" / "compose-corpus"
    return Path(os.environ.get("FLEETFORM_CORPUS_CACHE") or default)


def debian_mirror() -> str:
    """The main Debian mirror of this machine's apt (not the security one)."""
    override = os.environ.get("FLEETFORM_DEBIAN_MIRROR")
    if override:
        return override.rstrip("/")
    for uri in _apt_uris():
        if "security" not in uri:
            return uri.rstrip("/")
    raise CorpusError("no Debian mirror in apt's sources; set FLEETFORM_DEBIAN_MIRROR")


def _apt_uris() -> list[str]:
    folder, legacy = APT_SOURCES
    uris: list[str] = []
    listed = sorted(folder.glob("*")) if folder.is_dir() else []
    for path in [p for p in listed if p.suffix == ".sources"]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("URIs:"):
                uris += line.split()[1:]
    for path in [legacy, *(p for p in listed if p.suffix == ".list")]:
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                words = [w for w in line.split() if not w.startswith("[")]
                if len(words) > 1 and words[0] == "deb":
                    uris.append(words[1])
    return uris


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(archive: Archive, url: str | None = None, cache: Path | None = None) -> Path:
    """The archive file in the cache, downloaded if missing; a wrong sha256 raises."""
    folder = (cache or cache_dir()) / archive.sha256
    target = folder / archive.file
    if target.is_file() and sha256_of(target) == archive.sha256:
        return target
    url = url or f"{debian_mirror()}/{archive.pool_path()}"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, delete=False) as partial:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                shutil.copyfileobj(response, partial)
        except OSError as err:
            Path(partial.name).unlink()
            raise CorpusError(f"{archive.key}: cannot download {url}: {err}") from err
    got = sha256_of(Path(partial.name))
    if got != archive.sha256:
        Path(partial.name).unlink()
        raise CorpusError(
            f"{archive.key}: {url} has sha256 {got}, but sources.yaml pins {archive.sha256}"
        )
    Path(partial.name).replace(target)
    return target


def unpack(archive: Archive, url: str | None = None, cache: Path | None = None) -> Path:
    """The folder the archive is unpacked in (once; later calls reuse it)."""
    tarball = fetch(archive, url, cache)
    tree = tarball.parent / "tree"
    if tree.is_dir():
        return tree
    scratch = Path(tempfile.mkdtemp(dir=tarball.parent))
    with tarfile.open(tarball) as tar:
        tar.extractall(scratch, filter="data")
    try:
        scratch.replace(tree)
    except OSError:  # unpacked meanwhile by another run
        shutil.rmtree(scratch)
    return tree


def materialise(item: CorpusFile, archives: dict[str, Archive]) -> Path:
    """The published Compose file on disk, in its own unpacked project folder."""
    path = unpack(archives[item.archive]) / item.path
    if not path.is_file():
        raise CorpusError(f"{item.id}: {item.path} is not in {archives[item.archive].file}")
    return path
