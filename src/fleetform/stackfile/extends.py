"""Compose's ``extends`` (a service built on another, in this file or another) and
top-level ``include`` (another Compose file's services, networks and volumes).

Both read other files of the project on the control machine: each is
interpolated with the project's variables (an included file with those of its
own folder, as Compose reads its ``.env``), and relative ``env_file`` and
``build`` paths of another folder are made absolute so they keep pointing at
the same files.  A problem in another file is reported against the stack file,
naming the other file.

    >>> from fleetform.stackfile.problems import Report
    >>> doc = {"services": {"base": {"image": "x", "environment": {"A": "1"}},
    ...                     "web": {"extends": "base", "environment": {"B": "2"}}}}
    >>> resolve(doc, Path("."), {}, Report("compose.yaml"))["services"]["web"]
    {'image': 'x', 'environment': {'A': '1', 'B': '2'}}
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fleetform.stackfile.merge import merge_documents
from fleetform.stackfile.problems import DocPath, Report
from fleetform.stackfile.variables import interpolate_document, read_project_variables
from fleetform.stackfile.yamlread import read_document

#: Top-level sections an included file adds to the stack.
SECTIONS = ("services", "networks", "volumes", "secrets")
#: How deep ``include`` and ``extends`` may chain: deeper is a loop in practice.
MAX_DEPTH = 10
#: What :func:`_extended` gives for a service whose ``extends`` failed (reported).
FAILED = object()


class _Files:
    """Other files read once each, interpolated; problems go to the stack's report."""

    def __init__(self, variables: Mapping[str, str], report: Report) -> None:
        self.variables, self.report = variables, report
        self.cache: dict[Path, Any] = {}

    def read(self, path: Path, where: DocPath, own_env: bool = False) -> Any:
        path = path.resolve()
        if path in self.cache:
            return self.cache[path]
        data, report = read_document(path, str(path))
        variables = self.variables
        if own_env and report.problems == []:
            variables = read_project_variables(path.parent, None, report)
        if not report.problems:
            data = interpolate_document(data, variables.get, report)
        for problem in report.problems:
            at = f"{problem.line}:{problem.column} " if problem.line else ""
            inside = f"{problem.path}: " if problem.path else ""
            self.report.error(where, f"in {path}: {at}{inside}{problem.message}")
        self.cache[path] = None if report.problems else data
        return self.cache[path]


def _rebased(spec: dict[str, Any], folder: Path, home: Path) -> dict[str, Any]:
    """``env_file`` and ``build`` paths of a file in ``folder``, made absolute when
    ``folder`` is not the project's own ``home``; relative bind sources made
    relative to ``home``."""
    if folder == home:
        return spec
    out = dict(spec)

    def absolute(text: str) -> str:
        return text if text.startswith("/") else posixpath.normpath(str(folder / text))

    env = out.get("env_file")
    if isinstance(env, str):
        out["env_file"] = absolute(env)
    elif isinstance(env, list):
        out["env_file"] = [
            absolute(e)
            if isinstance(e, str)
            else {**e, "path": absolute(e["path"])}
            if isinstance(e, dict) and isinstance(e.get("path"), str)
            else e
            for e in env
        ]
    volumes = out.get("volumes")
    if isinstance(volumes, list):
        out["volumes"] = [_rebased_volume(v, folder, home) for v in volumes]
    build = out.get("build")
    if isinstance(build, str):
        out["build"] = absolute(build)
    elif isinstance(build, dict) and isinstance(build.get("context", "."), str):
        out["build"] = {**build, "context": absolute(build.get("context", "."))}
    return out


def _rebased_volume(volume: Any, folder: Path, home: Path) -> Any:
    """A relative bind source of a file in ``folder``, relative to the project's ``home``.

    It stays relative (a project path, uploaded or kept as data), so the usual
    rules apply: a path that ends up outside the project is refused.

    >>> _rebased_volume("./nginx.conf:/etc/nginx.conf:ro", Path("/p/common"), Path("/p"))
    './common/nginx.conf:/etc/nginx.conf:ro'
    >>> bind = {"type": "bind", "source": "../x", "target": "/x"}
    >>> _rebased_volume(bind, Path("/p/a"), Path("/p"))["source"]
    './x'
    """

    def moved(source: str) -> str:
        if not (source == "." or source.startswith(("./", "../"))):
            return source
        rel = posixpath.normpath(posixpath.relpath(str(folder / source), str(home)))
        return rel if rel.startswith("../") or rel == ".." else f"./{rel}" if rel != "." else "."

    if isinstance(volume, str):
        source, sep, rest = volume.partition(":")
        return f"{moved(source)}{sep}{rest}" if sep else volume
    bind = isinstance(volume, dict) and volume.get("type", "volume") == "bind"
    if bind and isinstance(volume.get("source"), str):
        return {**volume, "source": moved(volume["source"])}
    return volume


