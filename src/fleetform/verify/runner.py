"""Run generated checks against hosts: one gathering command per host, hosts in parallel.

Each host's state is read with a single testinfra ``host.run`` of the
gathering script (see ``state``); the checks are then evaluated locally.
Hosts run in threads, since each one mostly waits on its SSH client.

Example (``connect`` returns a testinfra host for a host name)::

    reports = run_checks([HostChecks("lab-1", checks, needs)], connect)
    reports[0].ok, [r.line("lab-1") for r in reports[0].failed]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from fleetform.verify.checks import Check, CheckResult
from fleetform.verify.state import HostState, Needs, gather_script, parse_state

#: How long to wait for containers whose healthcheck still says "starting".
HEALTH_WAIT_SECONDS = 60.0
_HEALTH_POLL_SECONDS = 2.0


@dataclass(frozen=True)
class HostChecks:
    """The checks generated for one host, and the facts they read."""

    host: str
    checks: tuple[Check, ...]
    needs: Needs = field(default_factory=Needs)


@dataclass(frozen=True)
class HostReport:
    host: str
    results: tuple[CheckResult, ...] = ()
    #: why the host could not be checked at all (unreachable, bad SSH data).
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and all(r.ok for r in self.results)

    @property
    def passed(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.ok)

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if not r.ok)

    def as_dict(self) -> dict[str, Any]:
        results = list(self.results)
        if self.error is not None:
            results.insert(0, unreachable_result(self.error))
        return {"host": self.host, "ok": self.ok, "checks": [r.as_dict() for r in results]}


def unreachable_result(error: str) -> CheckResult:
    return CheckResult("host", "reachable", False, "reachable over SSH", error)


class GatherError(Exception):
    """The gathering command could not run on the host."""


def gather(host: Any, needs: Needs) -> HostState:
    """Read a host's state with one command through a testinfra ``host``."""
    try:
        result = host.run("sh -c %s", gather_script(needs))
    except RuntimeError as exc:
        # testinfra's ssh backend raises with the CommandResult when ssh
        # itself fails (exit 255): unreachable, auth or host key failure.
        raise GatherError(_ssh_error(exc)) from exc
    if "@@fleetform-section" not in result.stdout:
        raise GatherError(result.stderr.strip() or f"exit code {result.rc}, no output")
    return parse_state(result.stdout, needs)


def _ssh_error(exc: RuntimeError) -> str:
    arg = exc.args[0] if exc.args else exc
    stderr = getattr(arg, "stderr", None)
    text = stderr if isinstance(stderr, str) and stderr.strip() else str(arg)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "ssh failed"


def evaluate(checks: Sequence[Check], state: HostState) -> tuple[CheckResult, ...]:
    return tuple(c.evaluate(state) for c in checks)


def _health_pending(results: Sequence[CheckResult]) -> bool:
    return any(r.check == "health" and r.actual == "starting" for r in results)


def check_host(hc: HostChecks, connect: Callable[[str], Any]) -> HostReport:
    t0 = time.monotonic()
    try:
        host = connect(hc.host)
        state = gather(host, hc.needs)
        results = evaluate(hc.checks, state)
        # A healthcheck that is still "starting" has not decided yet; give it
        # its start period rather than failing a fleet that was just applied.
        deadline = t0 + HEALTH_WAIT_SECONDS
        while _health_pending(results) and time.monotonic() < deadline:
            time.sleep(_HEALTH_POLL_SECONDS)
            results = evaluate(hc.checks, gather(host, hc.needs))
    except GatherError as exc:
        return HostReport(hc.host, error=str(exc), seconds=time.monotonic() - t0)
    except Exception as exc:  # a backend failure must fail this host, not the run
        return HostReport(
            hc.host, error=f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - t0
        )
    return HostReport(hc.host, results, seconds=time.monotonic() - t0)


def run_checks(
    hosts: Sequence[HostChecks],
    connect: Callable[[str], Any],
) -> list[HostReport]:
    """Check every host in parallel; reports come back in the order of ``hosts``."""
    if not hosts:
        return []
    with ThreadPoolExecutor(max_workers=min(32, len(hosts))) as pool:
        return list(pool.map(lambda hc: check_host(hc, connect), hosts))
