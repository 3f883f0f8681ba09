"""A service's environment: ``env_file``, ``environment``, pass-through, and what is secret."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetform.escape import escape_control
from fleetform.model import Pairs
from fleetform.secrets import env_file_problem, looks_secret
from fleetform.stackfile.dotenv import DotenvError, parse_dotenv, parse_raw
from fleetform.stackfile.files import InputFileError, read_small_file
from fleetform.stackfile.interpolate import Lookup
from fleetform.stackfile.keyvalue import list_or_map
from fleetform.stackfile.problems import DocPath, Report
from fleetform.stackfile.sops import read_maybe_sops

MAX_ENV_FILE_BYTES = 1024 * 1024

#: Characters an environment name may not hold: ``=`` ends the name, ``,``
#: separates names in the ``fleetform.secret-keys`` label, and whitespace or
#: control characters break ``--env-file`` lines.
_BAD_NAME = re.compile(r"[=,\s\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Environment:
    pairs: Pairs
    #: secret keys, including pass-through keys unset on this machine: a plan
    #: made without them must still mask the value a container has.
    secret_keys: frozenset[str]


def read_env_file(
    path: Path,
    shown: str | None = None,
    lookup: Lookup | None = None,
    *,
    raw: bool = False,
) -> dict[str, str]:
    """The variables of one ``env_file``, read with Compose's dotenv rules
    (:mod:`fleetform.stackfile.dotenv`), or kept as written with ``raw``.

    ``lookup`` gives the values of variables the file interpolates or names
    bare (the control machine's environment).  Raises ValueError in plain
    words (naming the line); ``shown`` is the file's name as the stack file
    writes it.
    """
    shown = shown or str(path)
    try:
        data = read_small_file(path, MAX_ENV_FILE_BYTES, "env files")
        # A SOPS-encrypted env file is decrypted in memory (SopsError is a ValueError).
        text = read_maybe_sops(data, f"env_file `{shown}`")[0].decode("utf-8-sig")
    except InputFileError as exc:
        raise ValueError(exc.describe(f"env_file `{shown}`")) from None
    except UnicodeDecodeError:
        raise ValueError(f"env_file `{shown}` is not UTF-8 text") from None
    lines: dict[str, int] = {}
    try:
        if raw:
            values = parse_raw(text, lines)
        else:
            values = parse_dotenv(text, lookup or os.environ.get, lines=lines)
    except DotenvError as exc:
        raise ValueError(f"env_file `{shown}` {exc}") from None
    for key, value in values.items():
        # Values from an env file are secret, so they travel in an env file again.
        problem = env_file_problem(value)
        if problem:
            raise ValueError(
                f"env_file `{shown}` line {lines.get(key, 0)}: the value of `{key}` {problem}"
            )
    return values


def _env_files(spec: Any) -> list[tuple[str, bool, bool]]:
    """(path, required, raw) of each ``env_file`` entry."""
    items = [spec] if isinstance(spec, str) else list(spec or [])
    return [
        (i, True, False)
        if isinstance(i, str)
        else (i["path"], i.get("required", True), i.get("format") == "raw")
        for i in items
    ]


def _interpolated_keys(declared: Any, path: DocPath, report: Report) -> set[str]:
    """Keys of ``environment`` whose value took a variable's value by interpolation."""
    if isinstance(declared, dict):
        return {k for k in declared if (*path, k) in report.interpolated}
    return {
        str(item).partition("=")[0]
        for i, item in enumerate(declared or [])
        if (*path, i) in report.interpolated
    }


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
    for i, (name, required, raw) in enumerate(_env_files(service.get("env_file"))):
        file = base / os.path.expanduser(name)
        if not required and not file.exists():
            continue
        try:
            from_file = read_env_file(file, name, environ.get, raw=raw)
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
    passed: set[str] = set()
    for key, value in declared.items():
        if _BAD_NAME.search(key):
            report.error(
                (*path, "environment", key),
                f"environment name `{escape_control(key)}` may not contain `=`, `,`, "
                "whitespace or control characters",
            )
        if value is None:
            # Passed through from the control machine; unset there means unset here.
            passed.add(key)
            if key in environ:
                values[key] = environ[key]
        else:
            values[key] = value
            secret.discard(key)
    # `KEY: ${KEY}` is Compose's way of passing a value through, as a bare `KEY`
    # is: a value that came from the environment or `.env` may be a secret.
    secret |= passed | _interpolated_keys(
        service.get("environment"), (*path, "environment"), report
    )
    secret.update(k for k in values if looks_secret(k))
    _check_values(values, secret, passed, (*path, "environment"), report)
    return Environment(tuple(sorted(values.items())), frozenset(secret))


def _check_values(
    values: dict[str, str], secret: set[str], passed: set[str], path: DocPath, report: Report
) -> None:
    # Secret values reach the container through `docker create --env-file`
    # (never argv); a newline there would start a new KEY=VALUE line.
    for key, value in sorted(values.items()):
        if "\0" in value:
            problem: str | None = "contains a NUL character, which no environment value can hold"
        elif key in secret:
            problem = env_file_problem(value)
        else:
            continue  # a literal travels in argv (`--env`), newlines and all
        if problem:
            origin = " (from this machine's environment)" if key in passed else ""
            report.error((*path, key), f"the value of `{key}`{origin} {problem}")
