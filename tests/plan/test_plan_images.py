"""Images: loaded from an archive or built when missing, never pulled; pulled per `pull:`."""

from __future__ import annotations

from pathlib import Path

from planbuilders import IMAGE_CONFIG, IMAGE_ID, stack, svc, want

from fleetform.model import Build
from fleetform.observe import Observed, ObservedImage
from fleetform.plan import plan_host

ARCHIVE = Path("/srv/images/app-7.tar")


def _image_actions(service_kw: dict[str, object], present: bool) -> list[tuple[str, str]]:
    d = want([stack(svc("app", image="vendor/app:7", **service_kw))])
    images = (ObservedImage("vendor/app:7", IMAGE_ID, IMAGE_CONFIG),) if present else ()
    plan = plan_host(d, Observed(images=images))
    assert not plan.errors
    return [(a.kind, a.reason) for a in plan.actions if a.resource_type == "image"]


def test_a_missing_image_with_an_archive_is_loaded_even_with_pull_never() -> None:
    for pull in ("never", "missing"):
        actions = _image_actions({"image_archive": ARCHIVE, "pull": pull}, present=False)
        assert actions == [("load", "missing: load app-7.tar")]


def test_a_missing_image_with_build_and_image_is_built_under_that_reference() -> None:
    d = want([stack(svc("app", image="vendor/app:7", build=Build(Path("/src/app"))))])
    (action,) = [a for a in plan_host(d, Observed()).actions if a.resource_type == "image"]
    assert (action.kind, action.resource) == ("build", "vendor/app:7")
    assert action.image is not None and action.image.build == Build(Path("/src/app"))


def test_a_present_built_or_loaded_image_is_left_alone_even_with_pull_always() -> None:
    # The loader refuses `pull: always` with them; a hand-made model must
    # still never pull an image that exists only on the host.
    for kw in ({"image_archive": ARCHIVE}, {"build": Build(Path("/src/app"))}):
        for pull in ("never", "missing", "always"):
            assert _image_actions({**kw, "pull": pull}, present=True) == []


def test_a_registry_image_is_pulled_when_missing_or_always() -> None:
    assert _image_actions({}, present=False) == [("pull", "missing: pull")]
    # No registry answer in the observation: the pull counts as a change
    # (tests/plan/test_plan_pull_always.py has the answered cases).
    assert _image_actions({"pull": "always"}, present=True) == [
        ("pull", "pull: always (registry digest unknown: observed without the Docker API)")
    ]
    assert _image_actions({}, present=True) == []


def test_a_service_naming_an_image_another_service_builds_shares_the_build() -> None:
    # Compose's usual pair: `worker` runs the image `app` builds.  Sorted by
    # name, the plain service comes first and must not turn the build into a pull.
    s = stack(
        svc("worker", image="vendor/app:7"),
        svc("app", image="vendor/app:7", build=Build(Path("/src/app"))),
    )
    actions = plan_host(want([s]), Observed()).actions
    assert [(a.kind, a.resource) for a in actions if a.resource_type == "image"] == [
        ("build", "vendor/app:7")
    ]
