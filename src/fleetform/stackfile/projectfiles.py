"""Project paths a service mounts: uploaded files, or data folders kept on the hosts.

In Compose a relative bind-mount source is a path of the project, on the one
machine Compose runs on.  On a fleet it gets one of two meanings:

- a **file** of the project (``./nginx.conf``), or a **folder mounted
  read-only** (``./conf.d:/etc/nginx/conf.d:ro``), is configuration: it is
  uploaded to each host and its content digest goes in the container's
  label, so an edit recreates exactly the containers that mount it
  (a :class:`~fleetform.model.ProjectFile`);
- a **writable folder** (``./pgdata:/var/lib/postgresql/data``), or a path
  the project does not have, is runtime data: it lives in the stack's data
  folder on each host, created on first apply (seeded once from the project
  when the project has it) and never overwritten afterwards (a bind
  :class:`~fleetform.model.Mount` with ``data`` set).

A folder's digest covers its tree: every entry's relative path, kind, mode
and content (a link: its target)::

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "a.conf").write_text("x")
    ...     tree_digest(Path(d)) == tree_digest(Path(d)), file_digest(Path(d) / "a.conf")[:15]
    (True, 'sha256:2d711642')
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from fleetform.model import Mount, ProjectFile, Service
from fleetform.stackfile.problems import DocPath, Report

#: A project file or folder is configuration, not a data set: a larger one is
#: a mistake (a data folder mounted read-only, a build output).
MAX_PROJECT_BYTES = 64 * 1024 * 1024


#: Left out of every uploaded or seeded folder, at any depth.
SKIPPED = ".git"


class TreeError(ValueError):
    """A project folder that cannot be uploaded, in plain words."""


@dataclass(frozen=True)
class Tree:
    """A project folder as it is uploaded: parents before children."""

    dirs: tuple[str, ...]  # relative posix paths
    files: tuple[tuple[Path, str, int], ...]  # (local file, relative path, mode)
    links: tuple[tuple[str, str], ...]  # (relative link path, its target, inside the folder)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def read_tree(folder: Path) -> Tree:
    """Every folder, regular file and symbolic link under ``folder`` (but ``.git``).

    A link pointing outside the folder is refused: it would not resolve on
    the host, and following it could upload files of this machine.
    """
    if not folder.is_dir():
        raise TreeError(f"{folder} is not a folder on this machine")
    root = os.path.realpath(folder)
    dirs: list[str] = []
    files: list[tuple[Path, str, int]] = []
    links: list[tuple[str, str]] = []
    size = 0
    for here, subdirs, names in os.walk(folder):
        # A `.git` (a folder, or a worktree's file) is never uploaded: its
        # config may hold credentials, and it is not the service's configuration.
        subdirs[:] = sorted(d for d in subdirs if d != SKIPPED)
        names = [n for n in names if n != SKIPPED]
        for name in sorted([*subdirs, *names]):
            path = Path(here) / name
            rel = path.relative_to(folder).as_posix()
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                target = os.path.realpath(path)
                if not _inside(target, root):
                    raise TreeError(
                        f"{rel} is a symbolic link to {os.readlink(path)}, outside the folder"
                    )
                links.append((rel, os.path.relpath(target, os.path.realpath(path.parent))))
            elif stat.S_ISDIR(info.st_mode):
                dirs.append(rel)
            elif stat.S_ISREG(info.st_mode):
                size += info.st_size
                files.append((path, rel, stat.S_IMODE(info.st_mode)))
            else:
                raise TreeError(f"{rel} is not a file, a folder or a link")
        # os.walk does not descend into linked folders: they are recreated as links.
    if size > MAX_PROJECT_BYTES:
        raise TreeError(f"it holds {size} bytes; project folders are limited to 64 MiB")

    def key(rel: str) -> tuple[str, ...]:
        return PurePosixPath(rel).parts

    return Tree(
        tuple(sorted(dirs, key=key)),
        tuple(sorted(files, key=lambda f: key(f[1]))),
        tuple(sorted(links)),
    )


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """``sha256:<hex>`` of a file's content (what ``sha256sum`` prints on the host)."""
    return "sha256:" + _sha256_file(path)


