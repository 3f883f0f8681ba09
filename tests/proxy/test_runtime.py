"""Runtime API commands and the typed reading of replies recorded from HAProxy 2.6
(tests/proxy/data/record.sh)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetform.proxy.runtime import (
    RuntimeReplyError,
    ServerState,
    check_set_reply,
    parse_servers_state,
    parse_stat,
    set_server_addr,
    set_server_state,
    show_servers_state,
)

DATA = Path(__file__).parent / "data"


def test_commands_name_backend_slot_address_and_state() -> None:
    assert set_server_addr("demo-web", "s3", "172.18.0.7", 8080) == (
        "set server demo-web/s3 addr 172.18.0.7 port 8080"
    )
    assert set_server_state("demo-web", "s3", "ready") == "set server demo-web/s3 state ready"
    assert set_server_state("demo-web", "s1", "maint") == "set server demo-web/s1 state maint"
    assert show_servers_state() == "show servers state"
    assert show_servers_state("demo-web") == "show servers state demo-web"


@pytest.mark.parametrize(
    "call",
    [
        lambda: set_server_addr("demo-web", "s1", "10.0.0.1; shutdown frontend x", 80),
        lambda: set_server_addr("demo-web;x", "s1", "10.0.0.1", 80),
        lambda: set_server_addr("demo-web", "s1", "10.0.0.1", 0),
        lambda: set_server_state("demo-web", "s1 x", "ready"),
        lambda: set_server_state("demo-web", "s1", "up"),  # type: ignore[arg-type]
        lambda: show_servers_state("a\nb"),
    ],
)
def test_nothing_can_add_a_second_command_to_a_line(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


def test_servers_state_reads_address_check_and_admin_state() -> None:
    states = parse_servers_state((DATA / "show_servers_state.txt").read_text())
    by_slot = {(s.backend, s.server): s for s in states}
    web1, web2 = by_slot["demo-web", "s1"], by_slot["demo-web", "s2"]
    assert (web1.address, web1.port, web1.op_state, web1.admin) == (
        "127.0.0.1",
        18081,
        "running",
        "ready",
    )
    assert web1.serving
    # Readied, then drained; its address does not answer, so its checks failed.
    assert (web2.address, web2.admin, web2.op_state, web2.serving) == (
        "127.0.0.2",
        "drain",
        "stopped",
        False,
    )
    assert by_slot["demo-api", "s2"].admin == "maint"  # never filled: still disabled
    assert by_slot["demo-api", "s1"].port == 18099
    assert len(states) == 4


def test_the_admin_state_bits_follow_haproxy() -> None:
    base = ServerState("b", "s1", "10.0.0.1", 80, "running", 0, 3)
    assert [
        ServerState(**{**base.__dict__, "admin_bits": bits}).admin
        for bits in (0, 4, 1, 5, 2, 0x20, 8, 12, 0x10, 9)
    ] == ["ready", "ready", "maint", "maint", "maint", "maint", "drain", "drain", "drain", "maint"]


def test_stat_reads_each_server_and_leaves_out_totals() -> None:
    rows = parse_stat((DATA / "show_stat.csv").read_text())
    seen = {(r.backend, r.server): (r.status, r.check_status, r.address) for r in rows}
    assert seen == {
        ("demo-api", "s1"): ("DOWN", "L4CON", "127.0.0.1:18099"),
        ("demo-api", "s2"): ("MAINT", "", "127.0.0.1:18082"),
        ("demo-web", "s1"): ("UP", "L7OK", "127.0.0.1:18081"),
        ("demo-web", "s2"): ("DOWN", "L4CON", "127.0.0.2:18081"),
    }


@pytest.mark.parametrize("reply", ["", "Unknown command.\n", "1\nno header\n"])
def test_an_unexpected_state_reply_is_a_typed_error(reply: str) -> None:
    with pytest.raises(RuntimeReplyError):
        parse_servers_state(reply)
    with pytest.raises(RuntimeReplyError):
        parse_stat(reply)


def test_a_failed_set_reply_is_an_error_and_a_change_notice_is_not() -> None:
    check_set_reply("")
    check_set_reply("IP changed from '127.0.0.1' to '127.0.0.2', no need to change the port\n")
    with pytest.raises(RuntimeReplyError, match="No such server"):
        check_set_reply((DATA / "set_server_unknown.txt").read_text())
