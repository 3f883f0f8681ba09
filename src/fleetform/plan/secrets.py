"""A container's mounted secrets in the plan: by keyed digest only, never by value.

A container that mounts secrets records them in its ``fleetform.secrets``
label (:func:`secrets_label`): per secret, where it is mounted (target, uid,
gid, mode) and the HMAC-SHA256 of its content under the host's digest key
(:func:`content_digest`; the key is the one revisions use, root-only on the
host).  Anyone who can ``docker inspect`` reads the label, and a plain hash of
a weak password could be guessed back: a keyed digest cannot be checked
without the key.  The plan compares the label with what the stack wants now
(:func:`secret_changes`), so a changed secret recreates exactly the
containers that mount it, and the plan reads::

    >>> key = b"k" * 32
    >>> want = (DesiredSecret("db", "/run/secrets/db", content=b"new"),)
    >>> secret_changes(want, secrets_label(want, key), key)
    []
    >>> old = secrets_label((DesiredSecret("db", "/run/secrets/db", content=b"old"),), key)
    >>> [str(c) for c in secret_changes(want, old, key)]
    ['secret db changed (digest): 8b6d3d287f96 -> 17ba2042ad3a']
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from fleetform.model import SecretMount, Stack
from fleetform.plan.diff import FieldChange
from fleetform.plan.jsonlabel import label_entries
from fleetform.secrets import SECRET_FILES_DIR

#: the prefix of a secret content's digest
DIGEST_PREFIX = "hmac-sha256:"
_SHORT = 12


@dataclass(frozen=True)
class DesiredSecret:
    """One secret a container mounts; ``content`` is the plaintext, never in a repr."""

    name: str
    target: str
    uid: int = 0
    gid: int = 0
    mode: int = 0o444
    content: bytes = field(default=b"", repr=False)


def desired_secrets(stack: Stack, mounts: tuple[SecretMount, ...]) -> tuple[DesiredSecret, ...]:
    """The secrets of ``mounts`` with their content, sorted by target."""
    out = [
        DesiredSecret(m.source, m.target, m.uid, m.gid, m.mode, stack.secret(m.source).content)
        for m in mounts
    ]
    return tuple(sorted(out, key=lambda s: s.target))


def content_digest(key: bytes, name: str, content: bytes) -> str:
    """HMAC-SHA256 of ``name``, NUL, ``content`` under the host's ``key``.

    >>> d = content_digest(b"k" * 32, "db", b"hunter2")
    >>> d.startswith(DIGEST_PREFIX), d == content_digest(b"x" * 32, "db", b"hunter2")
    (True, False)
    """
    mac = hmac.new(key, name.encode() + b"\0" + content, hashlib.sha256)
    return DIGEST_PREFIX + mac.hexdigest()


def _entry(secret: DesiredSecret, key: bytes) -> dict[str, Any]:
    return {
        "target": secret.target,
        "uid": secret.uid,
        "gid": secret.gid,
        "mode": f"{secret.mode:04o}",
        "digest": content_digest(key, secret.name, secret.content),
    }


def secrets_label(secrets: tuple[DesiredSecret, ...], key: bytes) -> str:
    """The ``fleetform.secrets`` label: compact JSON by target, digests and no values."""
    entries = {s.target: {"name": s.name, **_entry(s, key)} for s in secrets}
    return json.dumps(entries, sort_keys=True, separators=(",", ":"))


def parse_secrets_label(text: str | None) -> dict[str, dict[str, Any]]:
    """The label's entries by target; empty for a missing or unreadable label."""
    return label_entries(text)


def _short(digest: object) -> str:
    text = str(digest or "")
    return text.removeprefix(DIGEST_PREFIX)[:_SHORT] or "(none)"


def _mounted(entry: dict[str, Any]) -> str:
    owner = f"uid {entry.get('uid')}, gid {entry.get('gid')}, mode {entry.get('mode')}"
    return f"{entry.get('target')} ({owner})"


def secret_changes(
    want: tuple[DesiredSecret, ...], have_label: str | None, key: bytes
) -> list[FieldChange]:
    """What differs between the secrets a container should mount and its label says it has.

    Each is a recreate (a mounted file changes only with a new container).
    """
    have = parse_secrets_label(have_label)
    wanted = {s.target: s for s in want}
    changes = []
    for target in sorted(wanted.keys() | have.keys()):
        secret, old = wanted.get(target), have.get(target)
        if secret is None:
            gone = old or {}
            changes.append(FieldChange(f"secret {gone.get('name')}", _mounted(gone), None))
            continue
        new = {"name": secret.name, **_entry(secret, key)}
        path = f"secret {secret.name}"
        if old is None:
            changes.append(FieldChange(path, None, _mounted(new)))
        elif {k: v for k, v in old.items() if k != "digest"} != {
            k: v for k, v in new.items() if k != "digest"
        }:
            changes.append(FieldChange(path, _mounted(old), _mounted(new)))
        elif old.get("digest") != new["digest"]:
            old_digest, new_digest = _short(old.get("digest")), _short(new["digest"])
            changes.append(FieldChange(f"{path} changed (digest)", old_digest, new_digest))
    return changes


def host_files(
    name: str, secrets: tuple[DesiredSecret, ...], label: str
) -> tuple[tuple[DesiredSecret, str], ...]:
    """Each secret of container ``name`` with the path of its file on the host.

    The path holds the keyed digest, so a container's previous version (kept
    for a rollback) keeps its own file while the new one gets the new content::

        >>> s = DesiredSecret("db", "/run/secrets/db", content=b"x")
        >>> host_files("demo-web-1", (s,), secrets_label((s,), b"k" * 32))[0][1]
        '/run/fleetform/secrets/demo-web-1/a89335558767cc97_run_secrets_db'
    """
    entries = parse_secrets_label(label)
    out = []
    for secret in secrets:
        digest = str(entries.get(secret.target, {}).get("digest", ""))
        short = digest.removeprefix(DIGEST_PREFIX)[:16]
        out.append((secret, f"{SECRET_FILES_DIR}/{name}/{short}{secret.target.replace('/', '_')}"))
    return tuple(out)


def missing_files(
    name: str, secrets: tuple[DesiredSecret, ...], label: str, present: frozenset[str] | None
) -> list[FieldChange]:
    """The secrets whose file the host lost (a reboot empties its tmpfs): a recreate
    uploads them again.  Nothing when the host's files were not listed."""
    if present is None:
        return []
    return [
        FieldChange(f"secret {secret.name}", "file missing on the host", "uploaded again")
        for secret, path in host_files(name, secrets, label)
        if path not in present
    ]
