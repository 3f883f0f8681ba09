"""The audit lines of an applied host plan: one per action, names and ids, never a value."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "plan"))

from planbuilders import stack, svc, want

from fleetform.executor.auditing import host_lines
from fleetform.plan import plan_host
from fleetform.plan.observed import Observed
from fleetform.runlog import audit
from fleetform.runlog.run import Run

RUN = Run("abc123abc123", "ops@ctl", "ctl", 7, 0.0)


def test_each_action_is_one_line_with_stack_service_and_result_and_no_value(
    tmp_path: Path,
) -> None:
    s = stack(svc("web", environment=(("DB_PASSWORD", "hunter2-secret"),)), name="shop")
    plan = plan_host(want([s]), Observed())
    commands = host_lines(RUN, plan, at=10.0, duration=1.25, error="boom")
    script = audit.append_script(commands).replace(audit.AUDIT_DIR, str(tmp_path))
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text("#!/bin/sh\nexit 1\n")  # no such container
    (fake / "docker").chmod(0o755)
    subprocess.run(["sh", "-c", script], check=True, env={"PATH": f"{fake}:/usr/bin:/bin"})
    text = (tmp_path / "audit.jsonl").read_text()
    assert "hunter2" not in text and "hunter2" not in "".join(commands)
    records = [json.loads(x) for x in text.splitlines()]
    assert len(records) == len(plan.actions)
    web = next(r for r in records if r["resource"] == "shop-web-1")
    assert (web["stack"], web["service"], web["action"]) == ("shop", "web", "create")
    assert (web["result"], web["duration"], web["error"]) == ("failed", 1.25, "boom")
    assert web["container_ids"] == {"old": None, "new": None}  # not on the host: null
    assert {r["run_id"] for r in records} == {RUN.run_id}
