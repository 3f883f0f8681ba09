"""What to put on a host before an image is built or loaded there.  Pure: no pyinfra.

A ``build`` action needs its context folder on the host, a ``load`` action its
archive.  :func:`image_uploads` says, for one action, which steps come before
its command and which after it::

    for step in image_uploads(action).before:
        ...  # Shell(command) or Upload(local file, remote path)
    host.run_shell_command(action_command(action))
    for step in image_uploads(action).after:
        ...

The remote build folder is emptied first so files deleted locally do not
linger in the image.  File modes are kept (SFTP creates files 0644, and a
``COPY``'d script must stay executable); symbolic links are recreated as
relative links, and one pointing outside the context is refused, as
``docker build`` would not follow it either and it could leak files of the
control machine.  The context's ``.dockerignore`` is honoured as the docker
CLI does it, so ``.env`` or ``.git`` listed there never leave this machine.
"""

from __future__ import annotations

import os
import posixpath
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from docker.utils.build import exclude_paths

from fleetform.executor.steps import REMOTE_ROOT, remote_archive_path, remote_build_dir
from fleetform.model import INLINE_DOCKERFILE
from fleetform.plan.actions import Action


class UploadError(ValueError):
    """A build context or archive that cannot be uploaded, in plain words."""


@dataclass(frozen=True)
class Shell:
    command: str


@dataclass(frozen=True)
class Upload:
    src: Path | bytes  # a regular file on the control machine, or content in memory
    dest: str  # its path on the host


Step = Shell | Upload


@dataclass(frozen=True)
class ImageUploads:
    before: tuple[Step, ...] = ()
    after: tuple[Step, ...] = ()


@dataclass(frozen=True)
class _Context:
    dirs: tuple[str, ...]  # relative posix paths, parents first
    files: tuple[tuple[Path, str, int], ...]  # (local file, relative path, mode)
    links: tuple[tuple[str, str], ...]  # (relative link path, relative target)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _link_target(link: Path, root: str, rel: str) -> str:
    """The link's target relative to the link's folder; refuse targets outside ``root``."""
    target = os.path.realpath(link)
    if not _inside(target, root):
        raise UploadError(
            f"build context {root}: symbolic link {rel} points outside the context "
            f"({os.readlink(link)}); copy the file into the context instead"
        )
    return os.path.relpath(target, os.path.realpath(link.parent))


#: A .dockerignore is a short list of patterns; a larger one is a mistake.
MAX_DOCKERIGNORE_BYTES = 1024 * 1024


