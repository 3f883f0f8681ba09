"""Cross checks: published ports per host (with placement), stack names across files."""

from __future__ import annotations

from pathlib import Path

from .helpers import load_text, messages, write

HEAD = "version: 1\nname: {name}\n"


def svc(name: str, ports: str, hosts: str = "", extra: str = "") -> str:
    placement = f"    hosts: [{hosts}]\n" if hosts else ""
    return f"  {name}:\n    image: x\n    ports: [{ports}]\n{placement}{extra}"


def test_services_on_disjoint_hosts_may_publish_the_same_port(tmp_path: Path) -> None:
    text = (
        HEAD.format(name="p")
        + "services:\n"
        + svc("a", '"80:80"', "web")
        + svc("b", '"80:80"', "db")
    )
    assert len(load_text(tmp_path, text).services) == 2


def test_overlapping_or_unknown_placement_counts_as_the_same_host(tmp_path: Path) -> None:
    text = (
        HEAD.format(name="p") + "services:\n" + svc("a", '"80:80"', "web, db") + svc("b", '"80:80"')
    )
    assert any(
        "already published by services.a.ports[0]" in m for m in messages(write(tmp_path, text))
    )


def test_different_host_ips_or_protocols_do_not_clash(tmp_path: Path) -> None:
    text = (
        HEAD.format(name="p")
        + "services:\n"
        + svc("a", '"127.0.0.1:80:80"')
        + svc("b", '"10.0.0.1:80:80"')
        + svc("c", '"80:80/udp"')
    )
    assert len(load_text(tmp_path, text).services) == 3


def test_absent_services_publish_nothing(tmp_path: Path) -> None:
    text = (
        HEAD.format(name="p")
        + "services:\n"
        + svc("a", '"80:80"')
        + svc("b", '"80:80"', extra="    state: absent\n")
    )
    assert len(load_text(tmp_path, text).services) == 2


def test_replicas_without_a_fixed_host_port_are_fine(tmp_path: Path) -> None:
    text = (
        HEAD.format(name="p")
        + "services:\n"
        + svc("a", '"80"', extra="    deploy: {replicas: 3}\n")
    )
    assert load_text(tmp_path, text).services[0].replicas == 3


def test_ports_clash_across_stack_files_on_shared_hosts(tmp_path: Path) -> None:
    one = write(tmp_path, HEAD.format(name="one") + "services:\n" + svc("a", '"80:80"'), "one.yml")
    two = write(tmp_path, HEAD.format(name="two") + "services:\n" + svc("b", '"80:80"'), "two.yml")
    assert messages(one, two) == [
        f"services.b.ports[0]: host port 0.0.0.0:80/tcp is already published by "
        f"services.a.ports[0] in {one} on the same hosts"
    ]


def test_two_files_cannot_use_the_same_stack_name(tmp_path: Path) -> None:
    one = write(tmp_path, HEAD.format(name="same"), "one.yml")
    two = write(tmp_path, HEAD.format(name="same"), "two.yml")
    assert messages(one, two) == [f"name: stack name `same` is also used by {one}"]


def test_depends_on_an_absent_service_is_refused(tmp_path: Path) -> None:
    text = HEAD.format(name="d") + (
        "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, state: absent}\n"
    )
    assert messages(write(tmp_path, text)) == [
        "services.a.depends_on.b: depends on `b`, which is `state: absent`"
    ]


def test_the_default_network_may_be_declared_to_configure_it(tmp_path: Path) -> None:
    text = HEAD.format(name="n") + (
        "networks:\n  default: {driver_opts: {mtu: 1400}}\nservices:\n  a: {image: x}\n"
    )
    stack = load_text(tmp_path, text)
    assert stack.network("default").driver_opts == (("mtu", "1400"),)
    assert stack.network("default").docker_name == "n_default"
