"""The last verify result of each stack on a host, kept next to its revisions.

``<REVISIONS_DIR>/<stack>/verify.json`` (0600, root): when the checks ran,
whether they passed, how many, which failed (resource and check names
only: expected and actual values may show environment values), and the
commit verified.  ``fleetform reconcile`` writes it after verifying;
``fleetform status`` reads it.

Example::

    >>> doc = {"ok": True, "checks": 3, "failed": [], "at": "2026-01-01T00:00:00Z"}
    >>> parse_verified(f"verify demo {canonical(doc)}")["demo"]["ok"]
    True
"""

from __future__ import annotations

import base64
import json
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from fleetform.revisions import REVISIONS_DIR
from fleetform.revisions.document import canonical
from fleetform.revisions.host import stack_dir

VERIFY_FILE = "verify.json"


def write_verified_script(results: Mapping[str, Mapping[str, Any]]) -> str:
    """Write each stack's result (stack -> document), atomically (a rename)."""
    lines = ["umask 077"]
    for stack, doc in sorted(results.items()):
        folder = shlex.quote(stack_dir(stack))
        # base64: the document's text reaches the file byte for byte, whatever it holds
        data = base64.b64encode(canonical(doc).encode()).decode()
        lines.append(
            f"install -d -m 700 {folder} && "
            f"echo {data} | base64 -d > {folder}/.{VERIFY_FILE}.$$ && "
            f"mv -f {folder}/.{VERIFY_FILE}.$$ {folder}/{VERIFY_FILE} || exit 1"
        )
    return "\n".join(lines)


def read_verified_lines(stacks: Iterable[str] = ()) -> str:
    """Print ``verify <stack> <json>`` for each stack (every stack when none is named)
    that has a result."""
    names = list(stacks)
    folders = (
        " ".join(shlex.quote(stack_dir(s)) for s in names)
        if names
        else f"{shlex.quote(REVISIONS_DIR)}/*"
    )
    return (
        f'for d in {folders}; do [ -f "$d/{VERIFY_FILE}" ] && '
        f'printf \'verify %s %s\\n\' "${{d##*/}}" "$(cat "$d/{VERIFY_FILE}")"; done; true'
    )


def parse_verified(text: str) -> dict[str, dict[str, Any]]:
    """stack -> its last verify document, from :func:`read_verified_lines`' output."""
    out: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) != 3 or parts[0] != "verify":
            continue
        try:
            doc = json.loads(parts[2])
        except ValueError:
            continue
        if isinstance(doc, dict):
            out[parts[1]] = doc
    return out


def stack_of(resource: str, stacks: Iterable[str]) -> str | None:
    """The stack a verify check's resource (``<stack>-<service>-<n>``) belongs to.

    The longest matching name wins: ``shop-api`` over ``shop`` for ``shop-api-web-1``.

    >>> stack_of("shop-api-web-1", ["shop", "shop-api"])
    'shop-api'
    """
    found = [s for s in stacks if resource == s or resource.startswith(f"{s}-")]
    return max(found, key=len) if found else None


def verified_documents(
    checks: Iterable[Mapping[str, Any]], stacks: Iterable[str], at: str, commit: str | None
) -> dict[str, dict[str, Any]]:
    """stack -> the document to keep, from one host's check results (``as_dict`` form)."""
    names = list(stacks)
    docs: dict[str, dict[str, Any]] = {
        s: {"at": at, "commit": commit, "ok": True, "checks": 0, "failed": []} for s in names
    }
    for check in checks:
        stack = stack_of(str(check.get("resource", "")), names)
        if stack is None:
            continue
        doc = docs[stack]
        doc["checks"] += 1
        if not check.get("ok"):
            doc["ok"] = False
            doc["failed"].append(f"{check.get('resource')} {check.get('check')}")
    return docs
