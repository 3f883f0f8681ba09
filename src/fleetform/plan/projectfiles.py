"""Project files, configs and data folders of a container, on the host and in the plan.

Uploaded files (:class:`~fleetform.model.ProjectFile`: a project file, a
read-only project folder, a ``configs`` entry) live under the stack's
``files`` folder on the host, at a path named by their content digest, so a
container's previous version (kept for a rollback) keeps its own copy while
the new one gets the new content::

    >>> from fleetform.model import ProjectFile
    >>> def conf(digest: str) -> ProjectFile:
    ...     return ProjectFile("./nginx.conf", "/etc/nginx/nginx.conf", digest, "nginx.conf")
    >>> f = conf("sha256:" + "ab" * 32)
    >>> host_path("shop", f)
    '/var/lib/fleetform/projects/shop/files/abababababababab/nginx.conf'

The container's ``fleetform.project-files`` label records each one's origin
and digest (plain sha256: configs are not secret), so an edit recreates exactly
the containers that mount the file, and the plan says why::

    >>> g = conf("sha256:" + "cd" * 32)
    >>> [str(c) for c in file_changes((g,), files_label((f,)))]
    ['project file ./nginx.conf changed (sha256): abababababab -> cdcdcdcdcdcd']

A project file mounted writable (no ``:ro``) is uploaded once per version
of the project's file, then belongs to the container: what it writes there is
its data, so the host's copy is only checked to exist, never compared with
the project (:func:`writable`).

Writable project folders are runtime data, kept at a fixed path in the
stack's ``data`` folder (:func:`data_path`): created on first apply, never
overwritten.  One observation line per path says what the host has
(:func:`observe_script`, :func:`parse_observed_paths`).
"""

from __future__ import annotations

import json
import posixpath
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from fleetform.model import PROJECTS_DIR, Mount, ProjectFile, Service
from fleetform.plan.diff import FieldChange
from fleetform.plan.jsonlabel import label_entries

_SHORT = 12
#: What the observation prints for a complete uploaded folder and a data folder.
FOLDER = "folder"
DATA = "data"
#: What the observation prints for a writable file that exists (content not read).
PRESENT = "present"
#: What the observation prints for an uploaded folder whose files differ from its manifest.
CHANGED = "changed"


def files_dir(stack: str) -> str:
    return f"{PROJECTS_DIR}/{stack}/files"


def writable(f: ProjectFile) -> bool:
    """A project file the container may write to: its host copy is its data."""
    return not f.read_only and not f.folder


def observed_kind(f: ProjectFile) -> str:
    """How the observation looks at ``f`` on the host (:func:`observe_script`)."""
    return "folder" if f.folder else "present" if writable(f) else "file"


def expected(f: ProjectFile) -> str:
    """What the observation prints for ``f`` when the host has it as planned."""
    return FOLDER if f.folder else PRESENT if writable(f) else f.digest


def _key(f: ProjectFile) -> str:
    key = f.digest.removeprefix("sha256:")[:16]
    if writable(f):
        # Never the folder of a read-only mount of the same content: the
        # container's writes would be taken for a change on the host there.
        key += "-rw"
    if f.uid is not None or f.gid is not None or f.mode is not None:
        # Configs with another owner or mode are another file on the host.
        key += f"-{f.uid or 0}-{f.gid or 0}-{(f.mode or 0):o}"
    return key


def upload_dir(stack: str, f: ProjectFile) -> str:
    """The folder that holds ``f`` on the host (named by its digest)."""
    return f"{files_dir(stack)}/{_key(f)}"


def host_path(stack: str, f: ProjectFile) -> str:
    """Where ``f`` is on the host; the container bind-mounts it from there."""
    return f"{upload_dir(stack, f)}/{f.name}"


def done_marker(stack: str, f: ProjectFile) -> str:
    """Written once a folder is completely uploaded: for a folder, its manifest
    (each file's sha256, :func:`fleetform.stackfile.projectfiles.hashed_tree`)."""
    return f"{upload_dir(stack, f)}.done"


def folder_check(folder: str, manifest: str) -> str:
    """Shell test: the files of ``folder`` have the sha256 ``manifest`` lists.

    An empty manifest (a folder without files) passes.  Names, modes, links
    and files not in the manifest are not compared.
    """
    m, d = shlex.quote(manifest), shlex.quote(folder)
    return f"{{ [ ! -s {m} ] || (cd -- {d} && sha256sum -c --status {m} 2>/dev/null); }}"


def data_path(stack: str, rel: str) -> str:
    """Where a writable project folder (``pgdata``) lives on the host."""
    return posixpath.normpath(f"{PROJECTS_DIR}/{stack}/data/{rel}")


def data_mounts(svc: Service) -> tuple[Mount, ...]:
    return tuple(m for m in svc.volumes if m.data is not None)


def _entry(f: ProjectFile) -> dict[str, Any]:
    entry: dict[str, Any] = {"origin": f.origin, "digest": f.digest, "ro": f.read_only}
    if f.mode is not None:
        entry["owner"] = f"{f.uid or 0}:{f.gid or 0} {f.mode:04o}"
    if f.selinux:  # only when set: older labels stay equal
        entry["selinux"] = f.selinux
    return entry


def files_label(files: Iterable[ProjectFile]) -> str:
    """The ``fleetform.project-files`` label: compact JSON by target."""
    return json.dumps({f.target: _entry(f) for f in files}, sort_keys=True, separators=(",", ":"))


def parse_files_label(text: str | None) -> dict[str, dict[str, Any]]:
    """The label's entries by target; empty for a missing or unreadable label."""
    return label_entries(text)


