"""A rolled-out replica's previous container, kept stopped for a rollback (docs/rollouts.md).

It is neither drift nor an orphan while its container is declared; it goes
with the container when the stack stops declaring it, and a running one is
the leftover of an interrupted run.
"""

from __future__ import annotations

from dataclasses import replace

from planbuilders import converged, running, stack, svc, want

from fleetform.model import KEPT_SUFFIX
from fleetform.plan import plan_host


def _kept(c: object, status: str = "exited") -> object:
    return replace(running(c, status=status), name=c.name + KEPT_SUFFIX)  # type: ignore[attr-defined]


def test_a_stopped_kept_container_of_a_declared_container_is_no_change() -> None:
    desired = want([stack(svc("web"))])
    (c,) = desired.containers
    observed = converged(desired)
    observed = replace(observed, containers=(*observed.containers, _kept(c)))
    assert plan_host(desired, observed).actions == ()


def test_the_kept_container_goes_when_the_stack_stops_declaring_its_container() -> None:
    before = want([stack(svc("web"), svc("api"))])
    api = next(c for c in before.containers if c.service.name == "api")
    desired = want([stack(svc("web"))])
    observed = converged(desired)
    observed = replace(observed, containers=(*observed.containers, running(api), _kept(api)))
    removed = sorted(a.resource for a in plan_host(desired, observed).actions)
    assert removed == ["demo-api-1", "demo-api-1" + KEPT_SUFFIX]
    assert {a.reason_code for a in plan_host(desired, observed).actions} == {"orphan"}


def test_a_running_kept_container_is_a_leftover_and_is_removed() -> None:
    desired = want([stack(svc("web"))])
    (c,) = desired.containers
    observed = converged(desired)
    observed = replace(observed, containers=(*observed.containers, _kept(c, "running")))
    (action,) = plan_host(desired, observed).actions
    assert (action.kind, action.resource) == ("remove", "demo-web-1" + KEPT_SUFFIX)


def test_the_kept_container_goes_with_a_service_set_to_state_absent() -> None:
    before = want([stack(svc("web"))])
    (c,) = before.containers
    desired = want([stack(svc("web", state="absent"))])
    observed = converged(before)
    observed = replace(observed, containers=(*observed.containers, _kept(c)))
    removed = sorted(a.resource for a in plan_host(desired, observed).actions if a.kind == "remove")
    assert "demo-web-1" + KEPT_SUFFIX in removed
