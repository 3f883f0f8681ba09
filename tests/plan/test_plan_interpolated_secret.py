"""A value interpolated from `.env` or the environment into `environment` never shows in a plan."""

from __future__ import annotations

import json
from pathlib import Path

from planbuilders import converged, want

from fleetform.plan import Plan, plan_host
from fleetform.stackfile import load_stacks

STACK = (
    "name: s\nservices:\n  web:\n    image: busybox\n"
    "    environment:\n      DATABASE_URL: ${DB_URL}\n      LOG: info\n"
)


def _stack(folder: Path, db_url: str) -> Path:
    (folder / ".env").write_text(f"DB_URL={db_url}\n")
    path = folder / "compose.yaml"
    path.write_text(STACK)
    return path


def test_a_changed_interpolated_value_is_masked_in_the_plan(tmp_path: Path) -> None:
    old = load_stacks([_stack(tmp_path, "postgres://u:0ld-s3cret@db/app")])
    new = load_stacks([_stack(tmp_path, "postgres://u:n3w-s3cret@db/app")])
    plan = Plan.from_hosts([plan_host(want(new), converged(want(old)))])
    text, doc = str(plan), json.dumps(plan.to_json())
    assert "DATABASE_URL: (secret changed)" in text
    for shown in (text, doc):
        assert "s3cret" not in shown
