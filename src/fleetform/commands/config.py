"""``fleetform config STACK... [--format yaml|json] [--env-file F]``: the resolved stack.

It answers "what will fleetform do with my file?" as ``docker compose config``
does: variables interpolated (environment, ``.env`` or ``--env-file``), the
name derived when the file has none, Compose's obsolete ``version`` dropped,
``x-fleetform`` keys moved to where fleetform reads them, and each service's
``environment`` resolved (``env_file`` entries merged in, pass-through
entries filled in).  Secret values (see :mod:`fleetform.secrets`) are shown
as ``(secret)``.  Several files give several YAML documents, or a JSON array.
Problems are listed as ``validate`` lists them, with exit code 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from fleetform.model import Mount, Port
from fleetform.secrets import SECRET, is_secret
from fleetform.stackfile import Problem, StackFileError
from fleetform.stackfile.checks import Loaded
from fleetform.stackfile.loader import load_checked

#: Top-level keys first in this order, as ``docker compose config`` prints ``name`` first.
_TOP = ("name", "hosts", "engine", "services", "networks", "volumes")


def _plain(value: Any) -> Any:
    """Plain YAML/JSON values: numbers that remember their text become plain numbers,
    and mappings are sorted by key."""
    if isinstance(value, dict):
        return {k: _plain(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        # Escaped again, so the output reads back as the same values (as Compose does).
        return value.replace("$", "$$")
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def _env_files(spec: Any, base: Path) -> list[dict[str, Any]]:
    """Long form with absolute paths, as ``docker compose config`` prints them."""
    items = [spec] if isinstance(spec, str) else list(spec)
    out = []
    for item in items:
        entry = {"path": item} if isinstance(item, str) else dict(item)
        entry["path"] = str(base / os.path.expanduser(entry["path"].replace("$$", "$"))).replace(
            "$", "$$"
        )
        entry.setdefault("required", True)
        out.append(entry)
    return out


def _port(port: Port) -> dict[str, Any]:
    """The long form, as ``docker compose config`` prints ports (ranges expanded)."""
    out: dict[str, Any] = {"target": port.target, "protocol": port.protocol}
    if port.published_last is not None:
        out["published"] = port.published_text  # a range, as `docker compose config` says it
    elif port.published is not None:
        out["published"] = port.published
    if port.host_ip:
        out["host_ip"] = port.host_ip
    return dict(sorted(out.items()))


def _mount(mount: Mount) -> dict[str, Any]:
    out: dict[str, Any] = {"type": mount.type, "target": mount.target}
    # A project path stays relative (Compose prints it absolute, but here an
    # absolute source is a path on the host: the output must read back the same).
    source = f"./{mount.data}" if mount.data is not None else mount.source
    if source:
        out["source"] = source.replace("$", "$$")
    if mount.read_only:
        out["read_only"] = True
    if mount.tmpfs_size is not None:
        out["tmpfs"] = {"size": mount.tmpfs_size}
    if mount.nocopy:
        out["volume"] = {"nocopy": True}
    if mount.selinux:
        out["bind"] = {"selinux": mount.selinux}
    return dict(sorted(out.items()))


def resolved(one: Loaded) -> dict[str, Any]:
    """The resolved document of one loaded stack, secrets masked."""
    doc = _plain(one.data)
    doc.pop("version", None)
    services = doc.get("services") or {}
    for service in one.stack.services:
        spec = services.get(service.name)
        if not isinstance(spec, dict):
            continue
        env = {
            key: SECRET if is_secret(key, service.secret_keys) else value
            for key, value in service.environment
        }
        if env:
            spec["environment"] = _plain(env)
        else:
            spec.pop("environment", None)
        if "env_file" in spec:
            spec["env_file"] = _env_files(spec["env_file"], one.stack.source.resolve().parent)
        if service.ports:
            spec["ports"] = [_port(p) for p in service.ports]
        uploaded = [
            Mount("bind", f.target, f.origin.rstrip("/") or ".", f.read_only, selinux=f.selinux)
            for f in service.files
            if not f.origin.startswith("config ")
        ]
        mounts = sorted([*service.volumes, *uploaded], key=lambda m: m.target)
        if mounts:
            spec["volumes"] = [_mount(m) for m in mounts]
    for key in ("networks", "volumes"):
        if isinstance(doc.get(key), dict):  # `data:` with nothing under it is `{}`
            doc[key] = {k: {} if v is None else v for k, v in doc[key].items()}
    ordered = {k: doc[k] for k in _TOP if k in doc}
    ordered.update((k, v) for k, v in doc.items() if k not in ordered)
    return ordered


def render(docs: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(docs[0] if len(docs) == 1 else docs, indent=2) + "\n"
    return "---\n".join(
        yaml.safe_dump(d, sort_keys=False, default_flow_style=False, allow_unicode=True)
        for d in docs
    )


def run_config(args: argparse.Namespace) -> int:
    notices: list[Problem] = []
    try:
        loaded = load_checked(
            args.files, env_file=args.env_file, notices=notices, profiles=args.profiles
        )
    except StackFileError as err:
        for notice in notices:
            print(f"warning: {notice}", file=sys.stderr)
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return 1
    for notice in notices:
        print(f"warning: {notice}", file=sys.stderr)
    sys.stdout.write(render([resolved(one) for one in loaded], args.format))
    return 0
