"""The deploy lock: one per host and stack, so two runs never change the same
stack on the same host at once.

On the host, the lock of stack ``web`` is the directory
``/var/lib/fleetform/locks/web``: ``mkdir`` is the atomic create (it fails
when the directory exists).  It holds ``holder.json`` (the :class:`Holder`
record: run id, actor, control machine, pid, start time, heartbeat interval)
and ``heartbeat``, a file the holder touches every ``heartbeat`` seconds
while it runs.  Its age (the host's clock against the file's mtime) tells
whether the holder is alive: past ``stale_after`` it is stale, and a later
run may break it (:func:`acquire_script` with ``breaks``), leaving an audit
line.  Taking, breaking and releasing happen under ``flock`` on
``/var/lib/fleetform/locks/.guard`` so that two runs never both break the
same stale lock.

A host's stacks are taken together or not at all (one round trip per host);
hosts are taken one after another in sorted order, so two waiting runs can
never hold each other's locks.

Example::

    >>> env = {"FLEETFORM_LOCK_HEARTBEAT": "1s", "FLEETFORM_LOCK_STALE_AFTER": "4s"}
    >>> s = LockSettings.from_env(env)
    >>> (s.heartbeat, s.stale_after)
    (1.0, 4.0)
    >>> parse_lock_lines("held web 9 {}")[0].describe("lab-1")
    'stack web on lab-1 is locked by an unknown run (heartbeat 9 s ago)'
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetform.runlog.audit import append_command, iso
from fleetform.runlog.run import Run, parse_duration

LOCK_DIR = "/var/lib/fleetform/locks"
GUARD = f"{LOCK_DIR}/.guard"
#: a holder whose record is missing or unreadable (the run died while taking it)
UNKNOWN = "-"

HEARTBEAT_ENV = "FLEETFORM_LOCK_HEARTBEAT"
STALE_ENV = "FLEETFORM_LOCK_STALE_AFTER"
DEFAULT_HEARTBEAT = 10.0
DEFAULT_STALE_AFTER = 60.0

_q = shlex.quote
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")


class LockSettingsError(ValueError):
    pass


@dataclass(frozen=True)
class LockSettings:
    heartbeat: float = DEFAULT_HEARTBEAT
    stale_after: float = DEFAULT_STALE_AFTER

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LockSettings:
        try:
            beat = parse_duration(environ.get(HEARTBEAT_ENV) or str(DEFAULT_HEARTBEAT))
            stale = parse_duration(environ.get(STALE_ENV) or str(DEFAULT_STALE_AFTER))
        except ValueError as exc:
            raise LockSettingsError(f"{HEARTBEAT_ENV} / {STALE_ENV}: {exc}") from exc
        if beat <= 0:
            raise LockSettingsError(f"{HEARTBEAT_ENV} must be more than 0")
        # Two missed heartbeats at least: one slow SSH round trip is not death.
        if stale < 2 * beat:
            raise LockSettingsError(
                f"{STALE_ENV} ({stale:g} s) must be at least twice {HEARTBEAT_ENV} ({beat:g} s)"
            )
        return cls(beat, stale)


@dataclass(frozen=True)
class Holder:
    """The record in ``holder.json``; written once, when the lock is taken."""

    run_id: str
    actor: str
    control: str
    pid: int
    started: str  # ISO 8601, control machine clock
    heartbeat_every: float
    command: str = "apply"

    @classmethod
    def of(cls, run: Run, settings: LockSettings, command: str) -> Holder:
        return cls(
            run.run_id,
            run.actor,
            run.control,
            run.pid,
            iso(run.started),
            settings.heartbeat,
            command,
        )

    def to_json(self) -> str:
        """Compact and key-sorted: scripts find ``"run_id":"<id>"`` in it verbatim."""
        doc = {
            "run_id": self.run_id,
            "actor": self.actor,
            "control": self.control,
            "pid": self.pid,
            "started": self.started,
            "heartbeat_every": self.heartbeat_every,
            "command": self.command,
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    @classmethod
    def from_json(cls, text: str) -> Holder | None:
        """The record, or None when it is missing or not one fleetform wrote."""
        try:
            doc = json.loads(text)
            return cls(
                str(doc["run_id"]),
                str(doc["actor"]),
                str(doc["control"]),
                int(doc["pid"]),
                str(doc["started"]),
                float(doc["heartbeat_every"]),
                str(doc.get("command", "apply")),
            )
        except (ValueError, TypeError, KeyError):
            return None


@dataclass(frozen=True)
class HeldLock:
    """A lock found on a host: its stack, heartbeat age (s) and holder."""

    stack: str
    age: int
    holder: Holder | None = field(default=None)

    @property
    def run_id(self) -> str:
        return self.holder.run_id if self.holder is not None else UNKNOWN

    def is_stale(self, stale_after: float) -> bool:
        """Whether the holder stopped its heartbeat: a later run may break the lock."""
        return self.age > stale_after

    def describe(self, host: str) -> str:
        h = self.holder
        who = (
            f"run {h.run_id} of {h.actor} ({h.command}, pid {h.pid}, since {h.started})"
            if h is not None
            else "an unknown run"
        )
        return f"stack {self.stack} on {host} is locked by {who} (heartbeat {self.age} s ago)"

    def to_json(self, host: str, stale_after: float) -> dict[str, Any]:
        return {
            "host": host,
            "stack": self.stack,
            "heartbeat_age": self.age,
            "stale": self.is_stale(stale_after),
            "holder": json.loads(self.holder.to_json()) if self.holder is not None else None,
        }


def lock_path(stack: str) -> str:
    if not _NAME.fullmatch(stack):  # the loader allows no other names; never a path
        raise ValueError(f"{stack!r} cannot name a lock")
    return f"{LOCK_DIR}/{stack}"


def _owned_by(run_id: str, lock: str) -> str:
    """Shell test: the lock's record is that of run ``run_id`` (UNKNOWN: no readable record)."""
    if run_id == UNKNOWN:
        return f"! grep -q '\"run_id\"' {_q(lock + '/holder.json')} 2>/dev/null"
    needle = json.dumps({"run_id": run_id}, separators=(",", ":"))[1:-1]
    return f"grep -qF {_q(needle)} {_q(lock + '/holder.json')} 2>/dev/null"


