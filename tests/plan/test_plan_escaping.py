"""Control characters in values cannot rewrite the terminal a plan is read on."""

from __future__ import annotations

import json

from planbuilders import host_state, running, stack, svc, want

from fleetform.escape import escape_control
from fleetform.plan import Plan, plan_host

#: erase the line, move the cursor up, erase again: would hide the line above
ERASE = "\x1b[2K\x1b[1A\x1b[2K"


def _plan_with(value: str) -> Plan:
    d = want([stack(svc("web", environment=(("MOTD", value),)))])
    obs = host_state(d, running(d.containers[0], env=(("MOTD", "old"),)))
    return Plan.from_hosts([plan_host(d, obs)], errors={"host-b": f"unreachable{ERASE}"})


def test_escape_sequences_in_values_are_shown_escaped_in_the_plan_text() -> None:
    text = str(_plan_with(f"hi{ERASE}\nPlan: 0 to create"))
    assert "\x1b" not in text
    assert "environment.MOTD: old -> hi\\x1b[2K\\x1b[1A\\x1b[2K\\nPlan: 0 to create" in text
    assert "host-b: ! error: unreachable\\x1b[2K" in text
    # a value cannot add a line of its own
    assert [line for line in text.splitlines() if line.startswith("Plan:")] == [
        "Plan: 0 to create, 1 to recreate, 0 to update, 0 to remove."
    ]


def test_the_json_plan_keeps_the_exact_value() -> None:
    doc = _plan_with(f"hi{ERASE}").to_json()
    change = doc["hosts"][0]["actions"][0]["changes"][0]
    assert change["new"] == f"hi{ERASE}"
    assert "\x1b" not in json.dumps(doc)  # JSON escapes it (\u001b)


def test_escape_control_covers_c0_c1_del_and_bidi_overrides_only() -> None:
    assert escape_control("a\tb\x00c\x7fd\x9be\u202ef") == "a\\tb\\x00c\\x7fd\\x9be\\u202ef"
    assert escape_control("héllo wörld ✓ 日本") == "héllo wörld ✓ 日本"
