"""The docker CLI, called with argv lists (no shell) and JSON output parsed here."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from typing import Any

from fleetform.lab.config import LabError


def docker(
    *args: str, input: bytes | None = None, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run ``docker ARGS``; raise LabError with docker's message when it fails."""
    argv = ["docker", *args]
    try:
        proc = subprocess.run(
            argv,
            input=input,
            capture_output=True,
            check=False,
            env={**os.environ, **env} if env else None,
        )
    except FileNotFoundError as exc:
        raise LabError("the docker client is not installed (make apt installs docker.io)") from exc
    if check and proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip() or f"exit code {proc.returncode}"
        raise LabError(f"docker {' '.join(args[:2])} failed: {message}")
    return proc


def docker_text(*args: str) -> str:
    return docker(*args).stdout.decode().strip()


def ensure_engine() -> None:
    """Fail clearly when no Docker engine answers."""
    proc = docker("version", "--format", "{{.Server.Version}}", check=False)
    if proc.returncode != 0:
        raise LabError(
            "no Docker engine answers on /var/run/docker.sock; start one first "
            "(`make engine-local`)"
        )


def inspect(kind: str, names: Sequence[str]) -> list[dict[str, Any]]:
    """``docker KIND inspect`` of the names that exist (missing ones are left out)."""
    if not names:
        return []
    proc = docker(kind, "inspect", *names, check=False)
    out = proc.stdout.decode().strip()
    # docker prints the found objects' JSON and an error for the missing ones.
    return list(json.loads(out)) if out.startswith("[") else []


def list_ids(kind: str, labels: dict[str, str]) -> list[str]:
    """Ids/names of containers, networks or volumes carrying all ``labels``."""
    filters = [arg for k, v in labels.items() for arg in ("--filter", f"label={k}={v}")]
    if kind == "container":
        args = ["ps", "-a", "-q", "--no-trunc", *filters]
    else:
        args = [kind, "ls", "-q", *filters]
    return [line for line in docker_text(*args).splitlines() if line]


def label_args(labels: dict[str, str]) -> list[str]:
    return [arg for k, v in sorted(labels.items()) for arg in ("--label", f"{k}={v}")]
