"""Mounts: named volumes, bind mounts and tmpfs, short and long forms."""

from __future__ import annotations

import os
import posixpath
from dataclasses import replace
from pathlib import Path
from typing import Any

from fleetform.model import Mount
from fleetform.stackfile.names import printable
from fleetform.stackfile.problems import DocPath, Report
from fleetform.stackfile.units import parse_memory


def _is_host_path(source: str) -> bool:
    return source.startswith(("/", ".", "~"))


def _host_path(source: str, base: Path) -> tuple[str | None, str | None]:
    """``(host path, project path)`` of a bind-mount source; exactly one is set.

    An absolute source is a path on the host, as today.  In Compose a relative
    source (``./nginx.conf``) is a path of the project: here it becomes a
    project path (normalised, relative to ``base``), which the loader turns
    into an uploaded file or a data folder (:mod:`fleetform.stackfile.projectfiles`).
    ``~`` would be this machine's home, not the host's: refused.
    """
    if source.startswith("~"):
        raise ValueError(
            f"the bind-mount source `{source}` starts with `~`, which would be this "
            "machine's home folder, not the host's; write the absolute path on the host, "
            "or a path relative to the project folder (`./...`) to upload the file"
        )
    if source.startswith("/"):
        return posixpath.normpath(source), None
    rel = posixpath.normpath(source)
    real = os.path.realpath(base / rel)
    root = os.path.realpath(base)
    if rel == ".." or rel.startswith("../") or not (real == root or real.startswith(root + "/")):
        raise ValueError(
            f"the bind-mount source `{source}` is outside the project folder {base}; "
            "only files and folders of the project are uploaded (an absolute path is a "
            "path on the host)"
        )
    return None, rel


def _check_target(target: str) -> str:
    if not target.startswith("/"):
        raise ValueError(f"the container path `{target}` must be absolute (start with /)")
    target = posixpath.normpath(target)
    if target == "/":
        raise ValueError("cannot mount over the container's root folder `/`")
    return target


#: Compose's short-form options: ``cached`` and ``delegated`` are macOS file
#: sharing hints that Docker on Linux ignores, so they change nothing here.
#: ``z`` and ``Z`` relabel a bind mount's source for SELinux (shared by
#: containers, or private to this one).
MOUNT_OPTIONS = frozenset({"ro", "rw", "nocopy", "cached", "delegated", "consistent", "z", "Z"})


def _check_options(options: set[str]) -> str | None:
    """The SELinux option (``z``, ``Z``) or None; ValueError for a bad set."""
    if {"ro", "rw"} <= options:
        raise ValueError("give only one of `ro` or `rw`")
    if {"z", "Z"} <= options:
        raise ValueError("give only one of `z` (shared label) or `Z` (private label)")
    for option in sorted(options):
        if option not in MOUNT_OPTIONS:
            raise ValueError(
                f"`{option}` is not a mount option (ro, rw, nocopy, cached, delegated, z, Z)"
            )
    return next((o for o in ("z", "Z") if o in options), None)


def parse_short(text: str, base: Path) -> Mount:
    """``"./html:/usr/share/nginx/html:ro"`` -> a bind Mount; ValueError in plain words."""
    parts = text.split(":")
    if len(parts) > 3 or not all(parts):
        raise ValueError(f"`{text}` is not a valid mount (`[source:]target[:ro|rw]`)")
    options = set(parts[2].split(",")) if len(parts) == 3 else set()
    selinux = _check_options(options)
    read_only = "ro" in options
    if len(parts) == 1:
        return Mount("volume", _check_target(parts[0]))
    source, target = parts[0], _check_target(parts[1])
    if _is_host_path(source):
        if "nocopy" in options:
            raise ValueError("`nocopy` applies to volumes, not to a bind mount")
        return replace(_bind(target, source, base, read_only), selinux=selinux)
    if selinux:
        # Relabelling a volume's folder is Docker's business, not the stack's.
        raise ValueError(f"`{selinux}` (SELinux relabelling) applies to bind mounts, not volumes")
    return Mount("volume", target, source, read_only, nocopy="nocopy" in options)


def _bind(target: str, source: str, base: Path, read_only: bool) -> Mount:
    host, project = _host_path(source, base)
    if project is None:
        return Mount("bind", target, host, read_only)
    return Mount("bind", target, None, read_only, data=project, seed=base / project)


def parse_long(spec: dict[str, Any], base: Path) -> Mount:
    kind = spec["type"]
    target = _check_target(spec["target"])
    source = spec.get("source")
    read_only = bool(spec.get("read_only", False))
    size = spec.get("tmpfs", {}).get("size")
    if size is not None and kind != "tmpfs":
        raise ValueError("`tmpfs.size` only applies to `type: tmpfs`")
    if spec.get("volume") and kind != "volume":
        raise ValueError("`volume` options only apply to `type: volume`")
    if spec.get("bind") and kind != "bind":
        raise ValueError("`bind` options only apply to `type: bind`")
    if kind == "tmpfs":
        if source:
            raise ValueError("a tmpfs mount has no `source`")
        return Mount("tmpfs", target, None, read_only, parse_memory(size) if size else None)
    if kind == "bind":
        if not source:
            raise ValueError("a bind mount needs a `source` (a host path)")
        selinux = (spec.get("bind") or {}).get("selinux")
        return replace(_bind(target, source, base, read_only), selinux=selinux)
    if source and _is_host_path(source):
        raise ValueError(f"`{source}` is a host path; use `type: bind` for it")
    nocopy = bool((spec.get("volume") or {}).get("nocopy", False))
    return Mount("volume", target, source or None, read_only, nocopy=nocopy)


#: Characters Docker's ``--mount`` option reads as syntax: it is one CSV
#: record of ``key=value`` fields, so a `,` in a path starts a new field
#: (``/x,type=bind,source=/etc`` would turn a volume into a bind of /etc) and
#: quotes change how fields split.
MOUNT_SYNTAX = (",", "=", '"', "'")


def mount_text_problem(text: str) -> str | None:
    """Why ``text`` cannot be a path or volume name in ``--mount``, or None when it can."""
    bad = [c for c in MOUNT_SYNTAX if c in text]
    if bad:
        shown = " ".join(f"`{c}`" for c in bad)
        return f"contains {shown}; `,` `=` and quotes are not allowed in mount paths"
    if not text.isprintable():
        return "contains a control character; they are not allowed in mount paths"
    return None


def _check_mount_text(mount: Mount) -> None:
    """Refuse sources and targets that would change the meaning of ``--mount``."""
    sources = (("source", mount.source or ""), ("source", mount.data or ""))
    for what, text in (("container path", mount.target), *sources):
        problem = mount_text_problem(text)
        if problem:
            raise ValueError(f"the {what} `{printable(text)}` {problem}")


def parse_mounts(items: list[Any], base: Path, path: DocPath, report: Report) -> tuple[Mount, ...]:
    """All mounts of one service, sorted by container path."""
    mounts: dict[str, Mount] = {}
    for i, item in enumerate(items):
        try:
            mount = parse_short(item, base) if isinstance(item, str) else parse_long(item, base)
            _check_mount_text(mount)
        except ValueError as exc:
            report.error((*path, i), str(exc))
            continue
        if mount.target in mounts:
            report.error((*path, i), f"`{mount.target}` is mounted more than once")
        mounts[mount.target] = mount
    return tuple(mounts[t] for t in sorted(mounts))
