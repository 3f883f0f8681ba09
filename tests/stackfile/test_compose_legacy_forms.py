"""Compose forms that published files still use: deprecated spellings and Swarm keys
whose value is what a plain engine does anyway."""

from __future__ import annotations

from pathlib import Path

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