def _extended(
    name: str,
    services: dict[str, Any],
    folder: Path,
    files: _Files,
    home: Path,
    trail: tuple[tuple[Path, str], ...],
) -> Any:
    """Service ``name`` of ``services`` (a file in ``folder``) with its ``extends`` resolved."""
    spec = services.get(name)
    where: DocPath = ("services", trail[0][1]) if trail else ("services", name)
    if not isinstance(spec, dict) or "extends" not in spec:
        return spec
    ref = spec["extends"]
    ref = {"service": ref} if isinstance(ref, str) else ref
    if not isinstance(ref, dict) or not isinstance(ref.get("service"), str):
        files.report.error(
            (*where, "extends"), "`extends` takes a service name, or `service` and `file`"
        )
        return FAILED
    other_folder, other = folder, services
    if isinstance(ref.get("file"), str):
        path = folder / ref["file"]
        doc = files.read(path, (*where, "extends", "file"))
        if doc is None:
            return FAILED
        other_folder = path.resolve().parent
        found = doc.get("services") if isinstance(doc, dict) else None
        other = found if isinstance(found, dict) else {}
    key = (other_folder, ref["service"])
    if key in trail or len(trail) > MAX_DEPTH:
        files.report.error((*where, "extends"), f"`extends` loops back to `{ref['service']}`")
        return FAILED
    if ref["service"] not in other:
        shown = f" in {ref['file']}" if "file" in ref else ""
        files.report.error(
            (*where, "extends", "service"), f"`{ref['service']}` is not a service{shown}"
        )
        return FAILED
    base = _extended(ref["service"], other, other_folder, files, home, (*trail, key))
    if base is FAILED:
        return FAILED
    if not isinstance(base, dict):
        return spec  # not a mapping: the schema says so
    base = _rebased(base, other_folder, home)
    own = {k: v for k, v in spec.items() if k != "extends"}
    merged = merge_documents({"services": {"s": base}}, {"services": {"s": own}})
    return merged["services"]["s"]


def _included(data: dict[str, Any], home: Path, files: _Files, depth: int) -> dict[str, Any]:
    entries = data.get("include") or []
    out = {k: v for k, v in data.items() if k != "include"}
    for i, entry in enumerate(entries if isinstance(entries, list) else [entries]):
        paths = entry.get("path") if isinstance(entry, dict) else entry
        if isinstance(entry, dict) and set(entry) - {"path"}:
            extra = sorted(set(entry) - {"path"})[0]
            files.report.error(
                ("include", i, extra), f"`include.{extra}` is not supported yet; give `path` only"
            )
        for path_text in paths if isinstance(paths, list) else [paths]:
            if not isinstance(path_text, str):
                files.report.error(("include", i), "an `include` entry is a file path")
                continue
            path = home / path_text
            doc = files.read(path, ("include", i), own_env=True)
            if not isinstance(doc, dict):
                continue
            if depth >= MAX_DEPTH:
                files.report.error(("include", i), "`include` nests too deep (a loop?)")
                continue
            folder = path.resolve().parent
            doc = _included(resolve_in(doc, folder, files), folder, files, depth + 1)
            for section in SECTIONS:
                for key, value in (doc.get(section) or {}).items():
                    if key in (out.get(section) or {}):
                        files.report.error(
                            ("include", i),
                            f"{path_text} declares {section[:-1]} `{key}`, which the stack "
                            "declares too; Compose refuses this, and so does fleetform",
                        )
                        continue
                    if section == "services" and isinstance(value, dict):
                        value = _rebased(value, folder, home)
                    out.setdefault(section, {})
                    out[section] = {**out[section], key: value}
    return out


def resolve_in(data: Any, folder: Path, files: _Files) -> Any:
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        return data
    services = data["services"]
    resolved = {name: _extended(name, services, folder, files, folder, ()) for name in services}
    # A service whose `extends` failed is left out: its problem is reported,
    # and what the schema would add about the unresolved rest is noise.
    return {**data, "services": {k: v for k, v in resolved.items() if v is not FAILED}}


def resolve(data: Any, folder: Path, variables: Mapping[str, str], report: Report) -> Any:
    """``data`` (the stack file in ``folder``, interpolated) with ``include`` and
    ``extends`` resolved."""
    files = _Files(variables, report)
    data = resolve_in(data, folder.resolve(), files)
    if isinstance(data, dict) and "include" in data:
        data = _included(data, folder.resolve(), files, 0)
    return data
