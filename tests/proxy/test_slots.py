"""Which replica serves from which slot: the runtime API lines that set a backend right."""

from __future__ import annotations

from pathlib import Path

from fleetform.proxy.runtime import parse_servers_state
from fleetform.proxy.slots import SlotTarget, pair, parse_read, slot_commands

WEB = SlotTarget("demo", "web", 2, 8080, "demo_default")
HEADER = (Path(__file__).parent / "data" / "show_servers_state.txt").read_text().splitlines()[:2]


def state(*rows: tuple[str, str, int]) -> str:
    """``show servers state`` lines of demo-web: (slot, address, admin bits; 4 ready, 5 maint)."""
    lines = [
        f"5 demo-web {i} {slot} {addr} 2 {admin} 1 1 2 15 3 2 6 0 0 0 - 8080 - 0 0 - - 0"
        for i, (slot, addr, admin) in enumerate(rows, 1)
    ]
    return "\n".join([*HEADER, *lines])


FRESH = state(*((f"s{i}", "127.0.0.1", 5) for i in range(1, 5)))


def test_each_replica_owns_a_pair_of_slots() -> None:
    assert (pair(1), pair(2)) == (("s1", "s2"), ("s3", "s4"))


def test_running_replicas_take_the_first_free_slot_of_their_pair() -> None:
    got = slot_commands(WEB, {1: "172.18.0.5", 2: "172.18.0.6"}, parse_servers_state(FRESH))
    assert got == [
        "set server demo-web/s1 addr 172.18.0.5 port 8080",
        "set server demo-web/s1 state ready",
        "set server demo-web/s3 addr 172.18.0.6 port 8080",
        "set server demo-web/s3 state ready",
    ]


def test_slots_that_serve_already_are_left_alone() -> None:
    now = state(
        ("s1", "172.18.0.5", 5), ("s2", "172.18.0.5", 4), ("s3", "1.1.1.1", 5), ("s4", "1.1.1.1", 5)
    )
    got = slot_commands(WEB, {1: "172.18.0.5"}, parse_servers_state(now))
    assert got == []


def test_a_stale_slot_goes_to_maintenance_and_the_new_address_takes_the_free_one() -> None:
    # Replica 1 restarted with a new address; replica 2 is gone.
    now = state(
        ("s1", "172.18.0.5", 4),
        ("s2", "127.0.0.1", 5),
        ("s3", "172.18.0.6", 4),
        ("s4", "127.0.0.1", 5),
    )
    got = slot_commands(WEB, {1: "172.18.0.9"}, parse_servers_state(now))
    assert got == [
        "set server demo-web/s2 addr 172.18.0.9 port 8080",
        "set server demo-web/s2 state ready",
        "set server demo-web/s1 state maint",
        "set server demo-web/s3 state maint",
    ]


def test_the_host_read_keeps_only_the_stacks_own_running_containers() -> None:
    text = "\n".join(
        [
            "@fleetform-backend demo-web",
            "1|demo|true|172.18.0.5",
            "2|other|true|172.18.0.6",  # another stack's container under that name
            "@fleetform-state",
            FRESH,
            "@fleetform-end",
        ]
    )
    running, states = parse_read(text, [WEB])["demo-web"]
    assert running == {1: "172.18.0.5"}
    assert [s.server for s in states] == ["s1", "s2", "s3", "s4"]


def test_a_host_without_haproxy_yet_still_gives_its_replicas_and_no_slots() -> None:
    text = "@fleetform-backend demo-web\n1|demo|true|172.18.0.5\n@fleetform-state\n@fleetform-end\n"
    running, states = parse_read(text, [WEB])["demo-web"]
    assert (running, states) == ({1: "172.18.0.5"}, ())


def test_the_file_is_rendered_with_the_slots_that_serve() -> None:
    from fleetform.model import ProxyConfig
    from fleetform.proxy.config import ProxiedService, render_config
    from fleetform.proxy.slots import wanted_slots

    now = state(
        ("s1", "127.0.0.1", 5), ("s2", "172.18.0.5", 4), ("s3", "1.1.1.1", 5), ("s4", "1.1.1.1", 5)
    )
    slots = wanted_slots(WEB, {1: "172.18.0.5", 2: "172.18.0.6"}, parse_servers_state(now))
    assert slots == {"s2": "172.18.0.5", "s3": "172.18.0.6"}
    text = render_config(
        [ProxiedService("demo", "web", ProxyConfig(80, 8080), 2)], {"demo-web": slots}
    )
    assert "    server s2 172.18.0.5:8080\n" in text
    assert "    server s1 127.0.0.1:8080 disabled\n" in text