def _manifest_line(hexdigest: str, rel: str) -> str:
    # sha256sum's own escaping: a name with a backslash or a newline starts the
    # line with a backslash.
    if "\\" in rel or "\n" in rel:
        return "\\" + hexdigest + "  ./" + rel.replace("\\", "\\\\").replace("\n", "\\n")
    return f"{hexdigest}  ./{rel}"


def hashed_tree(folder: Path) -> tuple[Tree, str, bytes]:
    """``folder``'s tree, its digest and its manifest, from one reading of its files.

    The manifest lists each file's sha256 as ``sha256sum -c`` reads it, run
    in the folder: the host checks the uploaded copy against it.
    """
    tree = read_tree(folder)
    digest = hashlib.sha256()
    lines = []
    for rel in tree.dirs:
        digest.update(f"d {rel}\0".encode())
    for path, rel, mode in tree.files:
        hexdigest = _sha256_file(path)
        digest.update(f"f {rel} {mode:o} {hexdigest}\0".encode())
        lines.append(_manifest_line(hexdigest, rel) + "\n")
    for rel, target in tree.links:
        digest.update(f"l {rel} {target}\0".encode())
    return tree, "sha256:" + digest.hexdigest(), "".join(lines).encode(errors="surrogateescape")


def tree_digest(folder: Path) -> str:
    """``sha256:<hex>`` over a folder's tree (see the module's docstring)."""
    return hashed_tree(folder)[1]


def _shown(rel: str) -> str:
    return "." if rel == "." else f"./{rel}"


def _project_file(mount: Mount, rel: str, local: Path) -> ProjectFile:
    if local.is_dir():
        name = local.resolve().name if rel == "." else PurePosixPath(rel).name
        # The trailing `/` says "folder" in plans: `project folder ./conf.d/`.
        origin = _shown(rel).rstrip("/") + "/"
        digest = tree_digest(local)
        return ProjectFile(
            origin, mount.target, digest, name, local, folder=True, selinux=mount.selinux
        )
    if local.stat().st_size > MAX_PROJECT_BYTES:
        raise TreeError("it is larger than 64 MiB, the limit for project files")
    return ProjectFile(
        _shown(rel),
        mount.target,
        file_digest(local),
        PurePosixPath(rel).name,
        local,
        read_only=mount.read_only,
        selinux=mount.selinux,
    )


def _one(mount: Mount, where: DocPath, report: Report) -> Mount | ProjectFile | None:
    rel, local = mount.data or ".", mount.seed
    if local is None:  # pragma: no cover - the loader sets both
        return mount
    try:
        if local.is_file() or (local.is_dir() and mount.read_only):
            return _project_file(mount, rel, local)
    except (OSError, TreeError) as exc:
        report.error(where, f"cannot upload the project path `{_shown(rel)}`: {exc}")
        return None
    if local.exists() and not local.is_dir():
        report.error(where, f"the project path `{_shown(rel)}` is not a file or a folder")
        return None
    if rel == ".":
        report.error(
            where,
            "the project folder itself (`.`) cannot be a data folder on the hosts; "
            "mount it read-only (`:ro`) to upload it, or mount a folder inside it",
        )
        return None
    if local.is_dir():
        # The seed is uploaded only at the first apply: a fifo, a link out of
        # the folder or an oversized folder must fail here, not mid-rollout.
        try:
            read_tree(local)
        except (OSError, TreeError) as exc:
            report.error(where, f"cannot seed the data folder `{_shown(rel)}`: {exc}")
            return None
    # Runtime data: seeded once from the project when the project has it.
    return replace(mount, seed=local if local.is_dir() else None)


def split_project_mounts(svc: Service, path: DocPath, report: Report) -> Service:
    """``svc`` with its project-path mounts sorted into uploaded files and data folders."""
    if not any(m.data is not None for m in svc.volumes):
        return svc
    volumes: list[Mount] = []
    files = list(svc.files)
    for mount in svc.volumes:
        if mount.data is None:
            volumes.append(mount)
            continue
        out = _one(mount, path, report)
        if isinstance(out, ProjectFile):
            files.append(out)
        elif out is not None:
            volumes.append(out)
    return replace(svc, volumes=tuple(volumes), files=tuple(sorted(files, key=lambda f: f.target)))
