"""Compose ``configs``: the top-level entries (read here) and a service's mounts of them.

A config is read on the machine running fleetform (a file, inline
``content``, or an environment variable there) and travels as project files
do (:class:`~fleetform.model.ProjectFile`): uploaded to a managed folder on
each host, mounted read-only, its digest in the container's label.  Configs
are not secret (use ``secrets``), so their digests are plain sha256.  A
service mounts one at ``/<key>`` unless it says where::

    >>> from fleetform.stackfile.problems import Report
    >>> report = Report("s.yml")
    >>> configs = {"app": ConfigContent(b"x", "content")}
    >>> [(f.origin, f.target, oct(f.mode or 0)) for f in
    ...  config_files(["app"], configs, ("services", "web", "configs"), report)]
    [('config app', '/app', '0o444')]
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fleetform.model import ProjectFile, Service
from fleetform.stackfile.files import InputFileError, read_small_file
from fleetform.stackfile.mounts import mount_text_problem
from fleetform.stackfile.problems import DocPath, Report
from fleetform.stackfile.projectfiles import MAX_PROJECT_BYTES, split_project_mounts
from fleetform.stackfile.secrets import parse_mode


@dataclass(frozen=True)
class ConfigContent:
    content: bytes = field(repr=False)
    origin: str  # file ./x, content, environment X


#: Variables that carry fleetform's own credentials (reconcile, agents):
#: never a config's content.
_OWN_VARIABLES = ("FLEETFORM_", "SOPS_")


def _outside_project(given: str, base: Path) -> str | None:
    """Why the config file ``given`` is not a file of the project, if it is not.

    As for relative bind mounts: a config is uploaded to the hosts, so only
    the project's files may be (not any file of this machine).
    """
    if given.startswith("~"):
        return (
            "starts with `~`, this machine's home folder; "
            "configs are read from the project folder: give a path inside it"
        )
    real = os.path.realpath(base / given)
    root = os.path.realpath(base)
    if not (real == root or real.startswith(root.rstrip("/") + "/")):
        return (
            f"is outside the project folder {base} (or a link leading out of it); "
            "only files of the project are uploaded"
        )
    return None


def build_configs(
    spec: dict[str, Any] | None,
    base: Path,
    report: Report,
    environ: Mapping[str, str] | None = None,
) -> dict[str, ConfigContent]:
    """The top-level ``configs`` by key (schema-valid: exactly one source each)."""
    environ = os.environ if environ is None else environ
    out: dict[str, ConfigContent] = {}
    for key, entry in sorted((spec or {}).items()):
        if key.startswith("x-"):
            continue
        path: DocPath = ("configs", key)
        if "content" in entry:
            out[key] = ConfigContent(str(entry["content"]).encode(), "content")
        elif "environment" in entry:
            name = entry["environment"]
            if name.startswith(_OWN_VARIABLES):
                report.error(
                    (*path, "environment"),
                    f"`{name}` is one of fleetform's own variables (FLEETFORM_*, SOPS_*), "
                    "which carry its credentials; a config is uploaded world-readable: "
                    "use another variable",
                )
                continue
            if name not in environ:
                report.error(
                    (*path, "environment"),
                    f"the environment variable `{name}` is not set on this machine",
                )
                continue
            out[key] = ConfigContent(environ[name].encode(), f"environment {name}")
        else:
            given = entry["file"]
            problem = _outside_project(str(given), base)
            if problem:
                report.error((*path, "file"), f"the config file `{given}` {problem}")
                continue
            try:
                data = read_small_file(base / given, MAX_PROJECT_BYTES, "config files")
            except InputFileError as exc:
                report.error((*path, "file"), exc.describe(f"config file `{given}`"))
                continue
            out[key] = ConfigContent(data, f"file {given}")
    return out


def _target(source: str, given: str | None, path: DocPath, report: Report) -> str:
    target = posixpath.normpath("/" + (given if given is not None else source).lstrip("/"))
    problem = mount_text_problem(target)
    if target == "/" or ".." in (given or "").split("/"):
        report.error(path, f"`{given}` is not a file path a config can be mounted at")
    elif problem:
        report.error(path, f"the config target `{target}` {problem}")
    return target


def _mode(spec: dict[str, Any], where: DocPath, report: Report) -> int:
    if "mode" not in spec:
        return 0o444
    parsed = parse_mode(spec["mode"])
    if parsed is None:
        shown = getattr(spec["mode"], "source_text", "") or spec["mode"]
        report.error(
            (*where, "mode"),
            f"`{shown}` is not a file mode: octal digits up to 0777, such as `0440`",
        )
        return 0o444
    return parsed


def config_files(
    raw: list[Any], configs: Mapping[str, ConfigContent], path: DocPath, report: Report
) -> list[ProjectFile]:
    """A service's ``configs`` list (short and long forms) as files to upload."""
    out: list[ProjectFile] = []
    for i, item in enumerate(raw):
        spec: dict[str, Any] = {"source": item} if isinstance(item, str) else item
        where: DocPath = (*path, i)
        source = str(spec["source"])
        config = configs.get(source)
        target = _target(source, spec.get("target"), (*where, "target"), report)
        mode = _mode(spec, where, report)
        if config is None:
            report.error(
                where,
                f"config `{source}` is not in the stack's `configs` "
                f"(configs: {', '.join(sorted(configs)) or 'none'})",
            )
            continue
        digest = "sha256:" + hashlib.sha256(config.content).hexdigest()
        out.append(
            ProjectFile(
                f"config {source}",
                target,
                digest,
                posixpath.basename(target),
                content=config.content,
                uid=int(spec.get("uid", 0)),
                gid=int(spec.get("gid", 0)),
                mode=mode,
            )
        )
    return out


def with_project_files(
    svc: Service, spec: dict[str, Any], configs: Mapping[str, ConfigContent], report: Report
) -> Service:
    """``svc`` with its project-path mounts sorted out and its configs attached."""
    path: DocPath = ("services", svc.name)
    svc = split_project_mounts(svc, (*path, "volumes"), report)
    files = config_files(spec.get("configs") or [], configs, (*path, "configs"), report)
    if files:
        svc = replace(svc, files=tuple(sorted((*svc.files, *files), key=lambda f: f.target)))
    _check_targets(svc, path, report)
    return svc


def _check_targets(svc: Service, path: DocPath, report: Report) -> None:
    """No two of a service's volumes, project files, configs and secrets share a target."""
    seen = {m.target for m in svc.volumes} | {s.target for s in svc.secrets}
    for f in svc.files:
        if f.target in seen:
            report.error(
                path,
                f"{f.origin} is mounted at `{f.target}`, where something else is mounted "
                "too; give one of them another target",
            )
        seen.add(f.target)
