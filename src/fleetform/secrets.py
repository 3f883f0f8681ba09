"""What is secret: the one place that decides it, for the loader, the planner and verify.

A value is secret when the stack says so (it comes from an ``env_file`` or is
passed through from the control machine) or when its name looks secret
(:func:`looks_secret`).  A container records the *names* of its secret keys
in the ``fleetform.secret-keys`` label (:func:`secret_keys_label`), so a later
plan still masks a value whose key the stack has since removed, turned into a
literal, or cannot read on the machine running ``plan``::

    >>> secret_keys_label({"DATABASE_URL", "API_TOKEN"})
    'API_TOKEN,DATABASE_URL'
    >>> sorted(parse_secret_keys_label("API_TOKEN,DATABASE_URL"))
    ['API_TOKEN', 'DATABASE_URL']
    >>> parse_secret_keys_label(None) is None  # created before the label existed
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Shown instead of a secret value, in plans and verify reports.
SECRET = "(secret)"

#: Where a host holds the files of mounted secrets: a root-only directory on
#: tmpfs (``/run``), one folder per container, bind-mounted read-only into it.
SECRET_FILES_DIR = "/run/fleetform/secrets"

_SECRET_PARTS = {
    "PASSWORD", "PASSWORDS", "PASSWD", "PASS", "PASSPHRASE", "SECRET", "SECRETS", "TOKEN",
    "TOKENS", "KEY", "KEYS", "APIKEY", "CREDENTIAL", "CREDENTIALS", "CREDS", "PRIVATE", "AUTH",
    "DSN",
}  # fmt: skip
_SECRET_SUBSTRINGS = (
    "PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE", "APIKEY",
)  # fmt: skip

#: Characters a value delivered through ``docker create --env-file`` cannot
#: hold: the file is split into lines (a newline would start a new
#: ``KEY=VALUE``, e.g. ``PATH=...``), a trailing carriage return is dropped, and
#: no environment string can hold NUL.
ENV_FILE_BREAKERS = {"\n": "a newline", "\r": "a carriage return", "\0": "a NUL character"}


def looks_secret(name: str) -> bool:
    """``DB_PASSWORD``, ``API_KEY``, ``GITHUB_TOKEN`` look secret; ``LOG_LEVEL`` does not.

    >>> [looks_secret(n) for n in ("DB_PASSWORD", "SSH_KEYS", "LOG_LEVEL", "MONKEY")]
    [True, True, False, False]
    """
    upper = name.upper()
    parts = set(re.split(r"[^A-Z0-9]+", upper))
    return bool(parts & _SECRET_PARTS) or any(s in upper for s in _SECRET_SUBSTRINGS)


def is_secret(name: str, marked: Iterable[str] | None = ()) -> bool:
    """True when ``name`` is in ``marked`` (keys known to be secret) or looks secret."""
    return name in (marked or ()) or looks_secret(name)


def env_file_problem(value: str) -> str | None:
    """Why ``value`` cannot travel in an env file, or None when it can.

    >>> env_file_problem("a\\nPATH=/tmp")
    'contains a newline, which an env file cannot carry'
    """
    for char, what in ENV_FILE_BREAKERS.items():
        if char in value:
            return f"contains {what}, which an env file cannot carry"
    return None


def secret_keys_label(keys: Iterable[str]) -> str:
    """The value of the ``fleetform.secret-keys`` label: sorted names, comma-separated.

    Names only, never values.  The loader refuses ``,`` in environment names,
    so the list splits back unambiguously.
    """
    return ",".join(sorted(set(keys)))


def parse_secret_keys_label(value: str | None) -> frozenset[str] | None:
    """The names in a ``fleetform.secret-keys`` label; None when the label is absent."""
    if value is None:
        return None
    return frozenset(k for k in value.split(",") if k)