#: shell function: ``held STACK LOCKDIR`` prints ``held <stack> <age> <holder json>``
_HELD_FN = (
    "now=$(date +%s)\n"
    'held() { t=$(stat -c %Y "$2/heartbeat" 2>/dev/null || stat -c %Y "$2" 2>/dev/null '
    '|| echo "$now"); '
    'printf \'held %s %s %s\\n\' "$1" "$((now - t))" '
    '"$(head -c 4000 "$2/holder.json" 2>/dev/null | tr -d \'\\n\')"; }'
)


def _guarded(body: list[str]) -> str:
    return "\n".join(
        [
            f"mkdir -p {LOCK_DIR} || exit 1",
            f"exec 9>>{GUARD} || exit 1",
            "flock -w 20 9 || "
            "{ echo 'fleetform: the lock guard stayed busy for 20 s' >&2; exit 1; }",
            _HELD_FN,
            *body,
        ]
    )


def acquire_script(
    holder: Holder,
    stacks: Iterable[str],
    lock_lines: Mapping[str, str],
    breaks: Mapping[str, tuple[str, str]] | None = None,
) -> str:
    """Take the locks of ``stacks`` on this host, all or none.

    Prints ``acquired <stack>`` per lock taken, ``broken <stack>`` per stale
    lock broken first, or, when any lock is held (and not to be broken),
    ``held ...`` lines and takes none.  ``lock_lines``: stack -> the audit
    line of its ``lock`` entry; ``breaks``: stack -> (run id judged stale,
    audit line of the ``lock-broken`` entry).  A lock is broken only while it
    is still held by that same run.
    """
    breaks = breaks or {}
    names = sorted(set(stacks))
    check, take = ["busy=0"], []
    for stack in names:
        lock = _q(lock_path(stack))
        broken = breaks.get(stack)
        may_break = _owned_by(broken[0], lock_path(stack)) if broken else "false"
        check.append(
            f"if [ -d {lock} ] && ! {{ {may_break}; }}; then busy=1; held {_q(stack)} {lock}; fi"
        )
        if broken:
            take.append(
                f"if [ -d {lock} ]; then rm -rf -- {lock} || exit 1; "
                f"{append_command(broken[1])}; echo broken {_q(stack)}; fi"
            )
        take.append(
            f"mkdir {lock} && printf '%s\\n' {_q(holder.to_json())} > {lock}/holder.json "
            f"&& touch {lock}/heartbeat || exit 1"
        )
        take.append(f"{append_command(lock_lines[stack])}; echo acquired {_q(stack)}")
    prepare = f"mkdir -p {_q('/var/log/fleetform')} || exit 1"
    return _guarded([prepare, *check, '[ "$busy" = 0 ] || exit 0', *take])


