"""A Compose file read as a stack file: ``version``, ``name`` and ``x-fleetform``.

This runs on the interpolated document, before the schema check:

- ``version`` is optional.  fleetform's ``1`` is kept; Compose's ``"2"``,
  ``"3.8"`` and the like are obsolete in Compose itself, and are dropped with a
  warning, as ``docker compose`` does.
- ``name`` is optional: it is derived from the project directory (the stack
  file's folder) as Compose derives a project name.
- fleetform's own keys may be written under ``x-fleetform`` (top level, and per
  service), so the file stays valid for ``docker compose``; they are lifted to
  where fleetform reads them, keeping their lines for messages.
- Compose keys a plain engine reads as other keys (``scale``,
  ``deploy.restart_policy``...) are translated (:mod:`fleetform.stackfile.plainengine`).
- Compose's deprecated ``external: {name: N}`` is read as ``name: N``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fleetform.stackfile.plainengine import plain_engine_keys
from fleetform.stackfile.problems import DocPath, Report

EXTENSION = "x-fleetform"
TOP_KEYS = ("hosts", "engine")
SERVICE_KEYS = ("hosts", "state", "pull", "proxy", "image_archive")

_COMPOSE_VERSION = re.compile(r"^[23](\.[0-9]+)*$")


def project_name(folder: str) -> str:
    """The stack name Compose derives from a folder name ("" when none is left).

    >>> project_name("My Shop.v2"), project_name("__x"), project_name("!!!")
    ('myshopv2', 'x', '')
    """
    name = re.sub(r"[^a-z0-9_-]", "", folder.lower())
    return re.sub(r"^[^a-z0-9]+", "", name)


def prepare_compose(data: Any, source: Path, report: Report) -> Any:
    """Apply the rules above to one document (a mapping); problems go to ``report``."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    _version(data, report)
    _lift(data, (), TOP_KEYS, report)
    for section in ("networks", "volumes", "secrets", "configs"):
        _legacy_external(data, section, report)
    services = data.get("services")
    if isinstance(services, dict):
        data["services"] = {
            key: _service(dict(spec), ("services", key), report) if isinstance(spec, dict) else spec
            for key, spec in services.items()
        }
    if "name" not in data:
        folder = source.resolve().parent.name
        name = project_name(folder)
        if name:
            data["name"] = name
        else:
            report.error(
                (),
                f"no `name`, and none can be derived from the folder name `{folder}` "
                "(Compose keeps lower-case letters, digits, `_` and `-`); set `name`",
            )
    return data


def _service(spec: dict[str, Any], path: DocPath, report: Report) -> dict[str, Any]:
    return plain_engine_keys(_lift(spec, path, SERVICE_KEYS, report), path, report)


def _version(data: dict[str, Any], report: Report) -> None:
    if "version" not in data:
        return
    version = data["version"]
    text = getattr(version, "source_text", "") or str(version)
    if version != 1 and not isinstance(version, bool) and _COMPOSE_VERSION.fullmatch(text):
        report.warn(
            ("version",),
            f"`version: {text}` is Compose's obsolete file version; it is ignored",
        )
        del data["version"]


def _legacy_external(data: dict[str, Any], section: str, report: Report) -> None:
    """Rewrite Compose's deprecated ``external: {name: N}`` as ``external: true`` + ``name: N``."""
    objects = data.get(section)
    if not isinstance(objects, dict):
        return
    for key, spec in list(objects.items()):
        if not (isinstance(spec, dict) and isinstance(spec.get("external"), dict)):
            continue
        path: DocPath = (section, key, "external")
        legacy = spec["external"]
        name = legacy.get("name")
        extra = sorted(k for k in legacy if k != "name")
        spec = dict(spec, external=True)  # said once: the mapping is not refused again
        if extra:
            report.error((*path, extra[0]), "`external` as a mapping takes only `name`")
        elif name is not None and "name" in spec and spec["name"] != name:
            report.error(path, "`external.name` and `name` differ; keep `name`")
        else:
            report.warn(path, "`external.name` is Compose's deprecated form; read as `name`")
            if name is not None:
                spec["name"] = name
                _copy_marks(report, (*path, "name"), (section, key, "name"))
        objects = dict(objects, **{key: spec})
    data[section] = objects


def _lift(
    spec: dict[str, Any], path: DocPath, allowed: tuple[str, ...], report: Report
) -> dict[str, Any]:
    """Move the keys of ``spec[x-fleetform]`` into ``spec``; returns ``spec``."""
    extension = spec.get(EXTENSION)
    if extension is None:
        return spec
    where: DocPath = (*path, EXTENSION)
    if not isinstance(extension, dict):
        report.error(where, f"`{EXTENSION}` must be a mapping of fleetform keys")
        return spec
    for key, value in extension.items():
        if key.startswith("x-"):
            continue
        if key not in allowed:
            shown = ", ".join(f"`{k}`" for k in allowed)
            report.error(
                (*where, key), f"`{key}` is not a fleetform key here (one of {shown})", at_key=True
            )
            continue
        if key in spec:
            report.error(
                (*where, key),
                f"`{key}` is given both here and as `{key}` beside `{EXTENSION}`; keep one",
                at_key=True,
            )
            continue
        spec[key] = value
        _copy_marks(report, (*where, key), (*path, key))
    del spec[EXTENSION]
    return spec


def _copy_marks(report: Report, old: DocPath, new: DocPath) -> None:
    for marks in (report.value_marks, report.key_marks):
        for path, mark in list(marks.items()):
            if path[: len(old)] == old:
                marks.setdefault((*new, *path[len(old) :]), mark)
    for path in list(report.interpolated):
        if path[: len(old)] == old:
            report.interpolated.add((*new, *path[len(old) :]))
