"""The rollout plan: which recreates run in which batch, and what a failed batch leads to."""

from __future__ import annotations

from planbuilders import stack, svc, want

from fleetform.model import RolloutConfig
from fleetform.plan.actions import Action, HostPlan
from fleetform.plan.rollout import after_batch, prepare_plans, rollout_plan

HOSTS = ("lab-1", "lab-2", "lab-3")
S = 1_000_000_000


def _plans(*services, extra=True) -> dict[str, HostPlan]:  # type: ignore[no-untyped-def]
    st = stack(*services)
    plans = {}
    for host in HOSTS:
        actions = [Action(host, "pull", "img", "missing", "missing")] if extra else []
        for c in want([st], host).containers:
            actions.append(
                Action(host, "recreate", c.name, "image changed", "image_changed", container=c)
            )
        plans[host] = HostPlan(host, tuple(actions))
    return plans


def test_parallelism_1_replaces_one_container_at_a_time_across_hosts() -> None:
    rollout = rollout_plan(_plans(svc("web")))
    assert str(rollout) == (
        "stack demo, service web: 3 container(s) in 3 batch(es) "
        "(stop-first, monitor 5s, delay 0s, on failure rollback)\n"
        "  batch 1: lab-1 demo-web-1\n"
        "  batch 2: lab-2 demo-web-1\n"
        "  batch 3: lab-3 demo-web-1"
    )


def test_a_percentage_counts_every_replica_on_every_host_replicas_first() -> None:
    config = RolloutConfig(
        parallelism=50, parallelism_percent=True, delay=2 * S, failure_action="pause"
    )
    rollout = rollout_plan(_plans(svc("web", replicas=2, update_config=config), svc("db")))
    assert str(rollout) == (
        "stack demo, service db: 3 container(s) in 3 batch(es) "
        "(stop-first, monitor 5s, delay 0s, on failure rollback)\n"
        "  batch 1: lab-1 demo-db-1\n"
        "  batch 2: lab-2 demo-db-1\n"
        "  batch 3: lab-3 demo-db-1\n"
        "stack demo, service web: 6 container(s) in 2 batch(es) "
        "(stop-first, monitor 5s, delay 2s, on failure pause)\n"
        "  batch 1: lab-1 demo-web-1, lab-2 demo-web-1, lab-3 demo-web-1\n"
        "  batch 2: lab-1 demo-web-2, lab-2 demo-web-2, lab-3 demo-web-2"
    )


def test_skipped_hosts_and_stopped_services_are_not_rolled() -> None:
    plans = _plans(svc("web"), svc("off", state="stopped"))
    rollout = rollout_plan(plans, skip={"lab-2"})
    assert [str(u) for u in rollout.units] == ["lab-1 demo-web-1", "lab-3 demo-web-1"]


def test_the_preparing_plans_keep_every_other_action() -> None:
    plans = _plans(svc("web"))
    prepared = prepare_plans(plans, rollout_plan(plans, skip={"lab-2"}))
    assert [a.kind for a in prepared["lab-1"].actions] == ["pull"]
    assert [a.kind for a in prepared["lab-2"].actions] == ["pull", "recreate"]


def test_a_failure_above_the_ratio_leads_to_the_failure_action() -> None:
    assert after_batch(RolloutConfig(), failed=0, attempted=3) == "next"
    assert after_batch(RolloutConfig(), failed=1, attempted=3) == "rollback"
    assert after_batch(RolloutConfig(failure_action="pause"), failed=1, attempted=3) == "pause"
    assert after_batch(RolloutConfig(failure_action="continue"), failed=3, attempted=3) == "next"
    assert after_batch(RolloutConfig(max_failure_ratio=0.34), failed=1, attempted=3) == "next"
    assert after_batch(RolloutConfig(max_failure_ratio=0.3), failed=1, attempted=3) == "rollback"
