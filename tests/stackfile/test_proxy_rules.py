"""The `proxy` key: its model, defaults and rules (each with its own message)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fleetform.model import ProxyConfig, ProxyHealth
from fleetform.stackfile import load_stacks
from fleetform.stackfile.checks import check_stack
from fleetform.stackfile.problems import Report
from fleetform.stackfile.stack import build_stack

from .helpers import messages, write

S = 1_000_000_000
HEAD = "version: 1\nname: {name}\n"


def build(data: dict[str, Any]) -> tuple[Any, list[str]]:
    """The stack and the problems of one document."""
    report = Report("stack.yml")
    stack = build_stack(data, Path("stack.yml"), report)
    check_stack(stack, data, report)
    return stack, [f"{p.path}: {p.message}" for p in report.problems]


def doc(**services: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "name": "p", "services": services}


def test_defaults_fill_the_health_check_drain_and_target_port() -> None:
    stack, problems = build(doc(web={"image": "x", "proxy": {"listen": 8080}}))
    assert problems == []
    web = stack.service("web")
    assert web.proxy == ProxyConfig(
        listen=8080, target_port=8080, health=ProxyHealth("/", 1 * S, 2 * S), drain=10 * S
    )


def test_every_key_is_read_with_durations_as_nanoseconds() -> None:
    proxy = {
        "listen": 80,
        "target_port": 8080,
        "health": {"path": "/healthz", "interval": "500ms", "timeout": "1m"},
        "drain": "1m30s",
    }
    stack, problems = build(doc(web={"image": "x", "proxy": proxy}))
    assert problems == []
    assert stack.service("web").proxy == ProxyConfig(
        80, 8080, ProxyHealth("/healthz", S // 2, 60 * S), 90 * S
    )


def test_a_proxied_service_updates_and_rolls_back_start_first_by_default() -> None:
    stack, _ = build(
        doc(
            web={"image": "x", "proxy": {"listen": 8080}},
            pinned={
                "image": "x",
                "proxy": {"listen": 8081},
                "deploy": {"update_config": {"order": "stop-first"}},
            },
            plain={"image": "x"},
        )
    )
    assert stack.service("web").update_config.order == "start-first"
    assert stack.service("web").rollback_config.order == "start-first"
    assert stack.service("pinned").update_config.order == "stop-first"
    assert stack.service("pinned").rollback_config.order == "start-first"
    assert stack.service("plain").update_config.order == "stop-first"


def test_a_service_without_proxy_has_none() -> None:
    stack, _ = build(doc(web={"image": "x"}))
    assert stack.service("web").proxy is None


def test_a_valid_proxy_loads_and_rolls_out_start_first(tmp_path: Path) -> None:
    text = HEAD.format(name="p") + "services:\n  web:\n    image: x\n    proxy: {listen: 8080}\n"
    (stack,) = load_stacks([str(write(tmp_path, text))])
    web = stack.service("web")
    assert web.proxy is not None and web.proxy.listen == 8080
    assert web.update_config.order == "start-first" == web.rollback_config.order


def test_publishing_the_own_listen_port_is_refused() -> None:
    _, problems = build(
        doc(web={"image": "x", "ports": ["9000:9000", "8080:80"], "proxy": {"listen": 8080}})
    )
    assert (
        "services.web.ports[1]: host port 8080 is this service's `proxy.listen`: the proxy "
        "serves it on the host and reaches the containers at `proxy.target_port` on the stack "
        "network; remove it from `ports`"
    ) in problems


def test_the_own_listen_port_over_udp_is_another_port() -> None:
    _, problems = build(
        doc(
            web={
                "image": "x",
                "ports": ["8080:80/udp"],
                "proxy": {"listen": 8080},
                "deploy": {"update_config": {"order": "stop-first"}},
            }
        )
    )
    assert not [p for p in problems if "ports" in p.split(":")[0]]


def test_start_first_by_default_is_still_refused_with_another_fixed_host_port() -> None:
    _, problems = build(doc(web={"image": "x", "ports": ["9000:9000"], "proxy": {"listen": 80}}))
    assert (
        "services.web.deploy.update_config.order: `start-first` (the default with `proxy`) runs "
        "the old and the new container together, but both would publish host port 9000/tcp; "
        "use `stop-first`, or leave the host port out"
    ) in problems


def test_start_first_without_proxy_keeps_its_refusals() -> None:
    _, problems = build(
        doc(
            web={
                "image": "x",
                "ports": ["80:80"],
                "deploy": {"update_config": {"order": "start-first"}},
            }
        )
    )
    assert any("both would publish host port 80/tcp" in p for p in problems)
    # Without a fixed host port, start-first is allowed (docs/rollouts.md).
    _, problems = build(
        doc(
            web={
                "image": "x",
                "ports": ["80"],
                "deploy": {"update_config": {"order": "start-first"}},
            }
        )
    )
    assert problems == []


@pytest.mark.parametrize("key", ["interval", "timeout"])
def test_a_health_check_timing_of_zero_is_refused(key: str) -> None:
    proxy = {"listen": 80, "health": {key: "0"}}
    _, problems = build(doc(web={"image": "x", "proxy": proxy}))
    assert problems == [
        f"services.web.proxy.health.{key}: the proxy's health check {key} must be above 0"
    ]


def test_two_proxies_on_one_host_cannot_share_a_listen_port(tmp_path: Path) -> None:
    text = (
        HEAD.format(name="p")
        + "services:\n"
        + "  a:\n    image: x\n    proxy: {listen: 8080}\n"
        + "  b:\n    image: x\n    hosts: [web]\n    proxy: {listen: 8080}\n"
    )
    assert messages(write(tmp_path, text)) == [
        "services.b.proxy.listen: port 8080 is also the `proxy.listen` of services.a on the "
        "same hosts; one proxy port serves one service: give one of them another `listen`"
    ]


def test_proxies_on_disjoint_hosts_may_share_a_listen_port(tmp_path: Path) -> None:
    text = (
        HEAD.format(name="p")
        + "services:\n"
        + "  a:\n    image: x\n    hosts: [db]\n    proxy: {listen: 8080}\n"
        + "  b:\n    image: x\n    hosts: [web]\n    proxy: {listen: 8080}\n"
    )
    assert len(load_stacks([write(tmp_path, text)])) == 1  # valid: no problem


def test_a_listen_port_clashes_across_files_and_with_published_ports(tmp_path: Path) -> None:
    first = write(
        tmp_path,
        HEAD.format(name="one") + "services:\n  a:\n    image: x\n    ports: ['127.0.0.1:80:80']\n",
        "one.yml",
    )
    second = write(
        tmp_path,
        HEAD.format(name="two") + "services:\n  b:\n    image: x\n    proxy: {listen: 80}\n",
        "two.yml",
    )
    assert messages(first, second) == [
        f"services.b.proxy.listen: port 80 is published by services.a.ports[0] in {first} on "
        "the same hosts; the proxy cannot serve it too: give one of them another port"
    ]
    assert messages(second, first) == [
        f"services.a.ports[0]: host port 80 is the `proxy.listen` of services.b in {second} on "
        "the same hosts; give one of them another port"
    ]


def test_an_absent_proxied_service_takes_no_port(tmp_path: Path) -> None:
    text = (
        HEAD.format(name="p")
        + "services:\n"
        + "  a:\n    image: x\n    state: absent\n    proxy: {listen: 8080}\n"
        + "  b:\n    image: x\n    ports: ['8080:80']\n"
    )
    assert len(load_stacks([write(tmp_path, text)])) == 1  # valid: no problem


@pytest.mark.parametrize(
    ("proxy", "path"),
    [
        ("{target_port: 80}", "services.web.proxy"),
        ("{listen: 0}", "services.web.proxy.listen"),
        ("{listen: 80, drain: soon}", "services.web.proxy.drain"),
        ("{listen: 80, health: {path: healthz}}", "services.web.proxy.health.path"),
        ("{listen: 80, health: {path: '/a\\nb'}}", "services.web.proxy.health.path"),
        ("{listen: 80, health: {path: '/a#b'}}", "services.web.proxy.health.path"),
        ("{listen: 80, weight: 2}", "services.web.proxy.weight"),
    ],
)
def test_the_schema_refuses_bad_proxy_values(tmp_path: Path, proxy: str, path: str) -> None:
    text = HEAD.format(name="p") + f"services:\n  web:\n    image: x\n    proxy: {proxy}\n"
    found = messages(write(tmp_path, text))
    assert len(found) == 1 and found[0].startswith(f"{path}:"), found
