"""Short and long forms normalise to the same typed model (tests/data/valid/forms.yml)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetform.model import (
    Build,
    Dependency,
    Healthcheck,
    IPAMPool,
    Mount,
    NetworkAttachment,
    Port,
    Resources,
    Stack,
    Ulimit,
)
from fleetform.stackfile import load_stack

from .helpers import DATA, load_text

VALID = DATA / "valid"
SECOND = 1_000_000_000


@pytest.fixture(scope="module")
def forms() -> Stack:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FROM_CONTROL", "from-the-control-machine")
        mp.delenv("FROM_CONTROL_UNSET", raising=False)
        return load_stack(VALID / "forms.yml")


def test_every_valid_example_loads() -> None:
    for path in sorted(VALID.glob("*.yml")):
        assert load_stack(path).name == path.stem


def test_stack_level_values(forms: Stack) -> None:
    assert forms.source == VALID / "forms.yml"
    assert (forms.name, forms.version, forms.hosts) == ("forms", 1, ("web", "db"))
    assert [s.name for s in forms.services] == ["built", "helper", "long", "short"]


def test_engine_settings_and_registry_cas(forms: Stack) -> None:
    engine = forms.engine
    assert engine is not None
    assert (engine.source, engine.version) == ("docker-ce", "5:24.0.7-1~debian.12~bookworm")
    assert engine.users == ("alice", "deploy")
    assert engine.daemon_json is not None
    assert json.loads(engine.daemon_json) == {
        "log-driver": "local",
        "live-restore": True,
        "default-address-pools": [{"base": "10.200.0.0/16", "size": 24}],
    }  # x- keys are dropped: dockerd refuses unknown keys
    cas = {r.registry: r.ca_cert for r in engine.registries}
    assert cas["registry.lab:5000"] == (VALID / "lab-ca.pem").read_text()
    assert cas["other.example:443"].startswith("-----BEGIN CERTIFICATE-----\nMIIBinline")


def test_networks_default_names_external_names_and_the_implicit_default(forms: Stack) -> None:
    nets = {n.name: n for n in forms.networks}
    assert nets["front"].docker_name == "forms_front" and nets["front"].driver == "bridge"
    back = nets["back"]
    assert (back.internal, back.attachable, back.ipam_driver) == (True, True, "default")
    assert back.driver_opts == (("com.docker.network.bridge.name", "br-back"), ("mtu", "1400"))
    assert back.labels == (("tier", "back"),)
    assert back.ipam_config == (IPAMPool("172.29.0.0/24", "172.29.0.128/25", "172.29.0.1"),)
    assert (nets["shared"].external, nets["shared"].docker_name) == (True, "shared")
    assert nets["named"].docker_name == "custom-net"
    # `built` and `helper` list no networks, so they join `<stack>_default`
    assert nets["default"].docker_name == "forms_default"


def test_volumes_names_external_and_state(forms: Stack) -> None:
    vols = {v.name: v for v in forms.volumes}
    assert vols["data"].docker_name == "forms_data"
    assert vols["logs"].docker_name == "forms-logs"
    assert vols["logs"].driver_opts == (("device", "tmpfs"), ("type", "tmpfs"))
    assert vols["logs"].labels == (("org.example.keep", "yes"),)
    assert (vols["legacy"].external, vols["legacy"].docker_name) == (True, "old-volume")
    assert vols["gone"].state == "absent"


def test_short_ports_expand_ranges_and_keep_host_ip_and_protocol(forms: Stack) -> None:
    ports = set(forms.service("short").ports)
    assert ports == {
        Port(80),
        Port(80, 8080),
        Port(443, 8443, "127.0.0.1", "udp"),
        Port(9000, 9000),
        Port(9001, 9001),
        Port(53, 5353, "::1", "udp"),
        Port(3000),
        Port(3001),
    }


def test_long_ports(forms: Stack) -> None:
    assert set(forms.service("long").ports) == {
        Port(5432, 15432, "127.0.0.1", "tcp"),
        Port(53, None, "", "udp"),
        Port(7000, 17000),
    }


def test_short_mounts_named_bind_relative_to_the_stack_file_and_anonymous(forms: Stack) -> None:
    assert forms.service("short").volumes == (
        Mount("volume", "/cache"),
        Mount("volume", "/data", "data"),
        Mount("bind", "/logs", "/var/log/app"),
        Mount("bind", "/usr/share/nginx/html", "/srv/html", read_only=True),
    )


def test_long_mounts(forms: Stack) -> None:
    assert forms.service("long").volumes == (
        Mount("volume", "/anon"),
        Mount("tmpfs", "/run/pg", tmpfs_size=64 * 1024**2),
        Mount("bind", "/srv/conf", "/srv/conf"),
        Mount("volume", "/var/log/pg", "logs", read_only=True),
    )


def test_string_command_and_entrypoint_are_split_like_a_shell(forms: Stack) -> None:
    short = forms.service("short")
    assert short.command == ("sh", "-c", 'echo "hello world" && sleep 1')
    assert short.entrypoint == ("/bin/tini", "--")
    assert forms.service("long").command == ("postgres", "-c", "12")


def test_environment_merges_env_file_then_environment(forms: Stack) -> None:
    short = dict(forms.service("short").environment)
    assert short["PLAIN"] == "1"  # environment wins over env_file
    assert short["FILE_ONLY"] == "from-file"
    assert short["QUOTED"] == "a b # not a comment"
    assert short["SINGLE"] == "x y"
    assert short["TRAILING"] == "value"
    assert short["FROM_CONTROL"] == "from-the-control-machine"
    assert "FROM_CONTROL_UNSET" not in short  # unset on the control machine: left unset
    long = dict(forms.service("long").environment)
    assert (long["PORT"], long["DEBUG"], long["FROM_CONTROL"]) == (
        "5432",
        "false",
        "from-the-control-machine",
    )


def test_secret_keys_are_env_file_values_pass_through_values_and_secret_looking_names(
    forms: Stack,
) -> None:
    short = forms.service("short").secret_keys
    assert {"FILE_ONLY", "QUOTED", "FROM_CONTROL", "DB_PASSWORD"} <= short
    assert "PLAIN" not in short  # overridden by a literal value in the stack file
    long = forms.service("long").secret_keys
    assert {"API_TOKEN", "PLAIN", "FROM_CONTROL"} <= long
    assert not {"LOG_LEVEL", "PORT", "DEBUG"} & long


def test_networks_list_and_map_forms(forms: Stack) -> None:
    assert forms.service("short").networks == (
        NetworkAttachment("back"),
        NetworkAttachment("front"),
    )
    assert forms.service("long").networks == (
        NetworkAttachment("back", ("database", "pg"), "172.29.0.10"),
        NetworkAttachment("named"),
        NetworkAttachment("shared"),
    )
    assert forms.service("helper").networks == (NetworkAttachment("default"),)


def test_healthcheck_forms(forms: Stack) -> None:
    assert forms.service("short").healthcheck == Healthcheck(
        ("CMD-SHELL", "curl -f http://localhost/"), 90 * SECOND, SECOND // 2, 3, 3600 * SECOND
    )
    assert forms.service("long").healthcheck == Healthcheck(("CMD", "pg_isready"))
    helper = forms.service("helper").healthcheck
    assert helper is not None and helper.disabled


def test_restart_merge_labels_user_and_caps(forms: Stack) -> None:
    short = forms.service("short")
    assert str(short.restart) == "on-failure:2" and short.restart.max_retries == 2
    assert short.labels == (("org.example.team", "core"),)
    assert short.user == "1000"
    assert short.cap_add == ("NET_ADMIN", "SYS_TIME")
    long = forms.service("long")
    assert long.labels == (("com.example.x", "1"), ("com.example.y", "two"))
    assert long.cap_drop == ("ALL",)


def test_long_service_flags_and_settings(forms: Stack) -> None:
    long = forms.service("long")
    assert (long.state, long.pull, str(long.restart)) == ("stopped", "never", "always")
    assert (long.read_only, long.privileged, long.init) == (True, True, True)
    assert (long.working_dir, long.hostname, long.stop_signal) == (
        "/var/lib/postgresql",
        "pg",
        "SIGINT",
    )
    assert long.stop_grace_period == 60 * SECOND
    assert long.logging is not None
    assert long.logging.options == (("max-file", "3"), ("max-size", "10m"))
    assert long.ulimits == (Ulimit("nofile", 20000, 40000), Ulimit("nproc", 65535, 65535))
    assert long.sysctls == (("net.core.somaxconn", "1024"),)
    assert long.dns == ("1.1.1.1", "8.8.8.8")
    assert long.depends_on == (Dependency("helper", "service_completed_successfully"),)


def test_short_forms_of_dns_extra_hosts_sysctls_and_depends_on(forms: Stack) -> None:
    short = forms.service("short")
    assert short.dns == ("9.9.9.9",)
    assert short.extra_hosts == ("db.local:10.0.0.5", "v6.local:::1")
    assert forms.service("long").extra_hosts == ("gw.local:10.0.0.1",)
    assert short.sysctls == (("net.ipv4.ip_forward", "1"),)
    assert short.depends_on == (Dependency("long", "service_started"),)


def test_resources_and_replicas(forms: Stack) -> None:
    assert forms.service("short").resources == Resources(1.5, 1024**3, 0.25, 268435456)
    assert forms.service("built").replicas == 2
    assert forms.service("short").replicas == 1


def test_build_without_image_gets_the_compose_style_image_name(forms: Stack) -> None:
    helper = forms.service("helper")
    assert helper.image == "forms-helper:latest"
    assert helper.build == Build(VALID / "helper")
    built = forms.service("built")
    assert built.image == "forms/built:dev"
    assert built.build == Build(
        VALID / "helper", "Dockerfile.alt", (("FLAVOUR", "slim"), ("VERSION", "1")), "runtime"
    )


def test_defaults_are_filled(tmp_path: Path) -> None:
    stack = load_text(tmp_path, "version: 1\nname: d\nservices:\n  web: {image: nginx}\n")
    web = stack.service("web")
    assert (web.state, web.pull, web.replicas, str(web.restart)) == ("running", "missing", 1, "no")
    assert (web.command, web.healthcheck, web.hosts) == (None, None, ())
    assert stack.engine is None
    assert [n.docker_name for n in stack.networks] == ["d_default"]


def test_a_stack_without_services_has_no_implicit_network(tmp_path: Path) -> None:
    stack = load_text(tmp_path, "version: 1\nname: e\nengine: {daemon: {}}\n")
    assert stack.networks == () and stack.services == ()
    assert stack.engine is not None and stack.engine.daemon_json == "{}"
