"""Deploy locks around a run: take them on every host, keep them alive, release them.

:class:`DeployLocks` runs the scripts of :mod:`fleetform.runlog.lock`
through the session, outside pyinfra's operations (so every host's operation
sequence stays the same)::

    locks = DeployLocks(session, run, settings, stacks=["web"], command="apply")
    problem = locks.acquire(wait=0)  # None, or why not (names the holder)
    try:
        session.run()  # a heartbeat greenlet touches the locks meanwhile
    finally:
        locks.release()

Hosts are locked one after another in sorted order, each host's stacks in
one round trip, all or none; a lock that is held makes the run give up at
once (everything it took is released) or, with ``wait``, poll each second
until the deadline.  A stale lock (no heartbeat for ``stale_after``) is
broken, with a ``lock-broken`` audit line naming its holder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fleetform.executor.session import Session
from fleetform.runlog.audit import entry, line
from fleetform.runlog.lock import (
    HeldLock,
    Holder,
    LockSettings,
    acquire_script,
    heartbeat_script,
    parse_output,
    release_script,
)
from fleetform.runlog.run import Run

#: seconds between two tries while waiting for a held lock
POLL = 1.0


class DeployLocks:
    def __init__(
        self,
        session: Session,
        run: Run,
        settings: LockSettings,
        stacks: list[str],
        command: str = "apply",
        notify: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.session = session
        self.run = run
        self.settings = settings
        self.stacks = sorted(set(stacks))
        self.holder = Holder.of(run, settings, command)
        self.notify = notify
        #: host name -> (host, monotonic time the lock was taken)
        self.held: dict[str, tuple[Any, float]] = {}
        #: hosts where another run broke this run's lock (it was judged stale)
        self.lost: set[str] = set()
        self._beat: Any = None

    def _line(self, host: str, action: str, stack: str, **kw: Any) -> str:
        return line(entry(self.run, host=host, action=action, stack=stack, at=time.time(), **kw))

    def acquire(self, wait: float = 0.0) -> str | None:
        """Lock every connected host; None when done, else why not (nothing is then held)."""
        for host in sorted(self.session.hosts, key=lambda h: h.name):
            problem = self._acquire_host(host, time.monotonic() + wait)
            if problem is not None:
                self.release()
                if wait > 0:
                    return f"{problem}; gave up after waiting {wait:g} s; nothing was changed"
                return f"{problem}; nothing was changed (wait for it with --lock-wait DURATION)"
        self._start_heartbeat()
        return None

    def _acquire_host(self, host: Any, deadline: float) -> str | None:
        breaks: dict[str, tuple[str, str]] = {}
        waited = False
        while True:
            locks = {s: self._line(host.name, "lock", s) for s in self.stacks}
            result = self.session.run_on(
                host, acquire_script(self.holder, self.stacks, locks, breaks)
            )
            out = parse_output(result.stdout)
            if not result.ok:
                self._forget_partial(host)
                err = result.stderr.strip()[-300:] or "no output"
                return f"{host.name}: cannot take the deploy lock: {err}"
            for stack in out.broken:
                self.notify(f"{host.name}: broke the stale lock of stack {stack}")
            if out.acquired:
                self.held[host.name] = (host, time.monotonic())
                return None
            stale = [h for h in out.held if h.is_stale(self.settings.stale_after)]
            fresh = [h for h in out.held if not h.is_stale(self.settings.stale_after)]
            # Break only what is stale; a run still holding a fresh lock on this
            # host makes the whole host wait (all or none).
            breaks = {h.stack: (h.run_id, self._broken_line(host.name, h)) for h in stale}
            if not fresh and stale:
                continue
            if not out.held:  # neither taken nor held: output we cannot read
                return f"{host.name}: cannot take the deploy lock (unexpected output)"
            if time.monotonic() >= deadline:
                return _held_message(host.name, fresh)
            if not waited:
                self.notify(_held_message(host.name, fresh) + "; waiting")
                waited = True
            time.sleep(min(POLL, max(deadline - time.monotonic(), 0.05)))

    def _broken_line(self, host: str, held: HeldLock) -> str:
        holder = held.holder
        return self._line(
            host,
            "lock-broken",
            held.stack,
            details={
                "holder": holder.to_json() if holder is not None else None,
                "heartbeat_age": held.age,
                "stale_after": self.settings.stale_after,
            },
        )

    def _forget_partial(self, host: Any) -> None:
        """A host script that failed half-way may have taken some locks: give them back."""
        self.session.run_on(
            host, release_script(self.run.run_id, self._unlock_lines(host.name, None))
        )

    def _unlock_lines(self, host: str, since: float | None) -> dict[str, str]:
        held_for = time.monotonic() - since if since is not None else None
        return {s: self._line(host, "unlock", s, duration=held_for) for s in self.stacks}

    def _beat_once(self) -> list[str]:
        """Touch every held lock now; the hosts where another run broke it."""
        hosts = [h for h, _ in self.held.values()]
        results = self.session.run_everywhere(
            lambda h: heartbeat_script(self.run.run_id, self.stacks), hosts=hosts
        )
        return sorted(name for name, r in results.items() if parse_output(r.stdout).lost)

    def still_held(self) -> list[str]:
        """Check (and refresh) the locks after a pause without heartbeat; hosts lost."""
        return self._beat_once()

    def _start_heartbeat(self) -> None:
        import gevent

        def beat() -> None:
            while True:
                gevent.sleep(self.settings.heartbeat)
                for name in self._beat_once():
                    if name not in self.lost:
                        self.lost.add(name)
                        self.notify(f"{name}: this run's deploy lock was broken by another run")

        if self.held:
            self._beat = gevent.spawn(beat)

    def release(self) -> list[str]:
        """Release every lock this run holds (best effort); the hosts where it failed."""
        if self._beat is not None:
            self._beat.kill()
            self._beat = None
        if not self.held:
            return []
        held, self.held = self.held, {}
        hosts = [h for h, _ in held.values()]
        results = self.session.run_everywhere(
            lambda h: release_script(self.run.run_id, self._unlock_lines(h.name, held[h.name][1])),
            hosts=hosts,
        )
        return sorted(name for name, result in results.items() if not result.ok)


def _held_message(host: str, fresh: list[HeldLock]) -> str:
    more = f" (and {len(fresh) - 1} more stack(s))" if len(fresh) > 1 else ""
    return fresh[0].describe(host) + more
