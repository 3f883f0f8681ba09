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


def test_a_host_plan_installs_configures_and_shows_the_proxy_in_text_and_json() -> None:
    from fleetform.plan import plan_host
    from fleetform.plan.observed import Observed
    from fleetform.proxy.config import ProxiedService, render_config
    from fleetform.proxy.host import ObservedProxy

    desired = want([stack(svc("web", proxy=WEB, replicas=2))])
    fresh = plan_host(desired, Observed(), ObservedProxy())
    assert [(a.kind, a.reason_code) for a in fresh.proxy] == [
        ("install-proxy", "proxy_missing"),
        ("create-backend", "missing"),
    ]
    assert "  + install proxy haproxy" in fresh.lines()
    assert fresh.to_json()["proxy"][1]["resource_type"] == "proxy-backend"
    # The package's own file, HAProxy stopped: started, and the backend created.
    stopped = plan_host(desired, Observed(), ObservedProxy(True, False, "global\n"))
    assert [a.kind for a in stopped.proxy] == ["start-proxy", "create-backend"]
    # What fleetform wrote, running: nothing to do; one setting changed: one update line.
    ours = render_config([ProxiedService("demo", "web", WEB, 2)])
    assert plan_host(desired, Observed(), ObservedProxy(True, True, ours)).proxy == ()
    older = render_config([ProxiedService("demo", "web", replace(WEB, drain=S), 2)])
    (update,) = plan_host(desired, Observed(), ObservedProxy(True, True, older)).proxy
    assert [str(c) for c in update.changes] == ["proxy.drain: 1s -> 10s"]


def test_a_host_without_a_proxied_service_leaves_its_haproxy_alone() -> None:
    from fleetform.plan import plan_host
    from fleetform.plan.observed import Observed
    from fleetform.proxy.host import ObservedProxy

    desired = want([stack(svc("plain"))])
    assert plan_host(desired, Observed(), ObservedProxy(True, False, "global\n")).proxy == ()
    assert plan_host(desired, Observed(), None).proxy == ()


def test_the_backend_of_a_stack_not_being_applied_is_neither_compared_nor_removed() -> None:
    from fleetform.plan import plan_host
    from fleetform.plan.observed import Observed
    from fleetform.proxy.config import ProxiedService, render_config
    from fleetform.proxy.host import ObservedProxy

    desired = want([stack(svc("web", proxy=WEB, replicas=2))])
    text = render_config(
        [ProxiedService("demo", "web", WEB, 2), ProxiedService("other", "api", WEB, 1)]
    )
    assert plan_host(desired, Observed(), ObservedProxy(True, True, text)).proxy == ()


def test_a_newer_haproxy_in_the_package_lists_is_an_upgrade_line() -> None:
    from fleetform.plan import plan_host
    from fleetform.plan.observed import Observed
    from fleetform.proxy.config import ProxiedService, render_config
    from fleetform.proxy.host import ObservedProxy

    desired = want([stack(svc("web", proxy=WEB, replicas=2))])
    ours = render_config([ProxiedService("demo", "web", WEB, 2)])
    newer = ObservedProxy(True, True, ours, ("2.6.12-1+deb12u3", "2.6.12-1+deb12u4"))
    hp = plan_host(desired, Observed(), newer)
    assert hp.has_changes
    assert_golden(text(hp.proxy), "proxy_upgrade")
    # A host without a proxied service keeps its HAProxy as it is.
    plain = want([stack(svc("plain"))])
    assert [a.kind for a in plan_host(plain, Observed(), newer).proxy] == ["remove-backend"]


def test_a_held_haproxy_is_never_planned_for_upgrade() -> None:
    from fleetform.plan import plan_host
    from fleetform.plan.observed import Observed
    from fleetform.proxy.config import ProxiedService, render_config
    from fleetform.proxy.host import ObservedProxy

    desired = want([stack(svc("web", proxy=WEB, replicas=2))])
    ours = render_config([ProxiedService("demo", "web", WEB, 2)])
    held = ObservedProxy(True, True, ours, ("2.6.12-1+deb12u3", "2.6.12-1+deb12u4"), held=True)
    hp = plan_host(desired, Observed(), held)
    # Not a change: apply would fail on the held package, every time.
    assert hp.proxy == ()
    assert_golden("\n".join(hp.lines()) + "\n", "proxy_held")
    assert hp.to_json()["proxy_notes"] == list(hp.proxy_notes)


def test_slot_drift_is_an_update_line_with_a_reason() -> None:
    from fleetform.plan import plan_host
    from fleetform.plan.observed import Observed
    from fleetform.proxy.config import ProxiedService, render_config
    from fleetform.proxy.host import ObservedProxy
    from fleetform.proxy.runtime import ServerState

    desired = want([stack(svc("web", proxy=WEB, replicas=2))])
    ours = render_config([ProxiedService("demo", "web", WEB, 2)])

    def slot(name: str, address: str, bits: int) -> ServerState:
        return ServerState("demo-web", name, address, 8080, "running", bits, 0)

    # Replica 1 restarted outside fleetform (new address; its slot points at the
    # old one); replica 2 serves from s3 as it should.
    states = (
        slot("s1", "172.18.0.5", 0),
        slot("s2", "0.0.0.0", 1),
        slot("s3", "172.18.0.7", 0),
        slot("s4", "0.0.0.0", 1),
    )
    drifted = {"demo-web": ({1: "172.18.0.9", 2: "172.18.0.7"}, states)}
    hp = plan_host(desired, Observed(), ObservedProxy(True, True, ours, slots=drifted))
    assert [(a.kind, a.reason_code) for a in hp.proxy] == [("update-backend", "slot_drift")]
    # Replica 2 stopped outside fleetform: its slot s3 still takes requests.
    gone = {"demo-web": ({1: "172.18.0.5"}, states)}
    stale = plan_host(desired, Observed(), ObservedProxy(True, True, ours, slots=gone))
    assert_golden(text(hp.proxy) + text(stale.proxy), "proxy_slot_drift")
    # Every running replica in its slot, the others in maint: nothing to do.
    right = {"demo-web": ({1: "172.18.0.5", 2: "172.18.0.7"}, states)}
    assert plan_host(desired, Observed(), ObservedProxy(True, True, ours, slots=right)).proxy == ()
    # HAProxy not running: it is started first, the slots are set after that.
    stopped = plan_host(desired, Observed(), ObservedProxy(True, False, ours, slots=drifted))
    assert [a.kind for a in stopped.proxy] == ["start-proxy"]
