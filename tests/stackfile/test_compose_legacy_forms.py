"""Compose forms that published files still use: deprecated spellings, and Swarm keys
whose value is what a plain engine does anyway or that it reads as another key."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetform.stackfile import Problem, load_stacks

from .helpers import messages, write


def test_external_name_mapping_is_read_as_name_with_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: legacy\nservices:\n  web: {image: x, networks: [bar], volumes: ['data:/d']}\n"
        "networks:\n  bar:\n    external:\n      name: some_bar\n"
        "volumes:\n  data:\n    external: {name: some_data}\n",
    )
    notices: list[Problem] = []
    stack = load_stacks([path], notices=notices)[0]
    network = next(n for n in stack.networks if n.name == "bar")
    volume = next(v for v in stack.volumes if v.name == "data")
    assert (network.external, network.docker_name) == (True, "some_bar")
    assert (volume.external, volume.docker_name) == (True, "some_data")
    assert [f"{p.path}: {p.message}" for p in notices] == [
        "networks.bar.external: `external.name` is Compose's deprecated form; read as `name`",
        "volumes.data.external: `external.name` is Compose's deprecated form; read as `name`",
    ]


def test_external_mapping_with_other_keys_or_another_name_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: legacy\nservices:\n  web: {image: x}\n"
        "networks:\n  a: {external: {name: n, driver: x}}\n"
        "  b: {name: one, external: {name: two}}\n",
    )
    assert messages(path) == [
        "networks.a.external.driver: `external` as a mapping takes only `name`",
        "networks.b.external: `external.name` and `name` differ; keep `name`",
    ]


def test_swarm_keys_with_the_plain_engine_meaning_are_accepted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: modes\nservices:\n  web:\n    image: x\n"
        "    deploy: {mode: replicated, replicas: 2}\n"
        "    ports: [{target: 80, mode: host}]\n",
    )
    web = load_stacks([path])[0].services[0]
    assert web.replicas == 2
    assert [p.target for p in web.ports] == [80]


def test_swarm_keys_with_another_meaning_are_still_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: modes\nservices:\n  web:\n    image: x\n    deploy: {mode: global}\n"
        "    ports: [{target: 80, published: 8080, mode: ingress}]\n",
    )
    assert [m.split(":")[0] for m in messages(path)] == [
        "services.web.deploy.mode",
        "services.web.ports[0].mode",
    ]


def _service_text(body: str) -> str:
    return f"name: plain\nservices:\n  web:\n    image: x\n{body}"


def test_scale_is_deploy_replicas(tmp_path: Path) -> None:
    path = write(tmp_path, _service_text("    scale: ${N}\n"))
    path.with_name(".env").write_text("N=0\n")
    assert load_stacks([path])[0].services[0].replicas == 0
    both = write(tmp_path, _service_text("    scale: 2\n    deploy: {replicas: 3}\n"), "b.yml")
    assert messages(both) == [
        "services.web.scale: `scale: 2` and `deploy.replicas: 3` differ; keep `deploy.replicas`"
    ]


@pytest.mark.parametrize(
    ("policy", "restart"),
    [
        ("{condition: on-failure, max_attempts: 3}", "on-failure:3"),
        ("{condition: on-failure}", "on-failure"),
        ("{condition: none}", "no"),
        ("{condition: any}", "always"),
        ("{}", "always"),  # the specification's default condition
    ],
)
def test_restart_policy_is_the_container_restart_policy(
    tmp_path: Path, policy: str, restart: str
) -> None:
    path = write(tmp_path, _service_text(f"    deploy:\n      restart_policy: {policy}\n"))
    assert str(load_stacks([path])[0].services[0].restart) == restart


def test_restart_policy_timing_is_ignored_with_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        _service_text(
            "    restart: on-failure\n    deploy:\n      restart_policy:\n"
            "        condition: on-failure\n        delay: 5s\n        window: 120s\n"
        ),
    )
    notices: list[Problem] = []
    assert str(load_stacks([path], notices=notices)[0].services[0].restart) == "on-failure"
    assert [f"{p.path}: {p.message}" for p in notices] == [
        f"services.web.deploy.restart_policy.{key}: `{key}` needs Swarm's scheduler; ignored, "
        "as `docker compose` does (the engine restarts with its own back-off)"
        for key in ("delay", "window")
    ]


def test_restart_policies_docker_would_refuse_are_refused(tmp_path: Path) -> None:
    retries = write(
        tmp_path,
        _service_text("    deploy:\n      restart_policy: {condition: any, max_attempts: 7}\n"),
    )
    assert messages(retries) == [
        "services.web.deploy.restart_policy.max_attempts: `max_attempts` counts only with "
        "`condition: on-failure` (Docker refuses a retry count for `any`)"
    ]
    other = write(
        tmp_path,
        _service_text(
            "    restart: always\n    deploy:\n      restart_policy: {condition: none}\n"
        ),
        "o.yml",
    )
    assert messages(other) == [
        "services.web.deploy.restart_policy: `restart: always` and `deploy.restart_policy` "
        "(`no`) differ; keep one"
    ]
    bad = write(tmp_path, _service_text("    deploy: {restart_policy: {condition: x}}\n"), "x.yml")
    assert messages(bad) == [
        "services.web.deploy.restart_policy.condition: `x` is not a restart condition "
        "(none, on-failure, any)"
    ]
