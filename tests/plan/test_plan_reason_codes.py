"""Every action of every golden plan carries its typed ``reason_code`` (golden table).

``golden/reason_codes.txt`` lists, for each golden case, each action as
``kind resource: reason_code``; regenerate it with ``FLEETFORM_UPDATE_GOLDEN=1``
and review the diff, as for the golden plans.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import get_args

import test_plan_carry
import test_plan_golden
import test_plan_ownership
import test_plan_pull_always
import test_plan_runkeys
import test_plan_secrets

from fleetform.plan import Plan, plan_host
from fleetform.plan.actions import ReasonCode
from fleetform.plan.desired import HostDesired
from fleetform.plan.observed import Observed

GOLDEN = Path(__file__).parent / "golden" / "reason_codes.txt"
DOCS = Path(__file__).parents[2] / "docs" / "plan-json.md"

Case = Callable[[], tuple[HostDesired, Observed]]
CASES: dict[str, Case] = {
    **test_plan_golden.CASES,
    **test_plan_pull_always.CASES,
    **test_plan_secrets.CASES,
    **test_plan_runkeys.CASES,
    **{f"ownership_{k}": v for k, v in test_plan_ownership.CASES.items()},
    "recreate_discards_anonymous_volumes": test_plan_carry.case_recreate_discards_anonymous_volumes,
}


def _table() -> tuple[str, set[str]]:
    lines: list[str] = []
    seen: set[str] = set()
    for name in sorted(CASES):
        desired, observed = CASES[name]()
        doc = Plan.from_hosts([plan_host(desired, observed)]).to_json()
        actions = [a for host in doc["hosts"] for a in host["actions"]]
        lines.append(f"{name}:" if actions else f"{name}: (no actions)")
        for a in actions:
            lines.append(f"  {a['kind']} {a['resource']}: {a['reason_code']}")
            seen.add(a["reason_code"])
    return "\n".join(lines) + "\n", seen


def test_every_action_of_every_golden_plan_has_its_reason_code() -> None:
    text, _ = _table()
    if os.environ.get("FLEETFORM_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_the_golden_plans_use_every_reason_code() -> None:
    _, seen = _table()
    assert seen == set(get_args(ReasonCode))


def test_every_reason_code_is_documented() -> None:
    section = DOCS.read_text().split("## Reason codes", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE)
    assert sorted(documented) == sorted(get_args(ReasonCode))
