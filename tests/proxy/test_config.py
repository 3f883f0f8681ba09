"""haproxy.cfg rendering: golden text, determinism, reading the settings back, and refusal
of anything that could break out of a config word."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from fleetform.model import ProxyConfig, ProxyHealth
from fleetform.proxy.config import BackendSettings, ProxiedService, read_config, render_config

GOLDEN = Path(__file__).parent / "golden"
S = 1_000_000_000
WEB = ProxiedService("demo", "web", ProxyConfig(8080, 8080, ProxyHealth("/healthz", S, 2 * S)), 2)
API = ProxiedService("demo", "api", ProxyConfig(9000, 80, drain=S // 2), 1)


def assert_golden(text: str, name: str) -> None:
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("FLEETFORM_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_two_services_golden() -> None:
    assert_golden(render_config([WEB, API]), "haproxy_two_services")


def test_no_services_is_a_proxy_with_no_frontend() -> None:
    assert_golden(render_config([]), "haproxy_no_services")


def test_the_text_does_not_depend_on_the_order_services_come_in() -> None:
    assert render_config([WEB, API]) == render_config([API, WEB])


def test_slots_are_two_per_replica_so_old_and_new_fit_side_by_side() -> None:
    text = render_config([replace(WEB, replicas=3)])
    assert [line.split()[1] for line in text.splitlines() if line.startswith("    server ")] == [
        "s1",
        "s2",
        "s3",
        "s4",
        "s5",
        "s6",
    ]


def test_the_settings_read_back_from_the_file_are_the_rendered_ones() -> None:
    read = read_config(render_config([WEB, API]))
    assert read.intact
    assert read.backends == {
        "demo-web": BackendSettings(WEB.proxy, 2, "demo", "web"),
        "demo-api": BackendSettings(API.proxy, 1, "demo", "api"),
    }


def test_a_file_edited_on_the_host_is_not_intact() -> None:
    text = render_config([WEB]).replace("retries 2", "retries 9")
    assert not read_config(text).intact
    assert not read_config("global\n    daemon\n").intact
    assert read_config("global\n    daemon\n").backends == {}


@pytest.mark.parametrize("path", ["/a b", "/a#b", "/a\nserver x 1.2.3.4:80", "healthz", "/'x'"])
def test_a_health_path_that_could_leave_its_word_is_refused(path: str) -> None:
    bad = replace(WEB, proxy=replace(WEB.proxy, health=ProxyHealth(path)))
    with pytest.raises(ValueError, match="health check path"):
        render_config([bad])


def test_a_broken_settings_line_makes_the_file_not_intact_without_an_exception() -> None:
    text = render_config([WEB]).replace('"listen":8080', '"listen":"x"')
    read = read_config(text)
    assert not read.intact and read.backends == {}
