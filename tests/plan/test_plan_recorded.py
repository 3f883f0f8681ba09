"""The idempotence invariant on real Docker output (tests/data/inspect/record.sh)."""

from __future__ import annotations

import json
from dataclasses import replace

from planbuilders import INSPECT, recorded, recorded_observed, recorded_stack, want

from fleetform.model import LABEL_CONFIG_HASH, NetworkAttachment, Service
from fleetform.observe import parse_observed
from fleetform.plan import plan_host
from fleetform.plan.diff import diff_specs
from fleetform.plan.spec import FIELDS, with_image_defaults


def _with_label(labels, key, value):
    return tuple(sorted({**dict(labels), key: value}.items()))


def _desired():
    return want([recorded_stack()], host="local")


def test_each_recorded_container_parses_back_to_the_spec_that_produced_it() -> None:
    observed = recorded_observed()
    image = observed.image("fleetform-test/busybox:1")
    assert image is not None
    for c in _desired().containers:
        have = observed.container(c.name)
        assert have is not None, c.name
        expected = with_image_defaults(c.spec, image.config)
        assert diff_specs(expected, have.spec) == (), c.name
        # The daemon's defaults (logging driver, runtime, IPC mode, /dev/shm size)
        # are not managed when the stack leaves them unset.
        defaults = {
            f.name: getattr(have.spec, f.name)
            for f in FIELDS
            if f.daemon_default and getattr(c.spec, f.name) is None
        }
        expected = replace(expected, **defaults)
        assert expected == have.spec, c.name


def test_a_host_that_matches_the_stack_has_an_empty_plan() -> None:
    desired = _desired()
    observed = recorded_observed()
    # The recorder could not know the hash; give the declared containers theirs.
    hashes = {c.name: c.config_hash for c in desired.containers}
    containers = tuple(
        replace(
            o, labels=tuple(sorted({**dict(o.labels), LABEL_CONFIG_HASH: hashes[o.name]}.items()))
        )
        for o in observed.containers
        if o.name in hashes
    )
    plan = plan_host(desired, replace(observed, containers=containers))
    assert plan.actions == ()
    assert plan.errors == ()
    assert plan.warnings == ()


def test_recorded_containers_of_the_stack_that_it_no_longer_declares_are_removed() -> None:
    plan = plan_host(_desired(), recorded_observed())
    removed = [a.resource for a in plan.actions if a.kind == "remove"]
    assert removed == ["fftest-job-1", "fftest-sick-1"]
    assert "fftest-byhand" not in str(plan.lines())


def test_a_hostname_equal_to_a_network_alias_is_not_drift() -> None:
    # stacks/full.yml's `cache`: the service name is an alias on its network
    # and `hostname: cache`.  Docker lists the shared name once, so the
    # observation cannot tell the declared alias from the one Docker adds for
    # the hostname; neither side may count it (it used to recreate every run).
    raw = recorded("container-cache.json")
    cache = Service(
        name="cache",
        image="fleetform-test/busybox:1",
        hostname="cache",
        networks=(NetworkAttachment("back"),),
    )
    s = replace(recorded_stack(), services=(cache,))
    desired = want([s], host="local")
    (c,) = desired.containers
    raw["Config"]["Labels"][LABEL_CONFIG_HASH] = c.config_hash
    image = recorded("image.json")
    doc = {
        "fleetform_observe": 1,
        "containers": [raw],
        "networks": json.loads((INSPECT / "networks.json").read_text()),
        "images": [{"ref": "fleetform-test/busybox:1", "inspect": [{**image, "Id": raw["Image"]}]}],
    }
    plan = plan_host(desired, parse_observed(json.dumps(doc)))
    assert [str(a.headline()) for a in plan.actions] == [], plan.lines()
    assert plan.errors == ()
