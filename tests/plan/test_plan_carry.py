"""A recreate carries anonymous volumes over, warns about those it leaves, and converges.

Recorded engine output (tests/data/inspect/record_volumes.sh): an image with
``VOLUME /var/lib/db``, a container from it with a declared anonymous volume
at ``/cache``, and its replacement created as a recreate does, with both
anonymous volumes mounted by name.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from planbuilders import IMAGE_CONFIG, INSPECT, assert_golden, converged, running, stack, svc, want

from fleetform.model import LABEL_CONFIG_HASH, Mount, Volume
from fleetform.observe import parse_observed
from fleetform.observe.inspect import anonymous_volumes, spec_from_inspect
from fleetform.plan import Plan, plan_host
from fleetform.plan.desired import HostDesired
from fleetform.plan.observed import Observed
from fleetform.plan.spec import MountSpec

VOLUME_IMAGE = "fleetform-test/volume:1"
CACHE = "dee8e38a65634f82ab92de2c01fcb1b878794c6331c408e6eb84f6b9e3dc1d9e"
DB = "c64868c2a31636f56690af0b5ac69f7b85b91526b33b74a27d6e736ca2325532"


def _load(name: str) -> dict[str, Any]:
    data: list[dict[str, Any]] = json.loads((INSPECT / name).read_text())
    return data[0]


def _db(**kw: Any) -> HostDesired:
    kw.setdefault("volumes", (Mount("volume", "/cache"),))
    s = stack(svc("db", image=VOLUME_IMAGE, command=("sleep", "3600"), **kw), name="fftest")
    return want([s], host="local")


def _observed(desired: HostDesired, container: str) -> Observed:
    """The recorded container as the observation reports it, labelled for ``desired``."""
    raw = _load(container)
    raw["Name"] = "/fftest-db-1"
    raw["Config"]["Labels"][LABEL_CONFIG_HASH] = desired.containers[0].config_hash
    raw["Config"]["Labels"]["fleetform.replica"] = "1"
    raw["State"].update(Status="running", Running=True)
    image = _load("image-volume.json")
    doc = {
        "fleetform_observe": 1,
        "containers": [raw],
        "images": [{"ref": VOLUME_IMAGE, "inspect": [image]}],
        "container_images": [image],
    }
    return parse_observed(json.dumps(doc))


def test_the_observation_lists_anonymous_volumes_image_ones_included() -> None:
    assert anonymous_volumes(_load("container-anonymous.json")) == (
        ("/cache", CACHE),
        ("/var/lib/db", DB),
    )


def test_which_anonymous_volume_is_mounted_is_not_configuration() -> None:
    fresh = spec_from_inspect(_load("container-anonymous.json")).mounts
    carried = spec_from_inspect(_load("container-carried.json")).mounts
    assert [m.key() for m in fresh] == ["volume /cache"]
    assert [m.key() for m in carried] == ["volume /cache", "volume /var/lib/db"]


def test_a_container_with_carried_anonymous_volumes_plans_nothing() -> None:
    # The idempotence check after a recreate: neither the volume's name at
    # /cache nor the explicit mount at the image's VOLUME is drift.
    d = _db()
    assert plan_host(d, _observed(d, "container-carried.json")).actions == ()
    assert plan_host(d, _observed(d, "container-anonymous.json")).actions == ()


def test_a_recreate_carries_declared_and_image_declared_anonymous_volumes() -> None:
    d = _db(environment=(("MODE", "new"),))
    plan = plan_host(d, _observed(d, "container-anonymous.json"))
    (action,) = plan.actions
    assert action.kind == "recreate"
    assert action.carried_volumes == (("/cache", CACHE), ("/var/lib/db", DB))
    assert plan.warnings == ()


def test_an_anonymous_volume_replaced_by_a_named_one_is_left_with_a_warning() -> None:
    s = stack(
        svc(
            "db",
            image=VOLUME_IMAGE,
            command=("sleep", "3600"),
            volumes=(Mount("volume", "/cache", "data"),),
        ),
        name="fftest",
        volumes=(Volume("data", "fftest_data"),),
    )
    d = want([s], host="local")
    plan = plan_host(d, _observed(d, "container-anonymous.json"))
    (action,) = [a for a in plan.actions if a.kind == "recreate"]
    assert action.carried_volumes == (("/var/lib/db", DB),)
    assert plan.warnings == (
        f"recreating fftest-db-1 leaves anonymous volume {CACHE} (at /cache) unmounted: "
        "the stack mounts volume fftest_data there now; its data stays in that volume, "
        "which fleetform never removes",
    )


def case_recreate_discards_anonymous_volumes() -> tuple[HostDesired, Observed]:
    """web-1: /cache is still declared anonymous (carried), /scratch is gone
    from the stack and the image (left, warned); db-1: /var/lib/db becomes a
    bind mount (left, warned); web-2 has only the writable layer (no warning)."""
    web = svc("web", replicas=2, volumes=(Mount("volume", "/cache"),))
    db = svc("db", volumes=(Mount("bind", "/var/lib/db", "/srv/db"),))
    d = want([stack(web, db)])
    by_name = {c.name: c for c in d.containers}
    old_env = (*IMAGE_CONFIG.env, ("OLD", "1"))
    containers = [
        replace(
            running(
                by_name["demo-web-1"],
                env=old_env,
                mounts=(MountSpec("volume", "/cache"), MountSpec("volume", "/scratch")),
            ),
            anonymous_volumes=(("/cache", "a" * 64), ("/scratch", "b" * 64)),
        ),
        running(by_name["demo-web-2"], env=old_env),
        replace(
            running(by_name["demo-db-1"], mounts=()),
            anonymous_volumes=(("/var/lib/db", "c" * 64),),
        ),
    ]
    return d, replace(converged(d), containers=tuple(sorted(containers, key=lambda c: c.name)))


def test_the_plan_warns_when_a_recreate_leaves_anonymous_volumes() -> None:
    desired, observed = case_recreate_discards_anonymous_volumes()
    host_plan = plan_host(desired, observed)
    text = str(Plan.from_hosts([host_plan]))
    assert_golden(text, "recreate_discards_anonymous_volumes")
    carried = {a.resource: a.carried_volumes for a in host_plan.actions}
    assert carried == {
        "demo-db-1": (),
        "demo-web-1": (("/cache", "a" * 64),),
        "demo-web-2": (),
    }
