"""testinfra connections built from a pyinfra inventory's host data.

Hosts are reached with testinfra's ``ssh`` backend (the OpenSSH client) and a
generated ssh_config that carries the inventory's ``ssh_hostname``,
``ssh_user``, ``ssh_port``, ``ssh_key`` and ``ssh_known_hosts_file``, with
``StrictHostKeyChecking yes``: an unknown or changed host key fails the host,
it is never accepted.  (testinfra's paramiko backend accepts unknown keys with
a warning, so it is not used.)  pyinfra's ``@local`` maps to ``local://``.

Example::

    conn = Connection.from_pyinfra_host(host)     # a pyinfra Host of the inventory
    text = ssh_config_text([conn])                 # written to a temporary file
    testinfra_host = conn.testinfra_host("/tmp/x/ssh_config")
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: ssh_config keywords cannot carry spaces or quotes safely in every client.
_UNSAFE = set(" \t\n\"'")


class ConnectionError_(Exception):
    """A host's connection data cannot be used; the message is for people."""


@dataclass(frozen=True)
class Connection:
    name: str
    kind: str = "ssh"  # "ssh" or "local"
    hostname: str = ""
    user: str | None = None
    port: int | None = None
    key_file: str | None = None
    known_hosts_file: str | None = None

    @classmethod
    def from_data(cls, name: str, data: Mapping[str, Any], connector: str = "ssh") -> Connection:
        if connector == "local":
            return cls(name, kind="local")
        if connector != "ssh":
            raise ConnectionError_(
                f"{name}: fleetform verify reaches hosts over SSH or @local, not @{connector}"
            )
        if data.get("ssh_password"):
            raise ConnectionError_(f"{name}: verify logs in with SSH keys, not ssh_password")
        port = data.get("ssh_port")
        return cls(
            name,
            hostname=str(data.get("ssh_hostname") or name),
            user=data.get("ssh_user"),
            port=int(port) if port else None,
            key_file=_path(data.get("ssh_key")),
            known_hosts_file=_path(data.get("ssh_known_hosts_file")),
        )

    @classmethod
    def from_pyinfra_host(cls, host: Any) -> Connection:
        connector = getattr(host.connector_cls, "__name__", "SSHConnector")
        kind = {"LocalConnector": "local", "SSHConnector": "ssh"}.get(connector, connector)
        return cls.from_data(host.name, host.data.dict(), kind)

    def hostspec(self) -> str:
        return "local://" if self.kind == "local" else f"ssh://{self.name}"

    def testinfra_host(self, ssh_config_path: str | None) -> Any:
        import testinfra

        if self.kind == "local":
            return testinfra.get_host("local://")
        # controlpersist=0: one command per host does not need a master
        # connection, and none is left running after verify exits.
        return testinfra.get_host(
            self.hostspec(), ssh_config=ssh_config_path, controlpersist=0, timeout=10
        )


def _path(value: Any) -> str | None:
    return os.path.abspath(os.path.expanduser(str(value))) if value else None


def ssh_config_text(connections: Iterable[Connection]) -> str:
    """An ssh_config with one ``Host`` block per SSH connection, host keys checked."""
    blocks = []
    for c in connections:
        if c.kind != "ssh":
            continue
        values = [c.name, c.hostname, c.user, c.key_file, c.known_hosts_file]
        if any(v and _UNSAFE & set(v) for v in values):
            raise ConnectionError_(f"{c.name}: SSH settings must not contain spaces or quotes")
        lines = [f"Host {c.name}", f"  HostName {c.hostname}"]
        if c.user:
            lines.append(f"  User {c.user}")
        if c.port:
            lines.append(f"  Port {c.port}")
        if c.key_file:
            lines += [f"  IdentityFile {c.key_file}", "  IdentitiesOnly yes"]
        if c.known_hosts_file:
            lines.append(f"  UserKnownHostsFile {c.known_hosts_file}")
        lines += [
            "  StrictHostKeyChecking yes",
            "  BatchMode yes",
            "  LogLevel ERROR",
        ]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
