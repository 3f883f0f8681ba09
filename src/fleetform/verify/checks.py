"""A check: one expectation about one resource on one host, and its result.

Checks are generated from the stacks before any host is contacted (see
``fleetform.verify.generate``); each carries a *probe*, a pure function of the
host's gathered :class:`~fleetform.verify.state.HostState` that returns what
was actually found.  Running checks against recorded state needs no host.

Example::

    >>> c = Check("engine", "docker socket", "socket",
    ...           lambda s: Outcome.of(s.docker_socket, "socket", "missing"),
    ...           needs_engine=False)
    >>> c.evaluate(HostState(docker_socket=False)).line("lab-2")
    'lab-2  engine  docker socket  expected socket, got missing'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fleetform import secrets
from fleetform.escape import escape_control
from fleetform.verify.state import HostState

#: Shown instead of a secret value, expected or actual.
SECRET = secrets.SECRET


@dataclass(frozen=True)
class Outcome:
    ok: bool
    actual: str
    #: replaces the check's expected text when it depends on the host (e.g. the
    #: package names, which depend on the host's OS).
    expected: str | None = None

    @classmethod
    def of(cls, ok: bool, when_ok: str, when_not: str) -> Outcome:
        return cls(ok, when_ok if ok else when_not)

    @classmethod
    def equal(cls, expected: object, actual: object) -> Outcome:
        return cls(expected == actual, _show(actual))


def _show(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


Probe = Callable[[HostState], Outcome]


@dataclass(frozen=True)
class Check:
    """``resource`` is e.g. ``engine``, ``demo-web-1`` or ``network demo_default``."""

    resource: str
    check: str
    expected: str
    probe: Probe = field(compare=False, repr=False)
    #: the probe reads Docker objects, which cannot be seen while dockerd is down
    needs_engine: bool = True

    @property
    def id(self) -> str:
        """A stable identifier, used as the pytest test id and JUnit test name."""
        return f"{self.resource}::{self.check}"

    def evaluate(self, state: HostState) -> CheckResult:
        try:
            if self.needs_engine and not state.engine_answers:
                outcome = Outcome(
                    False, f"unknown: docker engine not answering ({state.info_error})"
                )
            else:
                outcome = self.probe(state)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            # Unexpected host data (an older engine, a hand-edited object) is a
            # failed check with a reason, never a crash of the whole run.
            outcome = Outcome(False, f"unreadable ({type(exc).__name__}: {exc})")
        expected = self.expected if outcome.expected is None else outcome.expected
        return CheckResult(self.resource, self.check, outcome.ok, expected, outcome.actual)


@dataclass(frozen=True)
class CheckResult:
    resource: str
    check: str
    ok: bool
    expected: str
    actual: str

    def line(self, host: str) -> str:
        """The failure line people read: host, resource, check, expected and actual.

        Control characters from the host (an env value, a health log) are
        shown escaped, so they cannot rewrite the terminal or break JUnit XML.
        """
        text = f"{host}  {self.resource}  {self.check}  expected {self.expected}, got {self.actual}"
        return escape_control(text)

    def as_dict(self) -> dict[str, object]:
        return {
            "resource": self.resource,
            "check": self.check,
            "ok": self.ok,
            "expected": self.expected,
            "actual": self.actual,
        }
