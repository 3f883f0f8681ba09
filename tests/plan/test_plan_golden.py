"""Table-driven planner tests: desired + observed in, golden plan text out.

Regenerate the golden files after an intended change with
``FLEETFORM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/plan`` and review the diff.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from planbuilders import (
    IMAGE_CONFIG,
    IMAGE_ID,
    assert_plan_golden,
    converged,
    host_state,
    running,
    stack,
    svc,
    want,
)

from fleetform.model import (
    Build,
    Dependency,
    Mount,
    Network,
    NetworkAttachment,
    Port,
    Resources,
    RestartPolicy,
    Volume,
)
from fleetform.plan import Plan, plan_host
from fleetform.plan.desired import HostDesired
from fleetform.plan.observed import Observed, ObservedImage, ObservedNetwork, ObservedVolume
from fleetform.stackfile.environment import build_environment
from fleetform.stackfile.problems import Report

MiB = 1 << 20


def demo(**web_kw: object):
    """web (2 replicas) on a network with a volume, behind db."""
    web_kw.setdefault("replicas", 2)
    return stack(
        svc(
            "web",
            environment=(("DB_PASSWORD", "s3cret"), ("LOG_LEVEL", "info")),
            secret_keys=frozenset({"DB_PASSWORD"}),
            ports=(Port(80, 8080),),
            networks=(NetworkAttachment("back"),),
            depends_on=(Dependency("db"),),
            **web_kw,
        ),
        svc(
            "db",
            image="registry.lab:5000/fleetform/db:15",
            volumes=(Mount("volume", "/var/lib/db", "data"),),
            networks=(NetworkAttachment("back"),),
        ),
        networks=(Network("back", "demo_back"),),
        volumes=(Volume("data", "demo_data"),),
    )


def resources(d: HostDesired) -> dict[str, object]:
    """Networks and volumes of ``d`` as fleetform would have created them."""
    return {
        "networks": tuple(
            ObservedNetwork(
                n.name, "id", "bridge", False, False, (), (("fleetform.stack", n.stack),)
            )
            for n in d.networks
        ),
        "volumes": tuple(
            ObservedVolume(v.name, "local", (), (("fleetform.stack", v.stack),)) for v in d.volumes
        ),
    }


def same_host(d: HostDesired, **changes_by_name: dict[str, object]) -> Observed:
    """The converged host, with some containers drifted (name -> spec/state changes)."""
    containers = []
    for c in d.containers:
        if c.state == "absent":
            continue
        kw = changes_by_name.get(c.name, {})
        if kw is None:
            continue
        containers.append(running(c, **kw))
    return host_state(d, *containers, **resources(d))


def case_empty_host() -> tuple[HostDesired, Observed]:
    d = want([demo()])
    return d, host_state(d, images=())


def case_no_change() -> tuple[HostDesired, Observed]:
    d = want([demo()])
    return d, same_host(d)


def _drift(**per_container: dict[str, object]) -> Callable[[], tuple[HostDesired, Observed]]:
    def build() -> tuple[HostDesired, Observed]:
        d = want([demo()])
        base = {c.name: c for c in d.containers}
        changes = {}
        for name, kw in per_container.items():
            spec = base[name].spec
            resolved = {k: (v(spec) if callable(v) else v) for k, v in kw.items()}
            changes[name] = resolved
        return d, same_host(d, **changes)

    return build


def _env(**kv: str | None):
    def change(spec):
        env = dict(IMAGE_CONFIG.env) | dict(spec.env)
        for k, v in kv.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return tuple(sorted(env.items()))

    return change


case_env_change = _drift(**{"demo-web-1": {"env": _env(LOG_LEVEL="debug")}})
case_env_key_removed_from_stack = _drift(**{"demo-web-1": {"env": _env(OLD_FLAG="1")}})
case_secret_changed_is_masked = _drift(**{"demo-web-2": {"env": _env(DB_PASSWORD="old")}})
case_port_added = _drift(**{"demo-web-1": {"ports": ()}})
case_image_tag_change = _drift(**{"demo-web-1": {"image": "registry.lab:5000/fleetform/demo:0"}})
case_restart_change_updates_in_place = _drift(**{"demo-db-1": {"restart": "always"}})


def case_memory_change_updates_in_place() -> tuple[HostDesired, Observed]:
    s = demo()
    db = replace(s.services[1], resources=Resources(memory=128 * MiB))
    d = want([replace(s, services=(s.services[0], db))])
    by_name = {c.name: c for c in d.containers}
    obs = same_host(d)
    containers = tuple(
        running(by_name[c.name], memory=256 * MiB) if c.name == "demo-db-1" else c
        for c in obs.containers
    )
    return d, replace(obs, containers=containers)


def case_memory_limit_removed_recreates() -> tuple[HostDesired, Observed]:
    d = want([demo()])
    return d, same_host(d, **{"demo-db-1": {"memory": 256 * MiB}})


def case_same_tag_new_image_id() -> tuple[HostDesired, Observed]:
    d = want([demo()])
    obs = same_host(d)
    old = "sha256:" + "0f" * 32
    containers = tuple(
        replace(c, image_id=old) if c.name == "demo-web-2" else c for c in obs.containers
    )
    return d, replace(obs, containers=containers)


def case_config_hash_only() -> tuple[HostDesired, Observed]:
    d = want([demo()])
    obs = same_host(d)
    containers = tuple(
        replace(
            c,
            labels=tuple(
                (k, "v1:" + "9" * 64 if k == "fleetform.config-hash" else v) for k, v in c.labels
            ),
        )
        if c.name == "demo-db-1"
        else c
        for c in obs.containers
    )
    return d, replace(obs, containers=containers)


def _status(name: str, status: str, exit_code: int = 0):
    def build() -> tuple[HostDesired, Observed]:
        d = want([demo()])
        obs = same_host(d)
        containers = tuple(
            replace(c, status=status, exit_code=exit_code) if c.name == name else c
            for c in obs.containers
        )
        return d, replace(obs, containers=containers)

    return build


case_stopped_container_is_started = _status("demo-web-1", "exited", 137)


def case_unhealthy_container_is_recreated() -> tuple[HostDesired, Observed]:
    d = want([demo()])
    obs = same_host(d)
    containers = tuple(
        replace(c, health="unhealthy", health_log="wget: 404") if c.name == "demo-web-1" else c
        for c in obs.containers
    )
    return d, replace(obs, containers=containers)


def case_dead_or_paused_container_is_recreated() -> tuple[HostDesired, Observed]:
    d = want([demo()])
    obs = same_host(d)
    status = {"demo-web-1": "dead", "demo-web-2": "paused"}
    containers = tuple(replace(c, status=status.get(c.name, c.status)) for c in obs.containers)
    return d, replace(obs, containers=containers)


def case_stopped_and_drifted_is_recreated() -> tuple[HostDesired, Observed]:
    d, obs = _drift(**{"demo-web-1": {"env": _env(LOG_LEVEL="debug")}})()
    containers = tuple(
        replace(c, status="exited") if c.name == "demo-web-1" else c for c in obs.containers
    )
    return d, replace(obs, containers=containers)


def case_missing_container_is_created() -> tuple[HostDesired, Observed]:
    d = want([demo()])
    return d, same_host(d, **{"demo-web-2": None})


def case_orphan_service_is_removed() -> tuple[HostDesired, Observed]:
    old = want([demo()])
    d = want([stack(*demo().services[1:], networks=demo().networks, volumes=demo().volumes)])
    return d, same_host(old)


def case_replica_count_lowered() -> tuple[HostDesired, Observed]:
    old = want([demo(replicas=3)])
    return want([demo()]), same_host(old)


def case_name_clash_with_unmanaged_is_an_error() -> tuple[HostDesired, Observed]:
    d = want([demo()])
    obs = same_host(d, **{"demo-web-2": None})
    return d, replace(obs, unmanaged=("demo-web-2",))


def case_unmanaged_containers_never_appear() -> tuple[HostDesired, Observed]:
    d = want([demo()])
    return d, replace(same_host(d), unmanaged=("lab-registry", "someones-postgres"))


def case_other_stacks_are_left_alone() -> tuple[HostDesired, Observed]:
    other = want([stack(svc("cache"), name="other")])
    d = want([demo()])
    obs = same_host(d)
    return d, replace(obs, containers=obs.containers + same_host(other).containers)


def case_state_stopped_and_absent() -> tuple[HostDesired, Observed]:
    old = want([demo()])
    s = demo(state="stopped")
    s = replace(s, services=(s.services[0], replace(s.services[1], state="absent")))
    return want([s]), same_host(old)


def case_depends_on_order() -> tuple[HostDesired, Observed]:
    s = stack(
        svc("api", depends_on=(Dependency("db", "service_healthy"),)),
        svc("aardvark", depends_on=(Dependency("api"),)),
        svc("db"),
        svc("migrate", depends_on=(Dependency("db"),)),
    )
    s = replace(
        s,
        services=(
            replace(
                s.services[0], depends_on=(Dependency("migrate", "service_completed_successfully"),)
            ),
            *s.services[1:],
        ),
    )
    d = want([s])
    return d, host_state(d)


def case_volume_state_absent_removes_it() -> tuple[HostDesired, Observed]:
    s = demo()
    d = want([replace(s, volumes=(*s.volumes, Volume("cache", "demo_cache", state="absent")))])
    obs = same_host(d)
    extra = (
        ObservedVolume("demo_cache", "local", (), (("fleetform.stack", "demo"),)),
        ObservedVolume("demo_old", "local", (), (("fleetform.stack", "demo"),)),
    )
    return d, replace(obs, volumes=obs.volumes + extra)


def case_external_network_missing_is_an_error() -> tuple[HostDesired, Observed]:
    s = demo()
    d = want([replace(s, networks=(Network("back", "shared_back", external=True),))])
    obs = same_host(d)
    return d, replace(obs, networks=())


def case_network_drift_is_a_warning() -> tuple[HostDesired, Observed]:
    d = want([demo()])
    obs = same_host(d)
    net = replace(obs.networks[0], driver="macvlan")
    return d, replace(obs, networks=(net,))


def case_images_pulled_built_or_loaded_when_missing() -> tuple[HostDesired, Observed]:
    s = stack(
        svc("web"),
        svc("app", image="demo-app:latest", build=Build(Path("/src/app"))),
        svc("air", image="vendor/air:3", image_archive=Path("/srv/images/air-3.tar")),
        svc("fixed", image="vendor/fixed:1", pull="never"),
        svc("fresh", image="vendor/fresh:1", pull="always"),
    )
    d = want([s])
    images = (ObservedImage("vendor/fresh:1", IMAGE_ID, IMAGE_CONFIG),)
    return d, Observed(images=images)


def case_restart_and_resources_with_no_other_change() -> tuple[HostDesired, Observed]:
    s = demo(
        restart=RestartPolicy("unless-stopped"), resources=Resources(cpus=1.5, memory=128 * MiB)
    )
    d = want([s])
    old = want([demo()])
    return d, same_host(old)


#: a secret whose name does not look secret: only the stack (env_file, pass-through)
#: or the container's fleetform.secret-keys label can tell.
DB_URL = "postgres://app:s3cret@db/app"
DB_URL_LITERAL = "postgres://app:literal-in-the-stack@db/app"


def with_db_url(value: str = DB_URL, secret: bool = True):
    """demo(), whose web service also has DATABASE_URL."""
    s = demo()
    web = s.services[0]
    env = dict(web.environment)
    env["DATABASE_URL"] = value
    keys = web.secret_keys | {"DATABASE_URL"} if secret else web.secret_keys
    web = replace(web, environment=tuple(sorted(env.items())), secret_keys=keys)
    return replace(s, services=(web, *s.services[1:]))


def case_secret_key_removed_from_stack_is_masked() -> tuple[HostDesired, Observed]:
    # The old value is known only from the host; its label says it was secret.
    return want([demo()]), same_host(want([with_db_url()]))


def case_secret_turned_into_a_literal_is_masked() -> tuple[HostDesired, Observed]:
    return want([with_db_url(DB_URL_LITERAL, secret=False)]), same_host(want([with_db_url()]))


def case_pass_through_unset_on_the_plan_machine_is_masked() -> tuple[HostDesired, Observed]:
    # `DATABASE_URL:` (passed through) planned where it is not set, e.g. a
    # pull-request job without secrets; the loader reads the stack as it would.
    declared = {"DB_PASSWORD": "s3cret", "LOG_LEVEL": "info", "DATABASE_URL": None}
    env = build_environment(
        {"environment": declared}, Path("."), ("services", "web"), Report("demo.yml"), environ={}
    )
    s = demo()
    web = replace(s.services[0], environment=env.pairs, secret_keys=env.secret_keys)
    new = replace(s, services=(web, *s.services[1:]))
    return want([new]), same_host(want([with_db_url()]))


def case_container_without_secret_keys_label_masks_its_environment() -> tuple[
    HostDesired, Observed
]:
    # Created before fleetform recorded secret key names: any value may be secret.
    d, obs = case_secret_key_removed_from_stack_is_masked()
    containers = tuple(
        replace(c, labels=tuple((k, v) for k, v in c.labels if k != "fleetform.secret-keys"))
        for c in obs.containers
    )
    return d, replace(obs, containers=containers)


SECRET_CASES = (
    "secret_key_removed_from_stack_is_masked",
    "secret_turned_into_a_literal_is_masked",
    "pass_through_unset_on_the_plan_machine_is_masked",
    "container_without_secret_keys_label_masks_its_environment",
)


CASES = {
    name.removeprefix("case_"): fn
    for name, fn in sorted(globals().items())
    if name.startswith("case_") and callable(fn)
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan_text_matches_the_golden_file(name: str) -> None:
    assert_plan_golden(*CASES[name](), name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_plan_shows_a_secret_value(name: str) -> None:
    desired, observed = CASES[name]()
    plan = Plan.from_hosts([plan_host(desired, observed)])
    assert "s3cret" not in str(plan)
    assert "s3cret" not in json.dumps(plan.to_json())


@pytest.mark.parametrize("name", SECRET_CASES)
def test_a_value_that_is_or_was_secret_is_masked_in_the_json_too(name: str) -> None:
    desired, observed = CASES[name]()
    doc = json.dumps(Plan.from_hosts([plan_host(desired, observed)]).to_json())
    for value in (DB_URL, "s3cret", DB_URL_LITERAL):
        assert value not in doc
    changes = [
        change
        for host in json.loads(doc)["hosts"]
        for action in host["actions"]
        for change in action["changes"]
        if change["path"] == "environment.DATABASE_URL"
    ]
    assert len(changes) == 2  # both replicas of web
    assert all("(secret)" in (c["old"], c["new"]) for c in changes)


def test_a_converged_host_plans_nothing() -> None:
    d = want([demo()])
    plan = plan_host(d, converged(d, **resources(d)))
    assert plan.actions == () and not plan.has_changes


def test_the_json_form_is_stable_and_documented() -> None:
    d, obs = case_env_change()
    plan = Plan.from_hosts([plan_host(d, obs)], errors={"host-b": "unreachable: timed out"})
    doc = plan.to_json()
    assert doc["format_version"] == 1
    assert doc["has_changes"] is True
    assert doc["summary"] == {"create": 0, "recreate": 1, "update": 0, "remove": 0}
    assert doc["errors"] == [{"host": "host-b", "message": "unreachable: timed out"}]
    host_a, host_b = doc["hosts"]
    assert host_b == {
        "host": "host-b",
        "observed": False,
        "errors": ["unreachable: timed out"],
        "warnings": [],
        "engine": [],
        "actions": [],
    }
    assert host_a["actions"] == [
        {
            "kind": "recreate",
            "resource_type": "container",
            "resource": "demo-web-1",
            "reason": "drift",
            "reason_code": "field_changed",
            "changes": [
                {
                    "path": "environment.LOG_LEVEL",
                    "old": "debug",
                    "new": "info",
                    "text": "environment.LOG_LEVEL: debug -> info",
                }
            ],
        }
    ]


def test_an_unobserved_host_is_named_in_the_text() -> None:
    d = want([demo()])
    plan = Plan.from_hosts([plan_host(d, same_host(d))], errors={"host-b": "unreachable"})
    assert str(plan).splitlines() == [
        "host-a: no changes",
        "host-b: ! error: unreachable",
        "",
        "No changes. 1 host matches the stacks.",
        "Errors on 1 host(s): not applied there.",
    ]
    assert not plan.has_changes and plan.errors == (("host-b", "unreachable"),)


def test_actions_carry_what_the_command_builder_needs() -> None:
    d, obs = case_env_change()
    (action,) = plan_host(d, obs).actions
    have = obs.container("demo-web-1")
    assert have is not None
    assert action.container is not None and action.container.name == "demo-web-1"
    assert action.container_id == have.id
    assert action.owner_stack == "demo"
