"""The proxy's plan lines: golden text, with a reason and a reason code for every action."""

from __future__ import annotations

from dataclasses import replace

from planbuilders import assert_golden, stack, svc, want

from fleetform.model import ProxyConfig, ProxyHealth
from fleetform.plan.proxy import desired_backends, proxy_actions

S = 1_000_000_000
WEB = ProxyConfig(8080, 8080, ProxyHealth("/healthz", S, 2 * S))


def text(actions: tuple[object, ...]) -> str:
    return "".join(
        "\n".join([*a.lines(), f"      ({a.reason_code})"]) + "\n"  # type: ignore[attr-defined]
        for a in actions
    )


def test_created_changed_and_orphan_backends() -> None:
    desired = {"demo-web": (WEB, 2), "demo-api": (ProxyConfig(9000, 80), 1)}
    observed = {
        "demo-web": (replace(WEB, health=ProxyHealth("/", S, 2 * S), drain=5 * S), 1),
        "old-admin": (ProxyConfig(9100, 80), 1),
    }
    assert_golden(text(proxy_actions("host-a", desired, observed)), "proxy_backends")


def test_nothing_to_do_when_the_host_serves_what_is_declared() -> None:
    assert proxy_actions("host-a", {"demo-web": (WEB, 1)}, {"demo-web": (WEB, 1)}) == ()


def test_a_file_edited_on_the_host_is_shown_as_written_back() -> None:
    actions = proxy_actions("host-a", {"demo-web": (WEB, 1)}, {"demo-web": (WEB, 1)}, intact=False)
    assert [(a.kind, a.reason_code) for a in actions] == [("update-backend", "proxy_edited")]


def test_the_desired_backends_are_the_proxied_services_placed_on_the_host() -> None:
    s = stack(
        svc("web", proxy=WEB, replicas=2),
        svc("gone", proxy=ProxyConfig(81, 81), state="absent"),
        svc("elsewhere", proxy=ProxyConfig(82, 82), hosts=("host-b",)),
        svc("plain"),
    )
    assert desired_backends(want([s])) == {"demo-web": (WEB, 2)}
