"""A service's environment: ``env_file``, ``environment``, pass-through, and what is secret."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetform.model import Pairs
from fleetform.stackfile.files import InputFileError, read_small_file
from fleetform.stackfile.keyvalue import list_or_map
from fleetform.stackfile.problems import DocPath, Report

MAX_ENV_FILE_BYTES = 1024 * 1024

_SECRET_PARTS = {
    "PASSWORD", "PASSWD", "PASS", "SECRET", "SECRETS", "TOKEN", "TOKENS", "KEY", "APIKEY",
    "CREDENTIAL", "CREDENTIALS", "PRIVATE", "AUTH", "DSN",
}  # fmt: skip
_SECRET_SUBSTRINGS = ("PASSWORD", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE_KEY", "APIKEY")


def looks_secret(name: str) -> bool:
    """``DB_PASSWORD``, ``API_KEY``, ``GITHUB_TOKEN`` look secret; ``LOG_LEVEL`` does not."""
    upper = name.upper()
    parts = set(re.split(r"[^A-Z0-9]+", upper))
    return bool(parts & _SECRET_PARTS) or any(s in upper for s in _SECRET_SUBSTRINGS)


@dataclass(frozen=True)
class Environment:
    pairs: Pairs
    secret_keys: frozenset[str]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        inner = value[1:-1]
        return inner.replace("\\n", "\n").replace('\\"', '"') if value[0] == '"' else inner
    # An unquoted value ends at a " #" comment, as in Compose.
    return value.split(" #", 1)[0].rstrip()


def read_env_file(path: Path, shown: str | None = None) -> dict[str, str]:
    """``KEY=VALUE`` lines; ``#`` comments, blank lines and ``export`` are allowed.

    Raises ValueError in plain words (naming the line) for anything else;
    ``shown`` is the file's name as the stack file writes it.
    """
    shown = shown or str(path)
    try:
        text = read_small_file(path, MAX_ENV_FILE_BYTES, "env files").decode("utf-8-sig")
    except InputFileError as exc:
        raise ValueError(exc.describe(f"env_file `{shown}`")) from None
    except UnicodeDecodeError:
        raise ValueError(f"env_file `{shown}` is not UTF-8 text") from None
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", key):
            raise ValueError(f"env_file `{shown}` line {number}: expected KEY=VALUE")
        values[key] = _unquote(value.strip())
    return values


def _env_files(spec: Any) -> list[tuple[str, bool]]:
    items = [spec] if isinstance(spec, str) else list(spec or [])
    return [
        (i, True) if isinstance(i, str) else (i["path"], i.get("required", True)) for i in items
    ]


def build_environment(
    service: dict[str, Any],
    base: Path,
    path: DocPath,
    report: Report,
    environ: Mapping[str, str] | None = None,
) -> Environment:
    """Merge ``env_file`` (in order) then ``environment``, which wins, as in Compose."""
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    secret: set[str] = set()
    for i, (name, required) in enumerate(_env_files(service.get("env_file"))):
        file = base / os.path.expanduser(name)
        if not required and not file.exists():
            continue
        try:
            from_file = read_env_file(file, name)
        except ValueError as exc:
            where = (
                (*path, "env_file")
                if isinstance(service["env_file"], str)
                else (*path, "env_file", i)
            )
            report.error(where, str(exc))
            continue
        values.update(from_file)
        secret.update(from_file)  # env_file values are secret by definition
    declared = list_or_map(service.get("environment"), (*path, "environment"), report)
    for key, value in declared.items():
        if value is None:
            # Passed through from the control machine; unset there means unset here.
            if key in environ:
                values[key] = environ[key]
                secret.add(key)
        else:
            values[key] = value
            secret.discard(key)
    secret.update(k for k in values if looks_secret(k))
    return Environment(tuple(sorted(values.items())), frozenset(secret & set(values)))
