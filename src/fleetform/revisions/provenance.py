"""Who applied, and from which commit: read on the control machine, once per run.

Example::

    >>> actor().count("@") >= 1
    True
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fleetform import __version__
from fleetform.model import Stack
from fleetform.revisions.document import Provenance

_GIT_TIMEOUT = 10  # seconds; a hung git must not hold the apply


def now() -> str:
    """The current time, ISO 8601 in UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def actor() -> str:
    """``user@control-machine``: the login name (else the uid) and this machine's name."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def _git(folder: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):  # git missing or hung
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def public_url(url: str) -> str:
    """``url`` without user name and password (``scp``-like and local paths as they are).

    >>> public_url("https://bot:s3cret@git.example.com/ops/fleet.git")
    'https://git.example.com/ops/fleet.git'
    >>> public_url("git@git.example.com:ops/fleet.git")
    'git@git.example.com:ops/fleet.git'
    """
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc or "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def git_source(stack_file: Path) -> dict[str, Any] | None:
    """The commit of the git work tree holding ``stack_file``, or None when there is none.

    ``dirty`` is true when tracked files differ from the commit (as ``git
    describe --dirty``: untracked files do not count); ``path`` is the file's
    path inside the work tree; ``remote`` (only when the work tree has an
    ``origin``) is that URL without credentials.
    """
    folder = stack_file.resolve().parent
    top = _git(folder, "rev-parse", "--show-toplevel")
    commit = _git(folder, "rev-parse", "--verify", "-q", "HEAD")
    if not top or not commit:  # not a work tree, or a repository without commits
        return None
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    path = stack_file.resolve().relative_to(Path(top).resolve()).as_posix()
    source = {"commit": commit, "dirty": bool(status) if status is not None else None, "path": path}
    remote = _git(folder, "remote", "get-url", "origin")
    if remote:  # where the commit came from (a reconcile's repository), never credentials
        source["remote"] = public_url(remote)
    return source


def provenance(stacks: Iterable[Stack]) -> Provenance:
    """This run's provenance; call it when the apply starts."""
    return Provenance(
        actor=actor(),
        fleetform_version=__version__,
        started_at=now(),
        git={s.name: git_source(s.source) for s in stacks},
    )
