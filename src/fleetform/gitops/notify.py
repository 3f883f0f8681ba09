"""Notifications of reconcile runs, through Apprise URLs (``json://``, ``mailto://``, ...).

Which events a run sends is decided here, purely, from the run's result
and the saved state (:func:`events`): a failure, a rollback, drift, and
the recovery after a failure.  An identical failure (same result, commit
and problems) is sent once; recovery clears it, so the next failure is sent
again.  Sending is :func:`send`.

Example::

    >>> from fleetform.gitops.state import State
    >>> s = State()
    >>> [e.kind for e in events(s, "invalid", "abc123", ["bad port"])]
    ['failure']
    >>> events(s, "invalid", "abc123", ["bad port"])  # the same again: not sent
    []
    >>> [e.kind for e in events(s, "converged", "def456", [])]
    ['recovery']
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from fleetform.gitops.state import State

#: results that are failures (the fleet is not on the commit)
FAILED = ("invalid", "failed", "rolled_back")


@dataclass(frozen=True)
class Event:
    kind: str  # failure | rollback | drift | recovery
    title: str
    body: str

    @property
    def apprise_type(self) -> str:
        return {"failure": "failure", "rollback": "failure", "drift": "warning"}.get(
            self.kind, "success"
        )


def fingerprint(result: str, commit: str, problems: Sequence[str]) -> str:
    text = json.dumps([result, commit, sorted(problems)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _body(commit: str, problems: Sequence[str], head: str) -> str:
    lines = [head, f"commit {commit}", *(f"- {p}" for p in problems)]
    return "\n".join(lines)


def events(state: State, result: str, commit: str, problems: Sequence[str]) -> list[Event]:
    """The events to send for this run; ``state`` is updated (save it afterwards)."""
    short = commit[:12]
    out: list[Event] = []
    if result in FAILED:
        fp = fingerprint(result, commit, problems)
        if state.failure != fp:
            if result == "rolled_back":
                head = f"fleetform: commit {short} rolled back"
                out.append(Event("rollback", head, _body(commit, problems, head)))
            else:
                what = "is invalid" if result == "invalid" else "failed"
                head = f"fleetform: commit {short} {what}"
                out.append(Event("failure", head, _body(commit, problems, head)))
        state.failure = fp
        return out
    if state.failure is not None:
        head = f"fleetform: recovered, the fleet is on commit {short}"
        out.append(Event("recovery", head, _body(commit, [], head)))
        state.failure = None
    if result in ("drift", "reverted"):
        fp = fingerprint(result, commit, problems)
        if state.drift != fp or result == "reverted":
            verb = "reverted" if result == "reverted" else "found (not reverted)"
            head = f"fleetform: drift {verb} on commit {short}"
            out.append(Event("drift", head, _body(commit, problems, head)))
        state.drift = fp if result == "drift" else None
    else:
        state.drift = None
    return out


class NotifyError(Exception):
    """A notification URL is not understood; the message names it."""


def check_urls(urls: Sequence[str]) -> None:
    """Raise NotifyError naming the first URL Apprise does not understand."""
    import apprise

    for number, url in enumerate(urls, 1):
        if not apprise.Apprise().add(url):
            # the URL itself may carry a token: name its scheme and position only
            scheme = url.split("://", 1)[0] if "://" in url else "(no scheme)"
            raise NotifyError(
                f"notification URL {number} ({scheme}://...): "
                "not a notification URL Apprise understands"
            )


def send(urls: Sequence[str], event: Event) -> bool:
    """Send ``event`` to every URL; whether every one accepted it."""
    import apprise

    client = apprise.Apprise()
    for url in urls:
        client.add(url)
    kind = {"failure": apprise.NotifyType.FAILURE, "warning": apprise.NotifyType.WARNING}.get(
        event.apprise_type, apprise.NotifyType.SUCCESS
    )
    return bool(client.notify(title=event.title, body=event.body, notify_type=kind))
