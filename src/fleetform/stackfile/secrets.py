"""Compose secrets: the top-level ``secrets`` (read, and decrypted, here) and a service's mounts.

A secret's content is read on the machine running fleetform, from a file (a
SOPS-encrypted one is decrypted in memory, see :mod:`fleetform.stackfile.sops`)
or from an environment variable there.  A service mounts it read-only at
``/run/secrets/<target>``::

    >>> from fleetform.stackfile.problems import Report
    >>> db, api = parse_secret_mounts(["db", {"source": "api", "target": "x", "mode": "0400"}],
    ...     ("services", "web", "secrets"), Report("s.yml"))
    >>> db.target, oct(db.mode), api.target, oct(api.mode)
    ('/run/secrets/db', '0o444', '/run/secrets/x', '0o400')
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fleetform.model import SECRETS_DIR, Secret, SecretMount, Stack
from fleetform.stackfile.files import InputFileError, read_small_file
from fleetform.stackfile.parts import Rejected
from fleetform.stackfile.problems import DocPath, Report
from fleetform.stackfile.sops import SopsError, read_maybe_sops

#: A secret is a password, a key or a certificate: a larger file is a mistake.
MAX_SECRET_BYTES = 1024 * 1024

_BAD_TARGET = re.compile(r'[,="\'\x00-\x1f\x7f]')
_OCTAL = re.compile(r"^(0o?)?[0-7]{1,4}$")


def _read_file(given: str, base: Path, path: DocPath, report: Report) -> tuple[bytes, bool] | None:
    file = base / os.path.expanduser(given)
    shown = f"secret file `{given}`"
    try:
        data = read_small_file(file, MAX_SECRET_BYTES, "secret files")
        return read_maybe_sops(data, shown)
    except InputFileError as exc:
        report.error(path, exc.describe(shown))
    except SopsError as exc:
        report.error(path, str(exc))
    return None


def build_secret(
    key: str,
    spec: dict[str, Any],
    base: Path,
    report: Report,
    environ: Mapping[str, str] | None = None,
) -> Secret | None:
    """One top-level ``secrets`` entry (schema-valid: exactly one of ``file``/``environment``)."""
    environ = os.environ if environ is None else environ
    path: DocPath = ("secrets", key)
    if "environment" in spec:
        name = spec["environment"]
        if name not in environ:
            report.error(
                (*path, "environment"),
                f"the environment variable `{name}` is not set on this machine",
            )
            return None
        return Secret(key, environ[name].encode(), f"environment {name}")
    read = _read_file(spec["file"], base, (*path, "file"), report)
    if read is None:
        return None
    content, encrypted = read
    return Secret(key, content, f"file {spec['file']}", sops=encrypted)


def build_secrets(spec: dict[str, Any] | None, base: Path, report: Report) -> tuple[Secret, ...]:
    out = []
    for key, entry in sorted((spec or {}).items()):
        if key.startswith("x-"):
            continue
        secret = build_secret(key, entry, base, report)
        if secret is not None:
            out.append(secret)
    return tuple(out)


def parse_mode(value: Any) -> int | None:
    """Compose's octal mode: a string (``"0440"``), or a YAML int written with a
    leading ``0`` or ``0o``; any other int is decimal (``292`` is ``0o444``), as
    YAML reads it.  None when it is not a mode up to ``0o777``.

    >>> [parse_mode(v) for v in ("0440", "0o600", 288, "0999", 4096)]
    [288, 384, 288, None, None]
    """
    text = value if isinstance(value, str) else getattr(value, "source_text", "")
    if text and not (isinstance(value, str) or text.lower().startswith("0")):
        text = ""  # a decimal int
    if isinstance(value, bool):
        return None
    if text:
        if not _OCTAL.fullmatch(text.lower()):
            return None
        mode = int(text.lower().removeprefix("0o"), 8)
    elif isinstance(value, int) and not isinstance(value, bool):
        mode = value
    else:
        return None
    return mode if 0 <= mode <= 0o777 else None


def _target(source: str, given: str | None, path: DocPath, report: Report) -> str:
    target = given if given is not None else source
    full = target if target.startswith("/") else f"{SECRETS_DIR}/{target}"
    normal = posixpath.normpath(full)
    if ".." in full.split("/") or normal in ("/", SECRETS_DIR):
        report.error(path, f"`{target}` is not a file path a secret can be mounted at")
    elif _BAD_TARGET.search(full):
        # `docker create --mount` reads comma-separated fields.
        report.error(
            path, "a secret's target may not contain `,`, `=`, a quote or control characters"
        )
    return normal


def parse_secret_mounts(raw: list[Any], path: DocPath, report: Report) -> tuple[SecretMount, ...]:
    """A service's ``secrets`` list (short and long forms), in the stack file's order."""
    out: list[SecretMount] = []
    for i, item in enumerate(raw):
        spec: dict[str, Any] = {"source": item} if isinstance(item, str) else item
        where: DocPath = (*path, i)
        source = str(spec["source"])
        target = _target(source, spec.get("target"), (*where, "target"), report)
        mode = 0o444
        if "mode" in spec:
            parsed = parse_mode(spec["mode"])
            if parsed is None:
                shown = getattr(spec["mode"], "source_text", "") or spec["mode"]
                report.error(
                    (*where, "mode"),
                    f"`{shown}` is not a file mode: octal digits up to 0777, such as `0440`",
                )
            else:
                mode = parsed
        out.append(
            SecretMount(source, target, int(spec.get("uid", 0)), int(spec.get("gid", 0)), mode)
        )
    return tuple(out)


def check_secret_mounts(
    stack: Stack, raw: dict[str, Any], report: Report, rejected: Rejected
) -> None:
    """Every mounted secret is declared; no two mounts (secrets or volumes) share a target."""
    listed = sorted(k for k in (raw.get("secrets") or {}) if not k.startswith("x-"))
    for svc in stack.services:
        # A volume, bind or tmpfs at a secret's path would hide it, or it them.
        used: dict[str, str] = {m.target: f"a volume at `{m.target}`" for m in svc.volumes}
        for i, mount in enumerate(svc.secrets):
            path: DocPath = ("services", svc.name, "secrets", i)
            if mount.source not in listed and not rejected.has("secrets", mount.source):
                report.error(
                    path,
                    f"secret `{mount.source}` is not in the stack's `secrets` "
                    f"(secrets: {', '.join(listed) or 'none'})",
                )
            if mount.target in used:
                report.error(
                    path,
                    f"secret `{mount.source}` is mounted at `{mount.target}`, where "
                    f"{used[mount.target]} is too; give one of them another `target`",
                )
            used.setdefault(mount.target, f"secret `{mount.source}`")
