"""HAProxy's runtime API: the commands the executor sends over the admin socket, and
the replies it reads, as typed data (HAProxy 2.6 formats, recorded in tests/proxy/data).

Each builder returns one command line; the executor sends it, newline-terminated,
to :data:`fleetform.proxy.config.SOCKET`.  Names and addresses are checked here,
because the socket runs every command of a line separated by ``;``.

    >>> set_server_addr("demo-web", "s2", "172.18.0.5", 8080)
    'set server demo-web/s2 addr 172.18.0.5 port 8080'
    >>> set_server_state("demo-web", "s1", "drain")
    'set server demo-web/s1 state drain'
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

AdminState = Literal["ready", "drain", "maint"]
#: ``srv_op_state``: what the checks make of the server.
OpState = Literal["stopped", "starting", "running", "stopping"]
_OP_STATES: tuple[OpState, ...] = ("stopped", "starting", "running", "stopping")
#: ``srv_admin_state`` bits (HAProxy's SRV_ADMF_*): any forced, inherited or
#: resolution maintenance; any forced or inherited drain.  0x04 only records
#: that the configuration started the server disabled.
_MAINT_BITS = 0x23
_DRAIN_BITS = 0x18
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


class RuntimeReplyError(ValueError):
    """The socket's reply is not what the command expects (its text is in the message)."""


def _server(backend: str, server: str) -> str:
    for name in (backend, server):
        if not _NAME.fullmatch(name):
            raise ValueError(f"`{name}` is not an HAProxy backend or server name")
    return f"{backend}/{server}"


def set_server_addr(backend: str, server: str, address: str, port: int) -> str:
    """Point a slot at a replica: its address on the stack network and ``target_port``."""
    ip = ipaddress.ip_address(address)  # ValueError for anything else
    if not 1 <= port <= 65535:
        raise ValueError(f"{port} is not a port")
    return f"set server {_server(backend, server)} addr {ip} port {port}"


def set_server_state(backend: str, server: str, state: AdminState) -> str:
    """``ready``: takes traffic once its checks pass; ``drain``: no new requests, the
    current ones finish; ``maint``: out of the backend (its checks stop)."""
    if state not in ("ready", "drain", "maint"):
        raise ValueError(f"`{state}` is not a server state")
    return f"set server {_server(backend, server)} state {state}"


def show_servers_state(backend: str | None = None) -> str:
    if backend is None:
        return "show servers state"
    if not _NAME.fullmatch(backend):
        raise ValueError(f"`{backend}` is not an HAProxy backend name")
    return f"show servers state {backend}"


SHOW_STAT = "show stat"


def check_set_reply(reply: str) -> None:
    """A ``set server`` reply is empty or a notice of the change; anything else failed."""
    text = reply.strip()
    if text and not text.startswith(("IP changed", "no need to change")):
        raise RuntimeReplyError(text)


@dataclass(frozen=True)
class ServerState:
    """One line of ``show servers state``."""

    backend: str
    server: str
    address: str
    port: int
    op_state: OpState
    admin_bits: int
    check_health: int

    @property
    def admin(self) -> AdminState:
        if self.admin_bits & _MAINT_BITS:
            return "maint"
        if self.admin_bits & _DRAIN_BITS:
            return "drain"
        return "ready"

    @property
    def serving(self) -> bool:
        """Gets new requests: ready and passing its checks."""
        return self.admin == "ready" and self.op_state == "running"


def parse_servers_state(text: str) -> tuple[ServerState, ...]:
    """The reply to ``show servers state``: a version line, a ``#`` header, one line a server."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or lines[0].strip() != "1" or len(lines) < 2 or not lines[1].startswith("# "):
        raise RuntimeReplyError(f"not a `show servers state` reply (format 1): {text[:200]!r}")
    header = lines[1][2:].split()
    out = []
    for line in lines[2:]:
        row = dict(zip(header, line.split(), strict=False))
        try:
            out.append(
                ServerState(
                    backend=row["be_name"],
                    server=row["srv_name"],
                    address=row["srv_addr"],
                    port=int(row["srv_port"]),
                    op_state=_OP_STATES[int(row["srv_op_state"])],
                    admin_bits=int(row["srv_admin_state"]),
                    check_health=int(row["srv_check_health"]),
                )
            )
        except (KeyError, ValueError, IndexError) as exc:
            raise RuntimeReplyError(f"unreadable server line {line!r}: {exc}") from None
    return tuple(out)


@dataclass(frozen=True)
class StatRow:
    """One server line of ``show stat`` (frontends and backend totals are left out)."""

    backend: str
    server: str
    status: str  # UP, DOWN, MAINT, DRAIN, NOLB, "UP 1/2"...
    check_status: str  # L7OK, L4CON, L7STS...; empty while not checked
    address: str  # ip:port
    current_sessions: int


def parse_stat(text: str) -> tuple[StatRow, ...]:
    """The reply to ``show stat``: CSV with a ``# pxname,svname,...`` header."""
    if not text.startswith("# pxname,svname,"):
        raise RuntimeReplyError(f"not a `show stat` reply: {text[:200]!r}")
    rows = csv.DictReader(io.StringIO(text[2:]))
    return tuple(
        StatRow(
            backend=row["pxname"],
            server=row["svname"],
            status=row["status"],
            check_status=row["check_status"],
            address=row["addr"],
            current_sessions=int(row["scur"] or 0),
        )
        for row in rows
        if row["svname"] not in ("FRONTEND", "BACKEND")
    )