def dockerignore_patterns(context: Path) -> list[str]:
    """The patterns of ``context/.dockerignore`` (none without one).

    Read as the docker CLI reads it: one pattern per line, surrounding space
    trimmed, empty lines and ``#`` comments skipped.
    """
    path = context / ".dockerignore"
    if not path.exists():
        return []
    if not path.is_file() or path.stat().st_size > MAX_DOCKERIGNORE_BYTES:
        raise UploadError(f"build context {context}: .dockerignore is not a small regular file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UploadError(f"build context {context}: cannot read .dockerignore ({exc})") from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _sent(context: Path, dockerfile: str) -> set[str]:
    """Relative paths the docker CLI would send for ``context`` (folders included).

    docker's own Python SDK implements the CLI's matching (``**``, ``!``
    exceptions, a leading ``/``, a folder excluding what is inside it), and,
    as the CLI does, always sends the Dockerfile and the .dockerignore itself.
    """
    return set(exclude_paths(str(context), dockerignore_patterns(context), dockerfile=dockerfile))


def read_context(context: Path, dockerfile: str = "Dockerfile") -> _Context:
    """Every folder, file and symbolic link under ``context`` that .dockerignore lets through."""
    if not context.is_dir():
        raise UploadError(f"build context {context} is not a folder on this machine")
    root = os.path.realpath(context)
    sent = _sent(context, dockerfile)
    # A folder left out with a file inside it let back in (`!secret/keep`)
    # is still needed to hold that file.
    sent |= {parent for rel in sent for parent in _parents(rel)}
    dirs: list[str] = []
    files: list[tuple[Path, str, int]] = []
    links: list[tuple[str, str]] = []
    # Folder by folder, parents first, as os.walk goes; linked folders were
    # not descended into: they are recreated as links.
    for rel in sorted(sent, key=lambda r: (PurePosixPath(r).parent.parts, PurePosixPath(r).name)):
        path = context / rel
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            links.append((rel, _link_target(path, root, rel)))
        elif stat.S_ISDIR(info.st_mode):
            dirs.append(rel)
        elif stat.S_ISREG(info.st_mode):
            files.append((path, rel, stat.S_IMODE(info.st_mode)))
        else:
            raise UploadError(f"build context {context}: {rel} is not a file or folder")
    return _Context(tuple(dirs), tuple(files), tuple(links))


def _parents(rel: str) -> list[str]:
    parts = PurePosixPath(rel).parts
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _under_root(remote: str, kind: str) -> str:
    # The remote folder is removed recursively: make sure it is one of ours.
    norm = posixpath.normpath(remote)
    if not norm.startswith(f"{REMOTE_ROOT}/{kind}/") or PurePosixPath(norm).name in ("", ".."):
        raise UploadError(f"refusing to use {remote}: not under {REMOTE_ROOT}/{kind}/")
    return norm


def context_steps(context: Path, remote: str, dockerfile: str = "Dockerfile") -> tuple[Step, ...]:
    """Replace ``remote`` on the host with the content of the local folder ``context``."""
    remote = _under_root(remote, "build")
    ctx = read_context(context, dockerfile)
    q = shlex.quote
    folders = " ".join(q(posixpath.join(remote, d)) for d in ctx.dirs)
    steps: list[Step] = [
        Shell(f"rm -rf -- {q(remote)} && install -d -m 700 -- {q(remote)}"),
    ]
    if folders:
        steps.append(Shell(f"mkdir -p -- {folders}"))
    steps += [Upload(src, posixpath.join(remote, rel)) for src, rel, _ in ctx.files]
    by_mode: dict[int, list[str]] = {}
    for _, rel, mode in ctx.files:
        if mode != 0o644:
            by_mode.setdefault(mode, []).append(q(posixpath.join(remote, rel)))
    steps += [Shell(f"chmod {mode:04o} -- {' '.join(paths)}") for mode, paths in by_mode.items()]
    steps += [
        Shell(f"ln -s -- {q(target)} {q(posixpath.join(remote, rel))}") for rel, target in ctx.links
    ]
    return tuple(steps)


def archive_steps(archive: Path, remote: str) -> ImageUploads:
    """Upload ``archive`` to ``remote`` before the load; remove it afterwards to free disk."""
    remote = _under_root(remote, "images")
    if not archive.is_file():
        raise UploadError(f"image archive {archive} is not a file on this machine")
    q = shlex.quote
    return ImageUploads(
        before=(
            Shell(f"install -d -m 700 -- {q(posixpath.dirname(remote))}"),
            Upload(archive, remote),
        ),
        after=(Shell(f"rm -f -- {q(remote)}"),),
    )


def image_uploads(action: Action) -> ImageUploads:
    """The steps around a ``build`` or ``load`` action (none for other actions)."""
    image = action.image
    if image is None:
        return ImageUploads()
    if action.kind == "build" and image.build is not None:
        build = image.build
        remote = remote_build_dir(image)
        steps = context_steps(build.context, remote, build.dockerfile)
        if build.dockerfile_inline is not None:
            text = build.dockerfile_inline.encode()
            steps = (*steps, Upload(text, posixpath.join(remote, INLINE_DOCKERFILE)))
        return ImageUploads(before=steps)
    if action.kind == "load" and image.archive is not None:
        return archive_steps(image.archive, remote_archive_path(image))
    return ImageUploads()