def heartbeat_script(run_id: str, stacks: Iterable[str]) -> str:
    """Touch the heartbeat of each lock this run still holds; ``lost <stack>`` for the others."""
    lines = []
    for stack in sorted(set(stacks)):
        lock = lock_path(stack)
        lines.append(
            f"if {_owned_by(run_id, lock)}; then touch -c {_q(lock + '/heartbeat')}; "
            f"else echo lost {_q(stack)}; fi"
        )
    return "\n".join([*lines, "true"])


def release_script(run_id: str, unlock_lines: Mapping[str, str]) -> str:
    """Remove the locks this run holds (stack -> audit line of its ``unlock`` entry).

    A lock another run holds now (ours was broken as stale) is left alone.
    """
    body = []
    for stack in sorted(unlock_lines):
        lock = lock_path(stack)
        body.append(
            f"if [ -d {_q(lock)} ] && {_owned_by(run_id, lock)}; then rm -rf -- {_q(lock)} && "
            f"{append_command(unlock_lines[stack])}; echo released {_q(stack)}; fi"
        )
    return _guarded([*body, "true"])


def state_command(stacks: Iterable[str]) -> str:
    """Print a ``held`` line per lock held on this host (no guard: it only reads)."""
    body = [_HELD_FN]
    for stack in sorted(set(stacks)):
        lock = _q(lock_path(stack))
        body.append(f"if [ -d {lock} ]; then held {_q(stack)} {lock}; fi")
    return "\n".join([*body, "true"])


@dataclass(frozen=True)
class LockOutput:
    acquired: tuple[str, ...] = ()
    broken: tuple[str, ...] = ()
    held: tuple[HeldLock, ...] = ()
    lost: tuple[str, ...] = ()
    released: tuple[str, ...] = ()


def parse_lock_lines(text: str) -> tuple[HeldLock, ...]:
    return parse_output(text).held


def parse_output(text: str) -> LockOutput:
    """The lines the scripts of this module print, as data (other lines are ignored)."""
    found: dict[str, list[Any]] = {
        k: [] for k in ("acquired", "broken", "held", "lost", "released")
    }
    for raw in text.splitlines():
        word, _, rest = raw.strip().partition(" ")
        if word == "held":
            stack, _, rest = rest.partition(" ")
            age, _, record = rest.partition(" ")
            if stack and age.lstrip("-").isdigit():
                found["held"].append(HeldLock(stack, int(age), Holder.from_json(record)))
        elif word in found and rest:
            found[word].append(rest.strip())
    return LockOutput(**{k: tuple(v) for k, v in found.items()})
