"""The terminal plan is rendered from the plan's data: its style says what each part is."""

from __future__ import annotations

import io

from rich.console import Console

from fleetform.commands.common import Output
from fleetform.plan import Action, HostPlan, Plan
from fleetform.plan.diff import FieldChange
from fleetform.plan.render import plan_lines

SGR = {"bold red": "\x1b[1;31m", "green": "\x1b[32m", "yellow": "\x1b[33m", "red": "\x1b[31m"}
RESET = "\x1b[0m"


def _plan() -> Plan:
    actions = (
        Action("host-a", "create", "demo-web-2", "missing: create and start", "missing"),
        Action(
            "host-a",
            "recreate",
            "demo-web-1",
            "drift",
            "field_changed",
            changes=(FieldChange("command", "- rm", "+ ok"),),
        ),
        Action("host-a", "remove", "demo-old-1", "stack demo no longer declares it", "orphan"),
    )
    host_a = HostPlan(
        "host-a",
        actions,
        errors=("container demo-db-1 exists on host-a without fleetform's labels",),
        warnings=("network demo_back differs from the stack",),
        engine=("install packages docker.io",),
    )
    return Plan.from_hosts([host_a], errors={"host-b": "cannot observe the host: timed out"})


def _terminal(plan: Plan) -> tuple[str, str]:
    """(plain text, text with ANSI styles) that Output.plan shows on a colour terminal."""
    out = Output()
    out.out = Console(
        file=io.StringIO(),
        record=True,
        force_terminal=True,
        color_system="standard",
        highlight=False,
        soft_wrap=True,
    )
    out.plan(plan)
    return out.out.export_text(clear=False), out.out.export_text(styles=True)


def test_an_unobserved_hosts_error_is_styled_as_an_error() -> None:
    plan = Plan.from_hosts(
        [HostPlan("host-a")], errors={"host-b": "cannot observe the host: timed out"}
    )
    _, styled = _terminal(plan)
    line = next(line for line in styled.splitlines() if line.startswith("host-b"))
    assert line == f"host-b: {SGR['bold red']}! error: cannot observe the host: timed out{RESET}"


def test_planned_errors_warnings_and_actions_are_styled_by_what_they_are() -> None:
    _, styled = _terminal(_plan())
    lines = styled.splitlines()
    assert f"  {SGR['bold red']}! error: container demo-db-1 exists" in styled
    assert f"  {SGR['yellow']}warning: network demo_back differs from the stack{RESET}" in lines
    assert f"  {SGR['green']}+ create container demo-web-2{RESET}" in lines
    assert f"  {SGR['yellow']}-/+ recreate container demo-web-1{RESET}" in lines
    assert f"  {SGR['red']}- remove container demo-old-1{RESET}" in lines
    assert f"  {SGR['yellow']}~ engine: install packages docker.io{RESET}" in lines
    assert f"{SGR['bold red']}Errors on 2 host(s): not applied there.{RESET}" in lines


def test_detail_lines_are_plain_whatever_their_value() -> None:
    _, styled = _terminal(_plan())
    assert "      command: - rm -> + ok" in styled.splitlines()


def test_the_terminal_shows_the_same_text_as_str_plan() -> None:
    plan = _plan()
    plain, _ = _terminal(plan)
    assert plain == str(plan)
    assert [("".join(t for t, _ in line)) for line in plan_lines(plan)] == str(plan).splitlines()


def test_segments_are_escaped() -> None:
    plan = Plan.from_hosts([], errors={"host-b": "unreachable\x1b[2K"})
    (first, *_) = plan_lines(plan)
    assert first == (("host-b: ", "plain"), ("! error: unreachable\\x1b[2K", "error"))
    plain, _ = _terminal(plan)
    assert "\x1b" not in plain
