"""Ownership on the host: stack, key, service and stack file labels (golden plans).

Regenerate with ``FLEETFORM_UPDATE_GOLDEN=1`` and review the diff, as for
tests/plan/test_plan_golden.py.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from planbuilders import assert_plan_golden, host_state, running, stack, svc, want

from fleetform.model import LABEL_STACK_FILE, Mount, Network, NetworkAttachment, Volume
from fleetform.plan import plan_host
from fleetform.plan.desired import HostDesired
from fleetform.plan.observed import Observed, ObservedContainer, ObservedNetwork, ObservedVolume


def web(name: str = "web", source: str = "teams/b/web.yml", *services: str) -> object:
    s = stack(
        *(svc(n, volumes=(Mount("volume", "/data", "data"),)) for n in (services or ("app",))),
        name=name,
        volumes=(Volume("data", f"{name}_data"),),
    )
    return replace(s, source=Path(source))


def _labels(
    kind: str, stack_name: str, key: str, identity: str | None
) -> tuple[tuple[str, str], ...]:
    labels = {"fleetform.stack": stack_name, f"fleetform.{kind}": key}
    if identity is not None:
        labels[LABEL_STACK_FILE] = identity
    return tuple(sorted(labels.items()))


def _volume(name: str, stack_name: str, key: str, identity: str | None) -> ObservedVolume:
    return ObservedVolume(name, "local", (), _labels("volume", stack_name, key, identity))


def _converged(d: HostDesired, *extra: ObservedContainer, **kw: object) -> Observed:
    containers = [running(c) for c in d.containers]
    kw.setdefault(
        "volumes",
        tuple(_volume(v.name, v.stack, v.volume.name, v.identity) for v in d.volumes),
    )
    return host_state(d, *containers, *extra, **kw)


def _from_file(c: ObservedContainer, identity: str | None) -> ObservedContainer:
    labels = {k: v for k, v in c.labels if k != LABEL_STACK_FILE}
    if identity is not None:
        labels[LABEL_STACK_FILE] = identity
    return replace(c, labels=tuple(sorted(labels.items())))


def case_same_stack_name_from_another_file_is_never_removed() -> tuple[HostDesired, Observed]:
    # Team A applied teams/a/web.yml (stack web: app, worker); team B's
    # teams/b/web.yml declares stack web with app only.
    team_a = want([web("web", "teams/a/web.yml", "app", "worker")])
    d = want([web("web", "teams/b/web.yml", "app")])
    worker = next(running(c) for c in team_a.containers if c.service.name == "worker")
    return d, _converged(d, worker)


def case_a_container_of_another_file_with_the_desired_name_is_an_error() -> tuple[
    HostDesired, Observed
]:
    team_a = want([web("web", "teams/a/web.yml", "app")])
    d = want([web("web", "teams/b/web.yml", "app")])
    return d, host_state(
        d,
        *(running(c) for c in team_a.containers),
        volumes=(_volume("web_data", "web", "data", "teams/a/web.yml"),),
    )


def case_renamed_stack_leftovers_are_reported() -> tuple[HostDesired, Observed]:
    old = want([web("shop", "teams/b/web.yml", "app")])
    d = want([web("web", "teams/b/web.yml", "app")])
    obs = _converged(d, *(running(c) for c in old.containers))
    return d, replace(obs, volumes=(*obs.volumes, _volume("shop_data", "shop", "data", None)))


def case_containers_without_a_file_label_are_this_files() -> tuple[HostDesired, Observed]:
    # Made by an earlier version: no fleetform.stack-file label.  They are
    # this file's, so the orphan is removed and the others are not errors.
    old = want([web("web", "teams/b/web.yml", "app", "worker")])
    d = want([web("web", "teams/b/web.yml", "app")])
    containers = tuple(_from_file(running(c), None) for c in old.containers)
    return d, host_state(d, *containers, volumes=(_volume("web_data", "web", "data", None),))


def case_a_volume_of_another_stack_with_the_same_docker_name_is_an_error() -> tuple[
    HostDesired, Observed
]:
    # app_prod + volume db and app + volume prod_db are both app_prod_db.
    s = stack(
        svc("x", volumes=(Mount("volume", "/data", "db"),)),
        name="app_prod",
        volumes=(Volume("db", "app_prod_db"),),
    )
    d = want([s])
    obs = _converged(d, volumes=(_volume("app_prod_db", "app", "prod_db", "stacks/app.yml"),))
    return d, obs


def case_a_volume_of_another_key_is_an_error_and_not_removed() -> tuple[HostDesired, Observed]:
    s = stack(
        svc("x", volumes=(Mount("volume", "/data", "data"),)),
        volumes=(
            Volume("data", "demo_data"),
            Volume("old", "demo_old", state="absent"),
        ),
    )
    d = want([s])
    return d, _converged(
        d,
        volumes=(
            _volume("demo_data", "demo", "cache", None),
            _volume("demo_old", "demo", "old", "elsewhere/demo.yml"),
        ),
    )


def case_a_network_of_another_stack_is_an_error_of_another_file_a_warning() -> tuple[
    HostDesired, Observed
]:
    s = stack(
        svc("x", networks=(NetworkAttachment("back"), NetworkAttachment("front"))),
        networks=(Network("back", "demo_back"), Network("front", "demo_front")),
    )
    d = want([s])
    nets = (
        ObservedNetwork(
            "demo_back", "i1", "bridge", False, False, (), _labels("network", "de", "mo_back", None)
        ),
        ObservedNetwork(
            "demo_front",
            "i2",
            "bridge",
            False,
            False,
            (),
            _labels("network", "demo", "front", "x/demo.yml"),
        ),
    )
    return d, _converged(d, networks=nets)


def case_a_container_of_another_service_is_an_error() -> tuple[HostDesired, Observed]:
    d = want([stack(svc("web"))])
    [c] = [running(x) for x in d.containers]
    labels = tuple((k, "api" if k == "fleetform.service" else v) for k, v in c.labels)
    return d, host_state(d, replace(c, labels=labels))


CASES = {
    name.removeprefix("case_"): fn
    for name, fn in sorted(globals().items())
    if name.startswith("case_") and callable(fn)
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_ownership_plan_matches_the_golden_file(name: str) -> None:
    assert_plan_golden(*CASES[name](), f"ownership_{name}")


def test_another_files_containers_are_never_removed() -> None:
    desired, observed = case_same_stack_name_from_another_file_is_never_removed()
    plan = plan_host(desired, observed)
    assert [a for a in plan.actions if a.kind == "remove"] == []
    assert any("teams/a/web.yml" in w for w in plan.warnings)


def test_a_stack_file_labels_everything_it_creates() -> None:
    from fleetform.executor.argv import (
        container_create_argv,
        network_create_argv,
        volume_create_argv,
    )

    s = replace(
        stack(
            svc(
                "x", networks=(NetworkAttachment("back"),), volumes=(Mount("volume", "/d", "data"),)
            )
        ),
        networks=(Network("back", "demo_back"),),
        volumes=(Volume("data", "demo_data"),),
        identity="deploy/demo.yml",
    )
    d = want([s])
    for argv in (
        container_create_argv(d.containers[0]),
        network_create_argv(d.networks[0]),
        volume_create_argv(d.volumes[0]),
    ):
        assert "fleetform.stack-file=deploy/demo.yml" in argv
