"""Interpolating a whole stack document, with the project's variables.

Variables come from the control machine's environment and from the project's
``.env`` file (the project directory is the stack file's folder); the
environment wins, as in Compose.  ``--env-file F`` reads ``F`` instead of
``.env``.  Interpolation runs on the YAML values (never on keys) before the
schema check, so ``"${PORT}:80"`` or ``replicas: ${N}`` are checked as the
values they become; the few fields Compose reads as numbers or booleans are
converted when their text came from interpolation (:data:`_TYPED`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fleetform.stackfile.dotenv import DotenvError, parse_dotenv
from fleetform.stackfile.files import InputFileError, read_small_file
from fleetform.stackfile.interpolate import InterpolationError, Lookup, interpolate
from fleetform.stackfile.problems import DocPath, Report
from fleetform.stackfile.yamlread import SourceInt

MAX_DOTENV_BYTES = 1024 * 1024

_INT = "int"
_BOOL = "bool"
_FLOAT = "float"
#: Fields that hold numbers or booleans, by path (``*`` is any key or index).
_TYPED: tuple[tuple[DocPath, str], ...] = (
    (("services", "*", "deploy", "replicas"), _INT),
    (("services", "*", "scale"), _INT),
    (("services", "*", "deploy", "restart_policy", "max_attempts"), _INT),
    (("services", "*", "ports", "*", "target"), _INT),
    (("services", "*", "ports", "*", "published"), _INT),
    (("services", "*", "healthcheck", "retries"), _INT),
    (("services", "*", "ulimits", "*"), _INT),
    (("services", "*", "ulimits", "*", "soft"), _INT),
    (("services", "*", "ulimits", "*", "hard"), _INT),
    (("services", "*", "deploy", "update_config", "parallelism"), _INT),
    (("services", "*", "deploy", "rollback_config", "parallelism"), _INT),
    (("services", "*", "deploy", "update_config", "max_failure_ratio"), _FLOAT),
    (("services", "*", "deploy", "rollback_config", "max_failure_ratio"), _FLOAT),
    (("services", "*", "read_only"), _BOOL),
    (("services", "*", "stdin_open"), _BOOL),
    (("services", "*", "tty"), _BOOL),
    (("services", "*", "healthcheck", "disable"), _BOOL),
    (("services", "*", "depends_on", "*", "required"), _BOOL),
    (("services", "*", "depends_on", "*", "restart"), _BOOL),
    (("services", "*", "volumes", "*", "volume", "nocopy"), _BOOL),
    (("services", "*", "privileged"), _BOOL),
    (("services", "*", "init"), _BOOL),
    (("services", "*", "volumes", "*", "read_only"), _BOOL),
    (("networks", "*", "external"), _BOOL),
    (("networks", "*", "internal"), _BOOL),
    (("networks", "*", "attachable"), _BOOL),
    (("volumes", "*", "external"), _BOOL),
)
_TRUE = {"true", "yes", "y", "on"}
_FALSE = {"false", "no", "n", "off"}


def read_project_variables(
    project_dir: Path,
    env_file: Path | None,
    report: Report,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The project's variables: ``.env`` (or ``env_file``) overridden by the environment.

    A missing ``.env`` is no problem; a missing ``--env-file`` is.  Problems in
    the file are reported on ``report`` (the stack file's report).
    """
    environ = dict(os.environ if environ is None else environ)
    path = env_file if env_file is not None else project_dir / ".env"
    values: dict[str, str] = {}
    if env_file is not None or path.exists():
        try:
            text = read_small_file(path, MAX_DOTENV_BYTES, "env files").decode("utf-8-sig")
            values = parse_dotenv(text, environ.get, environment_wins=True)
        except InputFileError as exc:
            report.error((), exc.describe(f"the variables file `{path}`"))
        except UnicodeDecodeError:
            report.error((), f"the variables file `{path}` is not UTF-8 text")
        except DotenvError as exc:
            report.error((), f"the variables file `{path}` {exc}")
    return {**values, **environ}


def _matches(path: DocPath, pattern: DocPath) -> bool:
    return len(path) == len(pattern) and all(
        p == "*" or p == q for p, q in zip(pattern, path, strict=True)
    )


def _typed(path: DocPath, text: str) -> Any:
    kind = next((kind for pattern, kind in _TYPED if _matches(path, pattern)), None)
    if kind == _INT and re.fullmatch(r"[-+]?[0-9]+", text.strip()):
        number = SourceInt(int(text))
        number.source_text = text.strip()
        return number
    if kind == _FLOAT and re.fullmatch(r"[-+]?[0-9]*\.?[0-9]+", text.strip()):
        return float(text)
    if kind == _BOOL and text.strip().lower() in _TRUE | _FALSE:
        return text.strip().lower() in _TRUE
    return text


def interpolate_document(data: Any, lookup: Lookup, report: Report) -> Any:
    """``data`` with every string value interpolated; problems and warnings go to ``report``.

    Paths of values that took a variable's value are added to ``report.interpolated``
    (they may hold secrets).  An unset variable becomes empty, with a warning.
    """
    return _walk(data, (), lookup, report)


def _walk(value: Any, path: DocPath, lookup: Lookup, report: Report) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, (*path, k), lookup, report) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, (*path, i), lookup, report) for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value
    try:
        result = interpolate(value, lookup)
    except InterpolationError as exc:
        report.error(path, str(exc))
        return value
    for name in result.unset:
        report.warn(path, f"variable `{name}` is not set; it becomes an empty string")
    if result.used:
        report.interpolated.add(path)
    return _typed(path, result.text) if result.text != value else result.text
