"""engine.policy: from the stack file to the merged host settings to the plan's verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetform.engine.advisories import assess, load_advisories
from fleetform.engine.layers import parse_layers
from fleetform.engine.policy import counted, policy_verdict
from fleetform.engine.settings import EngineSettingsError, engine_for_host
from fleetform.model import Engine, EnginePolicy, Stack
from fleetform.stackfile import StackFileError, load_stacks

DATA = Path(__file__).parent / "data" / "layers"


def _lab_assessments() -> tuple:  # type: ignore[type-arg]
    host = parse_layers("lab-1", (DATA / "lab-docker-io.txt").read_text())
    return assess(host, load_advisories())


def test_warn_lists_the_counted_findings_and_blocks_nothing() -> None:
    lines, errors = policy_verdict(EnginePolicy("warn"), _lab_assessments())
    assert errors == ()
    assert [line.split(" ")[0] for line in lines] == [
        "CVE-2025-31133",
        "CVE-2025-52565",
        "CVE-2025-52881",
    ]
    assert lines[0].startswith("CVE-2025-31133 (high) affects runc: upstream-version: 1.1.5+ds1")


def test_fail_turns_the_findings_into_one_host_error() -> None:
    lines, errors = policy_verdict(EnginePolicy("fail", "high"), _lab_assessments())
    assert len(lines) == 3
    (error,) = errors
    assert "engine.policy (advisories: fail, min_severity: high)" in error
    assert "CVE-2025-31133, CVE-2025-52565, CVE-2025-52881" in error
    assert "nothing is changed on this host" in error


def test_fixed_advisories_allowed_ids_and_lower_severities_do_not_count() -> None:
    found = _lab_assessments()
    # CVE-2024-21626 is fixed on bookworm (changelog): never counted
    assert all(a.advisory.id != "CVE-2024-21626" for a in counted(EnginePolicy(), found))
    allowed = EnginePolicy("fail", allow=("CVE-2025-31133", "GHSA-qw9x-cqr3-wc7r"))
    assert [a.advisory.id for a in counted(allowed, found)] == ["CVE-2025-52881"]
    assert counted(EnginePolicy("fail", "critical"), found) == ()
    assert policy_verdict(EnginePolicy("ignore"), found) == ((), ())


def _stack(name: str, policy: EnginePolicy | None) -> Stack:
    return Stack(name=name, source=Path(f"stacks/{name}.yml"), engine=Engine(policy=policy))


def test_host_settings_carry_the_policy_default_warn_and_none_without_engine() -> None:
    assert engine_for_host([_stack("a", None)], "h", []).policy == EnginePolicy("warn")
    bare = Stack(name="b", source=Path("stacks/b.yml"))
    assert engine_for_host([bare], "h", []).policy is None
    strict = EnginePolicy("fail", "high", ("CVE-1",))
    merged = engine_for_host([_stack("a", strict), _stack("b", None)], "h", [])
    assert merged.policy == strict


def test_two_stacks_with_different_policies_on_one_host_are_refused() -> None:
    with pytest.raises(EngineSettingsError, match="different engine settings: policy"):
        engine_for_host(
            [_stack("a", EnginePolicy("fail")), _stack("b", EnginePolicy("warn"))], "h", []
        )


def test_stack_file_policy_is_loaded(tmp_path: Path) -> None:
    f = tmp_path / "s.yml"
    f.write_text(
        "version: 1\nname: s\nengine:\n  policy:\n    advisories: fail\n"
        "    min_severity: high\n    allow: [CVE-2025-52565]\n"
    )
    (s,) = load_stacks([str(f)])
    assert s.engine is not None
    assert s.engine.policy == EnginePolicy("fail", "high", ("CVE-2025-52565",))


def test_bad_policy_value_is_a_validation_error(tmp_path: Path) -> None:
    f = tmp_path / "s.yml"
    f.write_text("version: 1\nname: s\nengine:\n  policy:\n    advisories: block\n")
    with pytest.raises(StackFileError) as err:
        load_stacks([str(f)])
    text = "\n".join(str(p) for p in err.value.problems)
    assert "engine.policy.advisories" in text and "block" in text


def test_verify_gathers_the_layers_and_fails_the_check_under_fail() -> None:
    from fleetform.verify.engine_checks import engine_checks, engine_needs
    from fleetform.verify.state import gather_script, parse_state

    settings = engine_for_host([_stack("a", EnginePolicy("fail", "high"))], "lab-1", [])
    needs = engine_needs(settings)
    assert needs.advisory_ids is not None and "CVE-2024-21626" in needs.advisory_ids
    assert "bin:runc" in gather_script(needs)
    state = parse_state((DATA / "lab-docker-io.txt").read_text(), needs)
    (check,) = [c for c in engine_checks(settings) if c.check == "advisories"]
    outcome = check.probe(state)
    assert not outcome.ok
    assert outcome.actual.startswith("affected by CVE-2025-31133 (runc)")
    warn = engine_for_host([_stack("a", EnginePolicy("warn", "high"))], "lab-1", [])
    (check,) = [c for c in engine_checks(warn) if c.check == "advisories"]
    assert check.probe(state).ok


def test_no_engine_section_no_advisory_check() -> None:
    from fleetform.verify.engine_checks import engine_checks, engine_needs

    settings = engine_for_host([Stack(name="b", source=Path("stacks/b.yml"))], "h", [])
    assert engine_needs(settings).advisory_ids is None
    assert all(c.check != "advisories" for c in engine_checks(settings))


def test_after_the_engine_deploy_fail_refuses_an_affected_or_unreadable_engine() -> None:
    from fleetform.engine.policy import still_affected

    advisories = load_advisories()
    lab = parse_layers("lab-1", (DATA / "lab-docker-io.txt").read_text())
    down = parse_layers("h", (DATA / "control-engine-down.txt").read_text())
    refusal = still_affected(EnginePolicy("fail", "high"), lab, advisories)
    assert refusal is not None and "still affected by CVE-2025-31133, CVE-2025-52565" in refusal
    assert still_affected(EnginePolicy("warn"), lab, advisories) is None
    allowed = EnginePolicy("fail", allow=("CVE-2025-31133", "CVE-2025-52565", "CVE-2025-52881"))
    assert still_affected(allowed, lab, advisories) is None
    refusal = still_affected(allowed, down, advisories)
    assert refusal is not None and "could not be judged (engine-down" in refusal


def test_fail_refuses_at_plan_a_host_whose_layers_cannot_be_read() -> None:
    from fleetform.engine.layers import HostLayers
    from fleetform.engine.policy import unjudged
    from fleetform.executor.observation import Observation, _with_policy
    from fleetform.plan import HostPlan

    down = parse_layers("h", (DATA / "control-engine-down.txt").read_text())
    assert down.status != "ok"
    unread = HostLayers("h", "no-engine", error="no dockerd binary on the host")
    reason = unjudged(EnginePolicy("fail"), unread)
    assert reason is not None and "could not be judged (no-engine: no dockerd binary" in reason
    assert unjudged(EnginePolicy("warn"), unread) is None
    lab = parse_layers("lab-1", (DATA / "lab-docker-io.txt").read_text())
    assert unjudged(EnginePolicy("fail"), lab) is None
    # No finding (nothing could be assessed) is no pass under fail...
    obs = Observation()
    hp = _with_policy(obs, HostPlan(host="h"), EnginePolicy("fail"), unread, ())
    assert len(hp.errors) == 1 and "could not be judged" in hp.errors[0]
    assert _with_policy(obs, HostPlan(host="h"), EnginePolicy("warn"), unread, ()).errors == ()
    # ...unless apply checks the engine again after starting it (engine pending).
    obs.engine_pending.add("h")
    hp = _with_policy(obs, HostPlan(host="h"), EnginePolicy("fail"), down, ())
    assert hp.errors == () and obs.policy_rechecks == {"h": EnginePolicy("fail")}
