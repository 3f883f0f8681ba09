"""The host side of revisions: shell scripts and the parsing of what they print.

Three scripts, each one round trip, quoted once here:

- :func:`prepare_script` (while recording): makes the folders and this
  host's digest key when missing, and prints the key, the revision numbers
  already used, and the image ids of the stacks' containers and images;
- :func:`write_command` (while recording): moves an uploaded revision file
  into place and points ``current`` at it, each step an atomic rename;
- :func:`history_script` (``fleetform history``): prints the revisions.

Example::

    >>> parse_numbers("demo 1.json 2.json current .3.json.tmp")
    {'demo': 2}
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetform.observe.sections import Section, sectioned_script, split_sections
from fleetform.revisions import DIGEST_KEY, REVISIONS_DIR


class RevisionHostError(Exception):
    """The host's revisions cannot be read or written; the message says why."""


_NUMBERED = re.compile(r"^([0-9]+)\.json$")
_KEY = re.compile(r"^[0-9a-f]{64}$")


def stack_dir(stack: str) -> str:
    return f"{REVISIONS_DIR}/{stack}"


def _key_lines() -> str:
    key = shlex.quote(DIGEST_KEY)
    # `ln` does not replace an existing key, so two first runs at once agree on one.
    return (
        f"if [ ! -s {key} ]; then\n"
        f"  head -c 32 /dev/urandom | od -An -vtx1 | tr -d ' \\n' > {key}.$$ &&\n"
        f"  {{ ln {key}.$$ {key} 2>/dev/null; rm -f {key}.$$; }}\n"
        "fi\n"
        f"cat {key}"
    )


def digest_key_script(create: bool) -> str:
    """Print the host's digest key (hex), or nothing when it has none.

    ``create``: make it first when missing, root-only, as recording a revision
    does.  Observation asks for it only when a stack mounts secrets: their
    keyed digests (fleetform.plan.secrets) are computed with it.
    """
    if create:
        made = f"umask 077\ninstall -d -m 700 {shlex.quote(REVISIONS_DIR)}\n"
        return made + _key_lines()
    return f"cat {shlex.quote(DIGEST_KEY)} 2>/dev/null; true"


def parse_digest_key(text: str) -> str | None:
    """The key printed by :func:`digest_key_script`, or None when there is none."""
    key = text.strip()
    return key if _KEY.match(key) else None


def prepare_script(stacks: Iterable[str], containers: Iterable[str], images: Iterable[str]) -> str:
    """Folders and key (made when missing), then what recording needs to know.

    Parts: ``key`` (hex), ``numbers`` (per stack: its file names), ``containers``
    (``/name image-id``), ``images`` (``ref image-id``).
    """
    dirs = [REVISIONS_DIR, *(stack_dir(s) for s in stacks)]
    numbers = "\n".join(
        f"printf '%s ' {shlex.quote(s)}; ls -1A {shlex.quote(stack_dir(s))} | tr '\\n' ' '; echo"
        for s in stacks
    )
    names = list(containers)
    inspect = (
        "docker inspect --format '{{.Name}} {{.Image}}' "
        + " ".join(shlex.quote(n) for n in names)
        + " 2>/dev/null; true"
        if names
        else "true"
    )
    refs = "\n".join(
        f"printf '%s %s\\n' {shlex.quote(r)} "
        f"\"$(docker image inspect --format '{{{{.Id}}}}' {shlex.quote(r)} 2>/dev/null)\""
        for r in images
    )
    return sectioned_script(
        [
            (
                "key",
                f"umask 077\ninstall -d -m 700 {' '.join(map(shlex.quote, dirs))}\n" + _key_lines(),
            ),
            ("numbers", numbers or "true"),
            ("containers", inspect),
            ("images", refs or "true"),
        ]
    )


