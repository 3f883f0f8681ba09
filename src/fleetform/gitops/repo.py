"""The repository a reconcile follows: fetched into a cache directory, one commit checked out.

Plain ``git`` subprocesses: anything ``git fetch`` takes works (a local path,
``file://``, ``ssh://``, ``https://``), with the user's own git and SSH
settings (host keys, credential helpers).

Credentials in an ``http(s)`` URL (``https://bot:TOKEN@host/...``) never
reach the disk or a command line: the clone's ``origin`` is the URL without
them, and the fetch alone gets them, as an ``Authorization`` header scoped to
that URL, through git's ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n`` environment
(readable by the same user only, gone when git exits).

Example::

    >>> inventory_spec(Path("/cache/repo-1"), "lab-1,lab-2")
    'lab-1,lab-2'
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from fleetform.revisions.provenance import public_url

#: a fetch of a big repository over a slow link may take a while, but not forever
GIT_TIMEOUT = 300.0


class RepoError(Exception):
    """The repository could not be fetched or checked out; the message says why."""


@dataclass(frozen=True)
class Checkout:
    """One commit of the repository, checked out in ``path``."""

    path: Path
    commit: str
    #: the repository as given, without credentials (safe for reports and revisions)
    url: str
    ref: str


def _is_local(url: str) -> bool:
    return "://" not in url and not re.match(r"^[^/]+@[^/:]+:", url)


def absolute_url(url: str) -> str:
    """A local path made absolute (git runs in the cache directory), else ``url``."""
    return str(Path(url).resolve()) if _is_local(url) else url


def cache_folder(cache_dir: Path, url: str) -> Path:
    """The folder of ``url``'s clone under ``cache_dir``: one per repository."""
    digest = hashlib.sha256(public_url(absolute_url(url)).encode()).hexdigest()[:16]
    return cache_dir / f"repo-{digest}"


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without the credentials of an ``http(s)`` URL, and the environment
    giving them to git for that URL only (empty when there are none).

    Any other URL keeps its user name (``ssh://git@host/...`` needs it) and
    loses a password, which git would not use anyway.

    >>> split_credentials("https://bot:s3cret@git.example.com/ops/fleet.git")[0]
    'https://git.example.com/ops/fleet.git'
    >>> split_credentials("ssh://git:pw@git.example.com/fleet.git")
    ('ssh://git@git.example.com/fleet.git', {})
    """
    parts = urlsplit(url)
    if not parts.scheme or "@" not in parts.netloc:
        return url, {}
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    if parts.scheme not in ("http", "https"):
        return urlunsplit(parts._replace(netloc=f"{user}@{host}")), {}
    bare = urlunsplit(parts._replace(netloc=host))
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
    return bare, _config_env({f"http.{bare}.extraHeader": f"Authorization: Basic {token}"})


def _config_env(settings: Mapping[str, str]) -> dict[str, str]:
    """``settings`` as git's ``GIT_CONFIG_*`` variables, after any the user set already."""
    first = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
    env = {"GIT_CONFIG_COUNT": str(first + len(settings))}
    for n, (key, value) in enumerate(settings.items(), start=first):
        env[f"GIT_CONFIG_KEY_{n}"] = key
        env[f"GIT_CONFIG_VALUE_{n}"] = value
    return env


def _git(args: list[str], cwd: Path | None = None, extra: Mapping[str, str] | None = None) -> str:
    env = {**os.environ, **(extra or {}), "GIT_TERMINAL_PROMPT": "0"}  # never wait for a password
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
            env=env,
        )
    except FileNotFoundError:
        raise RepoError("git is not installed on this machine") from None
    except subprocess.TimeoutExpired:
        raise RepoError(f"git {args[0]} took over {GIT_TIMEOUT:.0f} s") from None
    if proc.returncode != 0:
        # git's own words, credentials removed from any URL it repeats
        words = re.sub(r"(://)[^/@\s]+@", r"\1", proc.stderr.strip())
        raise RepoError(f"git {args[0]} failed: {words or f'exit code {proc.returncode}'}")
    return proc.stdout.strip()


def checkout(url: str, ref: str | None, cache_dir: Path) -> Checkout:
    """Fetch ``ref`` (default: the remote's HEAD) and check out its commit, clean.

    The clone is kept between runs, so a run fetches only what is new.
    Files left in the work tree by anything else are removed (``git clean``):
    the stacks read are exactly the commit's.
    """
    remote, credentials = split_credentials(absolute_url(url))
    folder = cache_folder(cache_dir, url)
    if not (folder / ".git").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        _git(["init", "-q", str(folder)])
        _git(["remote", "add", "origin", remote], cwd=folder)
    else:
        _git(["remote", "set-url", "origin", remote], cwd=folder)
    wanted = ref or "HEAD"
    # set-url above replaced the credentials an older clone kept in .git/config
    _git(["fetch", "-q", "--no-tags", "--force", "origin", wanted], folder, credentials)
    commit = _git(["rev-parse", "--verify", "FETCH_HEAD^{commit}"], cwd=folder)
    _git(["checkout", "-q", "--force", "--detach", commit], cwd=folder)
    _git(["clean", "-q", "-ffdx"], cwd=folder)
    return Checkout(path=folder, commit=commit, url=public_url(remote), ref=wanted)


def stack_files(root: Path, given: list[str | list[str]]) -> list[str | list[str]]:
    """The stack files to read: ``given`` inside the checkout, else ``stacks/*.yml|yaml``.

    An entry that is a list (``-f a.yml -f b.yml``) is one stack made of those files.
    """
    if given:
        return [[str(root / f) for f in p] if isinstance(p, list) else str(root / p) for p in given]
    folder = root / "stacks"
    found = sorted(p for p in folder.glob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
    return [str(p) for p in found]


def inventory_spec(root: Path, spec: str) -> str:
    """A relative inventory file read inside the checkout; anything else as given.

    ``lab-1,lab-2`` (a host list) or an absolute path are not in the
    repository, so they stay as they are.
    """
    if os.path.isabs(spec) or spec.startswith("@"):
        return spec
    inside = root / spec
    return str(inside) if inside.exists() else spec
