"""Connections from inventory data: SSH with host keys checked, never switched off."""

from __future__ import annotations

import pytest

from fleetform.verify.connection import Connection, ConnectionError_, ssh_config_text


def lab_host(**extra: object) -> Connection:
    data = {
        "ssh_hostname": "10.213.0.11",
        "ssh_user": "root",
        "ssh_key": "/var/lib/fleetform/lab/id_ed25519",
        "ssh_known_hosts_file": "/var/lib/fleetform/lab/known_hosts",
        **extra,
    }
    return Connection.from_data("lab-1", data)


def test_ssh_config_carries_inventory_data_and_strict_host_key_checking() -> None:
    text = ssh_config_text([lab_host(ssh_port=2222)])
    assert text.splitlines() == [
        "Host lab-1",
        "  HostName 10.213.0.11",
        "  User root",
        "  Port 2222",
        "  IdentityFile /var/lib/fleetform/lab/id_ed25519",
        "  IdentitiesOnly yes",
        "  UserKnownHostsFile /var/lib/fleetform/lab/known_hosts",
        "  StrictHostKeyChecking yes",
        "  BatchMode yes",
        "  LogLevel ERROR",
    ]


def test_inventory_asking_to_skip_host_key_checks_is_still_checked() -> None:
    text = ssh_config_text([lab_host(ssh_strict_host_key_checking="no")])
    assert "StrictHostKeyChecking yes" in text
    assert "StrictHostKeyChecking no" not in text


def test_testinfra_host_uses_the_ssh_backend_with_the_generated_config() -> None:
    host = lab_host().testinfra_host("/tmp/cfg")
    cmd, args = host.backend._build_ssh_command("true")
    assert cmd[0] == "ssh" and args[:2] == ["/tmp/cfg", "lab-1"]
    assert not any("ControlMaster" in part for part in cmd), "no master left running"


def test_local_connector_maps_to_testinfra_local() -> None:
    conn = Connection.from_data("@local", {}, "local")
    assert conn.hostspec() == "local://"
    assert ssh_config_text([conn]) == "\n"


@pytest.mark.parametrize(
    ("data", "connector", "message"),
    [
        ({"ssh_password": "x"}, "ssh", "SSH keys, not ssh_password"),
        ({}, "docker", "not @docker"),
    ],
)
def test_unusable_connection_data_is_refused_with_a_reason(
    data: dict[str, object], connector: str, message: str
) -> None:
    with pytest.raises(ConnectionError_, match=message):
        Connection.from_data("lab-1", data, connector)


def test_spaces_in_ssh_settings_are_refused() -> None:
    with pytest.raises(ConnectionError_, match="spaces or quotes"):
        ssh_config_text([lab_host(ssh_key="/tmp/my key")])
