"""`pull: always`: a pull counts as a change only when the registry serves another image.

Golden plans (tests/plan/golden/pull_always_*.txt; regenerate with
FLEETFORM_UPDATE_GOLDEN=1 and review the diff) for the answers observation
can bring back: the same digest, another digest, a failed question, and no
answer at all (the docker CLI path cannot ask).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from planbuilders import (
    IMAGE_CONFIG,
    IMAGE_ID,
    assert_plan_golden,
    host_state,
    running,
    stack,
    svc,
    want,
)

from fleetform.plan import Plan, plan_host
from fleetform.plan.desired import HostDesired
from fleetform.plan.observed import Observed, ObservedImage, RegistryAnswer

FRESH = "registry.lab:5000/fleetform/fresh:1"
HOST_DIGEST = "sha256:" + "d1" * 32
NEW_DIGEST = "sha256:" + "e2" * 32


def _desired() -> HostDesired:
    # `fresh` follows its registry; `web` (pull: missing) shares nothing with it.
    return want(
        [stack(svc("fresh", image=FRESH, pull="always", replicas=2), svc("web"))], host="host-a"
    )


def _converged(*answers: RegistryAnswer) -> tuple[HostDesired, Observed]:
    d = _desired()
    obs = host_state(d, *(running(c) for c in d.containers))
    images = tuple(
        replace(i, repo_digests=(f"registry.lab:5000/fleetform/fresh@{HOST_DIGEST}",))
        if i.ref == FRESH
        else i
        for i in obs.images
    )
    return d, replace(obs, images=images, registry=answers)


def case_pull_always_registry_serves_what_the_host_has() -> tuple[HostDesired, Observed]:
    return _converged(RegistryAnswer(FRESH, HOST_DIGEST))


def case_pull_always_registry_serves_another_image() -> tuple[HostDesired, Observed]:
    return _converged(RegistryAnswer(FRESH, NEW_DIGEST))


def case_pull_always_registry_cannot_be_reached() -> tuple[HostDesired, Observed]:
    error = 'Get "https://registry.lab:5000/v2/": dial tcp: lookup registry.lab: no such host'
    return _converged(RegistryAnswer(FRESH, None, error))


def case_pull_always_registry_digest_unknown() -> tuple[HostDesired, Observed]:
    return _converged()  # observed on the docker CLI path: no answer at all


def case_pull_always_image_missing_on_the_host() -> tuple[HostDesired, Observed]:
    d, obs = _converged(RegistryAnswer(FRESH, NEW_DIGEST))
    return d, replace(obs, images=tuple(i for i in obs.images if i.ref != FRESH))


CASES = {
    name.removeprefix("case_"): fn
    for name, fn in sorted(globals().items())
    if name.startswith("case_pull_always_") and callable(fn)
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan_text_matches_the_golden_file(name: str) -> None:
    assert_plan_golden(*CASES[name](), name)


def _plan(name: str) -> Plan:
    desired, observed = CASES[name]()
    return Plan.from_hosts([plan_host(desired, observed)])


def test_the_registry_serving_what_the_host_has_is_no_change() -> None:
    # What `plan --detailed-exitcode` and a drift check read.
    plan = _plan("pull_always_registry_serves_what_the_host_has")
    assert not plan.has_changes
    assert plan.to_json()["hosts"][0]["actions"] == []


def test_another_image_in_the_registry_pulls_it_and_recreates_only_its_containers() -> None:
    plan = _plan("pull_always_registry_serves_another_image")
    assert plan.has_changes
    kinds = [(a.kind, a.resource) for a in plan.hosts[0].actions]
    assert kinds == [
        ("pull", FRESH),
        ("recreate", "demo-fresh-1"),
        ("recreate", "demo-fresh-2"),
    ]
    (pull, *recreates) = plan.hosts[0].actions
    assert "e2e2e2e2e2e2" in pull.reason
    for action in recreates:
        assert [str(c) for c in action.changes] == [
            f"image id: {IMAGE_ID[7:19]} -> registry digest e2e2e2e2e2e2"
        ]


def test_a_registry_that_cannot_be_asked_is_a_warning_and_changes_nothing() -> None:
    plan = _plan("pull_always_registry_cannot_be_reached")
    assert not plan.has_changes
    (warning,) = plan.hosts[0].warnings
    assert FRESH in warning and "no such host" in warning and "not pulled" in warning


def test_an_unknown_registry_digest_counts_as_a_change_and_says_why() -> None:
    plan = _plan("pull_always_registry_digest_unknown")
    (pull,) = plan.hosts[0].actions
    assert plan.has_changes and pull.kind == "pull"
    assert "registry digest unknown" in pull.reason


def test_a_locally_built_image_with_no_repo_digest_is_pulled_when_the_registry_has_one() -> None:
    # An image that was built or loaded by hand under the reference has no
    # RepoDigests: it is not what the registry serves.
    d, obs = _converged(RegistryAnswer(FRESH, HOST_DIGEST))
    bare = tuple(replace(i, repo_digests=()) for i in obs.images)
    plan = plan_host(d, replace(obs, images=bare))
    assert [a.kind for a in plan.actions] == ["pull", "recreate", "recreate"]


def test_a_digest_in_another_images_repo_digests_does_not_count() -> None:
    d, obs = _converged(RegistryAnswer(FRESH, NEW_DIGEST))
    other = ObservedImage("other:1", IMAGE_ID, IMAGE_CONFIG, (f"other@{NEW_DIGEST}",))
    plan = plan_host(d, replace(obs, images=(*obs.images, other)))
    assert [a.kind for a in plan.actions][:1] == ["pull"]