def _short(digest: object) -> str:
    return str(digest or "").removeprefix("sha256:")[:_SHORT] or "(none)"


def _what(origin: object) -> str:
    text = str(origin)
    if text.startswith("config "):
        return text
    return f"project folder {text}" if text.endswith("/") else f"project file {text}"


def _mounted(target: str, entry: Mapping[str, Any]) -> str:
    ro = "read-only" if entry.get("ro", True) else "read-write"
    owner = f", {entry['owner']}" if "owner" in entry else ""
    relabel = f", SELinux :{entry['selinux']}" if "selinux" in entry else ""
    return f"{target} ({ro}{owner}{relabel})"


def file_changes(want: tuple[ProjectFile, ...], have_label: str | None) -> list[FieldChange]:
    """What differs between the files a container should mount and its label says it has.

    Each is a recreate: a mounted file changes only with a new container.
    """
    have = parse_files_label(have_label)
    wanted = {f.target: f for f in want}
    changes = []
    for target in sorted(wanted.keys() | have.keys()):
        f, old = wanted.get(target), have.get(target)
        if f is None:
            gone = old or {}
            changes.append(FieldChange(_what(gone.get("origin")), _mounted(target, gone), None))
            continue
        new = _entry(f)
        path = _what(f.origin)
        if old is None:
            changes.append(FieldChange(path, None, _mounted(target, new)))
        elif {k: v for k, v in old.items() if k != "digest"} != {
            k: v for k, v in new.items() if k != "digest"
        }:
            changes.append(FieldChange(path, _mounted(target, old), _mounted(target, new)))
        elif old.get("digest") != new["digest"]:
            changes.append(
                FieldChange(f"{path} changed (sha256)", _short(old.get("digest")), _short(f.digest))
            )
    return changes


def host_file_problems(
    stack: str, files: tuple[ProjectFile, ...], present: Mapping[str, str] | None
) -> list[FieldChange]:
    """The uploaded files the host lost or that differ there: a recreate uploads them
    again.  A writable file is only checked to exist: what the container wrote
    there is its data.  Nothing when the host's files were not observed."""
    if present is None:
        return []
    out = []
    for f in files:
        have = present.get(host_path(stack, f))
        if have is None:
            out.append(FieldChange(_what(f.origin), "missing on the host", "uploaded again"))
        elif have != expected(f):
            out.append(FieldChange(_what(f.origin), "changed on the host", "uploaded again"))
    return out


def missing_data(stack: str, svc: Service, present: Mapping[str, str] | None) -> tuple[str, ...]:
    """The data folders (relative paths) of ``svc`` the host does not have yet
    (all of them when the host's folders were not observed)."""
    return tuple(
        m.data
        for m in data_mounts(svc)
        if m.data is not None and (present is None or present.get(data_path(stack, m.data)) != DATA)
    )


def _data_fate(m: Mount, missing: tuple[str, ...]) -> str:
    if m.data not in missing:
        return "already on the host, kept"
    return "seeded once from the project" if m.seed is not None else "created empty"


def data_changes(stack: str, svc: Service, missing: tuple[str, ...]) -> list[FieldChange]:
    """A data folder an existing container mounts and the host lost: made again."""
    return [
        FieldChange(f"data folder ./{m.data}", "missing on the host", _data_fate(m, missing))
        for m in data_mounts(svc)
        if m.data in missing
    ]


def describe(
    stack: str, svc: Service, files: tuple[ProjectFile, ...], missing: tuple[str, ...]
) -> list[FieldChange]:
    """For a new container's plan: what each project mount is."""
    out = [
        FieldChange(
            _what(f.origin),
            None,
            f"uploaded to the host, mounted at {_mounted(f.target, _entry(f))}, "
            f"sha256 {_short(f.digest)}",
        )
        for f in files
    ]
    out += [
        FieldChange(
            f"data folder ./{m.data}",
            None,
            f"kept on the host in {data_path(stack, m.data or '')}, mounted at {m.target}, "
            + _data_fate(m, missing),
        )
        for m in data_mounts(svc)
    ]
    return out


def observe_script(paths: Iterable[tuple[str, str]]) -> str:
    """One line per path the host has: ``sha256:<hex>  path`` for a file,
    ``present  path`` for a writable file (its content is the container's),
    ``folder  path`` for a complete folder whose files match its manifest
    (``changed  path`` when they do not), ``data  path`` for a data folder.

    ``paths``: (kind, path) with kind ``file``, ``present``, ``folder`` (its
    done marker is ``path``'s folder + ``.done``) or ``data``.
    """
    lines = []
    for kind, path in sorted(set(paths)):
        q = shlex.quote(path)
        if kind == "file":
            lines.append(
                f'if [ -f {q} ]; then h=$(sha256sum < {q}) && echo "sha256:${{h%% *}}  "{q}; fi'
            )
        elif kind == "present":
            lines.append(f"if [ -f {q} ]; then echo {PRESENT}'  '{q}; fi")
        elif kind == "folder":
            done = posixpath.dirname(path) + ".done"
            lines.append(
                f"if [ -f {shlex.quote(done)} ] && [ -d {q} ]; then "
                f"if {folder_check(path, done)}; then echo {FOLDER}'  '{q}; "
                f"else echo {CHANGED}'  '{q}; fi; fi"
            )
        else:
            lines.append(f"if [ -d {q} ]; then echo {DATA}'  '{q}; fi")
    return "; ".join([*lines, "true"])


def parse_observed_paths(text: str) -> dict[str, str]:
    """The lines of :func:`observe_script` -> path -> what the host has there."""
    out = {}
    for line in text.splitlines():
        what, sep, path = line.partition("  ")
        if sep:
            out[path] = what
    return out