@dataclass(frozen=True)
class Prepared:
    key: bytes
    #: stack -> the highest revision number on the host (0: none yet)
    numbers: Mapping[str, int] = field(default_factory=dict)
    #: container name or image reference -> image id
    image_ids: Mapping[str, str] = field(default_factory=dict)


def parse_numbers(text: str) -> dict[str, int]:
    """``stack file...`` lines -> stack -> highest numbered revision file (0 for none)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        stack, *files = line.split()
        used = [int(m.group(1)) for f in files if (m := _NUMBERED.match(f))]
        out[stack] = max(used, default=0)
    return out


def parse_prepared(stdout: str) -> Prepared:
    parts = split_sections(stdout)
    key = parts.get("key")
    if key is None or key.rc != 0 or not _KEY.match(key.text.strip()):
        why = key.text.strip()[-300:] if key is not None else "no output"
        raise RevisionHostError(f"cannot set up {REVISIONS_DIR} on the host: {why}")
    ids: dict[str, str] = {}
    for name in ("containers", "images"):
        part = parts.get(name)
        for line in part.text.splitlines() if part is not None else ():
            ref, _, image_id = line.partition(" ")
            if image_id.strip():
                ids[ref.removeprefix("/")] = image_id.strip()
    numbers = parts.get("numbers")
    return Prepared(
        key=bytes.fromhex(key.text.strip()),
        numbers=parse_numbers(numbers.text) if numbers is not None else {},
        image_ids=ids,
    )


def numbers_script(stacks: Iterable[str]) -> str:
    """Per stack: ``<stack> <current> <file>...`` (``-`` when there is no ``current``).

    Read by the observation, so apply can say which revision it goes from and to.
    """
    return (
        "\n".join(
            f"printf '%s %s ' {shlex.quote(s)} \"$(cat {shlex.quote(stack_dir(s))}/current "
            f'2>/dev/null || echo -)"; ls -1A {shlex.quote(stack_dir(s))} 2>/dev/null | '
            "tr '\\n' ' '; echo"
            for s in stacks
        )
        or "true"
    )


@dataclass(frozen=True)
class StackNumbers:
    """A stack's revision numbers on a host: the current one and the highest."""

    current: int | None
    highest: int


def parse_numbers_lines(text: str) -> dict[str, StackNumbers]:
    """What :func:`numbers_script` printed.

    >>> parse_numbers_lines("demo 2 1.json 2.json current\\nnew - \\n")
    {'demo': StackNumbers(current=2, highest=2), 'new': StackNumbers(current=None, highest=0)}
    """
    out: dict[str, StackNumbers] = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) < 2:
            continue
        stack, current, *files = words
        highest = parse_numbers(" ".join([stack, *files]))[stack]
        out[stack] = StackNumbers(int(current) if current.isdigit() else None, highest)
    return out


def upload_path(stack: str, number: int) -> str:
    """Where a revision file is uploaded before it is moved into place."""
    return f"{stack_dir(stack)}/.{number}.json.tmp"


def write_command(stack: str, number: int) -> str:
    """Move the uploaded revision ``number`` into place, then point ``current`` at it.

    The folder is root-only (0700), so the file is never readable by others,
    even before its own ``chmod``; an existing revision is never replaced.
    """
    tmp = shlex.quote(f".{number}.json.tmp")
    final = f"{number}.json"
    taken = shlex.quote(f"fleetform: revision {number} of stack {stack} exists already")
    return (
        f"cd {shlex.quote(stack_dir(stack))} && umask 077 && chmod 600 {tmp} && "
        f"if [ -e {final} ]; then rm -f {tmp}; echo {taken} >&2; exit 1; fi && "
        f"mv {tmp} {final} && printf '%s\\n' {number} > .current.tmp && "
        "mv -f .current.tmp current"
    )


#: exit code of the history script when the folder exists but cannot be read
_UNREADABLE = 3


def history_script(stacks: Iterable[str] = ()) -> str:
    """Print ``current <stack> <n>`` and every revision file (one JSON line each).

    Only the named stacks, or every stack when none is named.
    """
    return sectioned_script([("revisions", history_lines(stacks))])


