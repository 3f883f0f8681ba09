"""Running checks: one gathering command per host, unreachable hosts fail, health is awaited."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

import fleetform.verify.runner as runner
from fleetform.verify.checks import Check, Outcome
from fleetform.verify.runner import HostChecks, check_host, run_checks


@dataclasses.dataclass
class Result:
    rc: int
    stdout: str
    stderr: str = ""


class FakeHost:
    """A testinfra host whose commands answer from a list of outputs."""

    def __init__(self, *outputs: Any) -> None:
        self.outputs = list(outputs)
        self.commands: list[str] = []

    def run(self, command: str, *args: str) -> Result:
        self.commands.append(command % args if args else command)
        out = self.outputs.pop(0)
        if isinstance(out, Exception):
            raise out
        return out


def state_output(health: str) -> str:
    container = json.dumps(
        [{"Name": "/demo-web-1", "State": {"Status": "running", "Health": {"Status": health}}}]
    )
    info = json.dumps({"ServerVersion": "20.10.24"})
    return (
        f"@@fleetform-section info\n{info}\n@@fleetform-rc 0\n"
        f"@@fleetform-section containers\n{container}\n@@fleetform-rc 0\n"
    )


def health_check() -> Check:
    def probe(state: Any) -> Outcome:
        status = state.container("demo-web-1")["State"]["Health"]["Status"]
        return Outcome(status == "healthy", status)

    return Check("demo-web-1", "health", "healthy", probe)


def test_one_command_gathers_the_state_for_every_check() -> None:
    host = FakeHost(Result(0, state_output("healthy")))
    checks = (health_check(), health_check())
    report = check_host(HostChecks("lab-1", checks), lambda _: host)
    assert report.ok and len(report.results) == 2
    assert len(host.commands) == 1 and host.commands[0].startswith("sh -c ")


def test_unreachable_host_is_a_failed_report_with_ssh_reason() -> None:
    ssh_failed = RuntimeError(Result(255, "", "ssh: connect to host lab-9 port 22: timed out\n"))
    report = check_host(HostChecks("lab-9", (health_check(),)), lambda _: FakeHost(ssh_failed))
    assert not report.ok
    assert report.error == "ssh: connect to host lab-9 port 22: timed out"
    assert report.as_dict()["checks"][0]["check"] == "reachable"


def test_host_key_mismatch_output_is_a_failure_not_a_crash() -> None:
    host = FakeHost(Result(1, "", "Host key verification failed."))
    report = check_host(HostChecks("lab-1", (health_check(),)), lambda _: host)
    assert report.error == "Host key verification failed."


def test_starting_healthcheck_is_awaited_until_it_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "_HEALTH_POLL_SECONDS", 0.01)
    host = FakeHost(
        Result(0, state_output("starting")),
        Result(0, state_output("starting")),
        Result(0, state_output("unhealthy")),
    )
    report = check_host(HostChecks("lab-1", (health_check(),)), lambda _: host)
    assert report.results[0].actual == "unhealthy"
    assert len(host.commands) == 3


def test_hosts_run_in_parallel_and_keep_their_order() -> None:
    hosts = {f"lab-{i}": FakeHost(Result(0, state_output("healthy"))) for i in (1, 2, 3)}
    plans = [HostChecks(name, (health_check(),)) for name in hosts]
    reports = run_checks(plans, hosts.__getitem__)
    assert [r.host for r in reports] == ["lab-1", "lab-2", "lab-3"]
    assert all(r.ok for r in reports)
