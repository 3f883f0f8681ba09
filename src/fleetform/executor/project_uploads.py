"""What to put on a host before a container that mounts project paths is created.

Pure: no pyinfra.  For a create or recreate, :func:`project_steps` gives the
shell commands and file uploads (:mod:`fleetform.executor.uploads`' steps)
that come before the container's command:

- each uploaded project file, folder or config goes to a staging folder,
  then takes its place under its digest's folder
  (:func:`fleetform.plan.projectfiles.host_path`) unless that place already
  holds it (a replica or a kept previous container mounts it): what a
  running container mounts is never replaced by other content.  A file
  mounted writable is kept as soon as it exists there: the container's
  writes are its data;
- each data folder the host does not have yet is created: seeded from the
  project (staged, then moved in only if still missing) or empty.  A data
  folder that exists is never touched.

Contents travel by file upload, never in a command line.
"""

from __future__ import annotations

import posixpath
import shlex
from pathlib import Path

from fleetform.executor.uploads import Shell, Step, Upload, UploadError
from fleetform.model import PROJECTS_DIR, ProjectFile
from fleetform.plan.actions import Action
from fleetform.plan.desired import DesiredContainer
from fleetform.plan.projectfiles import (
    data_mounts,
    data_path,
    done_marker,
    files_dir,
    folder_check,
    upload_dir,
    writable,
)
from fleetform.stackfile.projectfiles import Tree, TreeError, hashed_tree, read_tree

q = shlex.quote


def _read(local: Path) -> Tree:
    try:
        return read_tree(local)
    except (OSError, TreeError) as exc:
        raise UploadError(f"project folder {local}: {exc}") from None


def _tree_steps(tree: Tree, remote: str) -> list[Step]:
    """Upload ``tree`` to ``remote`` (made already), modes and links kept."""
    steps: list[Step] = []
    if tree.dirs:
        steps.append(
            Shell(f"mkdir -p -- {' '.join(q(posixpath.join(remote, d)) for d in tree.dirs)}")
        )
    steps += [Upload(src, posixpath.join(remote, rel)) for src, rel, _ in tree.files]
    steps += [
        Shell(f"chmod {mode:04o} -- {q(posixpath.join(remote, rel))}")
        for _, rel, mode in tree.files
        if mode != 0o644
    ]
    steps += [Shell(f"ln -s -- {q(t)} {q(posixpath.join(remote, rel))}") for rel, t in tree.links]
    return steps


def _staging(c: DesiredContainer, name: str) -> str:
    # One staging folder per container and item: replicas never share one.
    return f"{files_dir(c.stack)}/.staging-{c.name}-{name}"


def _file_steps(c: DesiredContainer, f: ProjectFile) -> list[Step]:
    final = upload_dir(c.stack, f)
    staging = _staging(c, posixpath.basename(final))
    inside = posixpath.join(staging, f.name)
    steps: list[Step] = [
        Shell(f"rm -rf -- {q(staging)} && install -d -m 755 -- {q(staging)}"),
    ]
    staging_items = q(staging)
    done = done_marker(c.stack, f)
    marker = f"touch -- {q(done)}"
    if f.folder and f.local is not None:
        try:
            tree, digest, manifest = hashed_tree(f.local)
        except (OSError, TreeError) as exc:
            raise UploadError(f"project folder {f.local}: {exc}") from None
        if digest != f.digest:
            # Content the plan did not show is never uploaded.
            raise UploadError(f"{f.origin} changed since the plan; plan again")
        listing = f"{staging}.manifest"
        steps.append(Shell(f"install -d -m 755 -- {q(inside)}"))
        steps += _tree_steps(tree, inside)
        steps.append(Upload(manifest, listing))
        # The files as they arrived are the planned ones (a file may change
        # between reading and uploading).
        steps.append(
            Shell(
                f"{folder_check(inside, listing)} || "
                f"{{ echo {q(f'{f.origin} changed since the plan; plan again')} >&2; exit 1; }}"
            )
        )
        there = posixpath.join(final, f.name)
        ready = f"[ -f {q(done)} ] && [ -d {q(there)} ] && {folder_check(there, done)}"
        # The manifest is the done marker: the observation checks the folder against it.
        marker = f"mv -- {q(listing)} {q(done)}"
        staging_items = f"{q(staging)} {q(listing)}"
    else:
        if f.local is not None:
            steps.append(Upload(f.local, inside))
            mode = f.local.stat().st_mode & 0o777
        else:
            steps.append(Upload(f.content, inside))
            mode = f.mode if f.mode is not None else 0o444
        owner = f"{f.uid or 0}:{f.gid or 0}"
        steps.append(Shell(f"chown {owner} -- {q(inside)} && chmod {mode:04o} -- {q(inside)}"))
        digest = f.digest.removeprefix("sha256:")
        check = f"{digest}  {posixpath.join(final, f.name)}"
        ready = f"printf '%s\\n' {q(check)} | sha256sum -c --status 2>/dev/null"
        if writable(f):
            # What the container wrote there is its data: kept whatever it holds.
            ready = f"[ -f {q(posixpath.join(final, f.name))} ]"
        # The file is uploaded as it is now: refuse content the plan did not show.
        staged = q(f"{digest}  {inside}")
        steps.append(
            Shell(
                f"printf '%s\\n' {staged} | sha256sum -c --status || "
                f"{{ echo {q(f'{f.origin} changed since the plan; plan again')} >&2; exit 1; }}"
            )
        )
    # Already there with this content: keep it (a running container may mount it).
    steps.append(
        Shell(
            f"if {ready}; then rm -rf -- {staging_items}; else rm -rf -- {q(final)} && "
            f"mv -- {q(staging)} {q(final)} && {marker}; fi"
        )
    )
    return steps


def _data_steps(c: DesiredContainer) -> list[Step]:
    missing = c.missing_data
    steps: list[Step] = []
    for m in data_mounts(c.service):
        rel = m.data or ""
        if missing is not None and rel not in missing:
            continue  # on the host already: runtime data is never overwritten
        final = data_path(c.stack, rel)
        if not final.startswith(f"{PROJECTS_DIR}/{c.stack}/data/"):
            raise UploadError(f"refusing data folder {final}: not under the stack's data folder")
        parent = posixpath.dirname(final)
        if m.seed is None:
            steps.append(Shell(f"[ -e {q(final)} ] || mkdir -p -- {q(final)}"))
            continue
        staging = f"{PROJECTS_DIR}/{c.stack}/.seed-{c.name}-{rel.replace('/', '_')}"
        steps.append(Shell(f"rm -rf -- {q(staging)} && install -d -m 755 -- {q(staging)}"))
        steps += _tree_steps(_read(m.seed), staging)
        steps.append(
            Shell(
                f"if [ -e {q(final)} ]; then rm -rf -- {q(staging)}; else "
                f"mkdir -p -- {q(parent)} && mv -- {q(staging)} {q(final)}; fi"
            )
        )
    return steps


def project_steps(action: Action) -> tuple[Step, ...]:
    """The uploads before ``action``'s new container (create, recreate); none otherwise."""
    c = action.container
    if action.kind not in ("create", "recreate") or c is None:
        return ()
    if not c.files and not data_mounts(c.service):
        return ()
    steps: list[Step] = [Shell(f"install -d -m 755 -- {q(files_dir(c.stack))}")]
    for f in c.files:
        try:
            steps += _file_steps(c, f)
        except OSError as exc:
            raise UploadError(f"project file {f.local}: {exc.strerror or exc}") from None
    steps += _data_steps(c)
    return tuple(steps)