#: what the rollback script prints per container (tab-separated)
_CONTAINER_FORMAT = (
    "{{.Name}}\t{{.Id}}\t{{.State.Running}}\t"
    '{{index .Config.Labels "fleetform.stack"}}\t'
    '{{index .Config.Labels "fleetform.config-hash"}}'
)


def rollback_script(stacks: Iterable[str]) -> str:
    """:func:`history_script`'s part, and the stacks' containers (kept ones too)."""
    names = list(stacks)
    listing = "\n".join(
        f"ids=$(docker ps -aq --no-trunc --filter label=fleetform.stack={shlex.quote(s)}) "
        '|| exit 1; [ -z "$ids" ] || '
        f"docker inspect --format {shlex.quote(_CONTAINER_FORMAT)} $ids || exit 1"
        for s in names
    )
    return sectioned_script(
        [("revisions", history_lines(names)), ("containers", listing or "true")]
    )


def parse_rollback(stdout: str) -> tuple[HostRevisions, list[tuple[str, ...]]]:
    """The revisions and the container rows (name, id, running, stack, config hash)."""
    revisions = parse_history(stdout)
    part = split_sections(stdout).get("containers")
    if part is None:
        raise RevisionHostError("unexpected output (no containers section)")
    if part.rc != 0:
        raise RevisionHostError(f"cannot list the containers: {part.text.strip()[-300:]}")
    rows = [
        tuple(line.split("\t"))
        for line in part.text.splitlines()
        if line.count("\t") == _CONTAINER_FORMAT.count("\t")
    ]
    return revisions, rows


def history_lines(stacks: Iterable[str]) -> str:
    """The script of :func:`history_script`'s part, for a host script of other parts too
    (``fleetform status`` adds it to the observation); read with :func:`parse_history_part`."""
    names = " ".join(shlex.quote(s) for s in stacks) or "*"
    root = shlex.quote(REVISIONS_DIR)
    script = (
        f"[ -d {root} ] || exit 0\n"
        f"cd {root} || exit {_UNREADABLE}\n"
        f"for s in {names}; do\n"
        '  [ -d "$s" ] || continue\n'
        '  printf \'current %s %s\\n\' "$s" "$(cat "$s/current" 2>/dev/null)"\n'
        '  for f in "$s"/[0-9]*.json; do [ -f "$f" ] && cat "$f"; done\n'
        "done\n"
        "true"
    )
    return script


@dataclass
class HostRevisions:
    """What :func:`history_script` printed for one host."""

    #: stack -> the number ``current`` names (None: missing or unreadable)
    current: dict[str, int | None] = field(default_factory=dict)
    documents: list[dict[str, Any]] = field(default_factory=list)
    #: lines that are not revisions (a damaged file), said as such
    problems: list[str] = field(default_factory=list)


def parse_history(stdout: str) -> HostRevisions:
    return parse_history_part(split_sections(stdout).get("revisions"))


def parse_history_part(part: Section | None) -> HostRevisions:
    """What :func:`history_lines` printed, as one part of a host script."""
    if part is None:
        raise RevisionHostError("unexpected output (no revisions section)")
    if part.rc == _UNREADABLE:
        raise RevisionHostError(f"cannot read {REVISIONS_DIR} (are you root on the host?)")
    out = HostRevisions()
    for line in part.text.splitlines():
        if line.startswith("current "):
            _, stack, *rest = line.split()
            out.current[stack] = int(rest[0]) if rest and rest[0].isdigit() else None
        elif line.strip():
            try:
                doc = json.loads(line)
            except ValueError:
                doc = None
            if not isinstance(doc, dict) or not isinstance(doc.get("revision"), int):
                out.problems.append(f"a revision file that is not a revision: {line[:80]!r}")
                continue
            out.documents.append(doc)
    return out
