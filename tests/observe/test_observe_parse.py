"""Parsing recorded `docker inspect` output (tests/data/inspect, made by record.sh)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fleetform.observe import (
    EngineMissing,
    EngineNotAnswering,
    EngineUnavailable,
    ObserveError,
    observe_command,
    parse_observed,
)
from fleetform.observe.inspect import image_config, spec_from_inspect
from fleetform.plan.desired import DesiredImage, HostDesired
from fleetform.plan.spec import HealthSpec, LogSpec, MountSpec, NetSpec, UlimitSpec

INSPECT = Path(__file__).parent.parent / "data" / "inspect"
S = 1_000_000_000


def _load(name: str) -> dict:
    return json.loads((INSPECT / name).read_text())[0]


def test_a_container_with_many_options_parses_to_its_normal_form() -> None:
    spec = spec_from_inspect(_load("container-web.json"))
    assert spec.image == "fleetform-test/busybox:1"
    assert spec.entrypoint == ("/bin/busybox",)
    assert spec.command == ("sleep", "3600")
    assert dict(spec.env) == {
        "LOG_LEVEL": "info",
        "MOTD": "hello world",
        "PATH": "/bin",
        "GREETING": "hello",
    }
    assert dict(spec.labels) == {
        "app.tier": "frontend",
        "fleetform.test": "1",
        "org.example.image": "busybox",
    }
    assert spec.ports == ("127.0.0.1:18080:80/tcp", "18053:53/udp", "81/tcp")
    assert spec.mounts == (
        MountSpec("volume", "/cache"),
        MountSpec("volume", "/data", "fftest_data"),
        MountSpec("bind", "/etc/host_name", "/etc/hostname", read_only=True),
        MountSpec("tmpfs", "/tmp", tmpfs_size=1048576),
    )
    assert spec.networks == (
        NetSpec("fftest_back", ("api", "web")),
        NetSpec("fftest_front", ("web", "www"), "10.231.7.10"),
    )
    assert spec.healthcheck == HealthSpec(("CMD-SHELL", "busybox true"), 2 * S, 1 * S, 3, 1 * S)
    assert (spec.cap_add, spec.cap_drop) == (("NET_ADMIN",), ("MKNOD",))
    assert (spec.read_only, spec.init, spec.privileged) == (True, True, False)
    assert (spec.user, spec.working_dir, spec.hostname) == ("1000:1000", "/data", "web1")
    assert (spec.stop_signal, spec.stop_timeout) == ("SIGINT", 5)
    assert spec.logging == LogSpec("json-file", (("max-size", "1m"),))
    assert spec.ulimits == (UlimitSpec("nofile", 1024, 2048),)
    assert spec.sysctls == (("net.ipv4.ip_forward", "0"),)
    assert (spec.extra_hosts, spec.dns) == (("db.lab:10.0.0.5",), ("10.0.0.53",))
    assert spec.restart == "on-failure:3"
    assert (spec.cpus, spec.memory, spec.memory_reservation, spec.cpu_shares) == (
        0.5,
        64 << 20,
        32 << 20,
        512,
    )


def test_docker_defaults_parse_to_unset_values() -> None:
    spec = spec_from_inspect(_load("container-plain.json"))
    assert spec.hostname is None  # Docker's default hostname is the short id
    assert spec.command == ("/bin/busybox", "sleep", "3600")  # from the image
    assert spec.entrypoint is None
    assert (spec.ports, spec.mounts, spec.cap_add, spec.ulimits, spec.dns) == ((), (), (), (), ())
    assert spec.networks == (NetSpec("bridge"),)
    assert spec.restart == "no"
    assert (spec.cpus, spec.memory, spec.cpu_shares, spec.healthcheck) == (None, None, None, None)
    assert spec.logging == LogSpec("json-file")


def test_image_config_keeps_what_containers_inherit() -> None:
    cfg = image_config(_load("image.json"))
    assert dict(cfg.env) == {"PATH": "/bin", "GREETING": "hello"}
    assert cfg.cmd == ("/bin/busybox", "sleep", "3600")
    assert cfg.working_dir == "/srv"
    assert ("fleetform.test", "1") in cfg.labels


def test_the_observe_document_lists_managed_containers_with_state_and_health() -> None:
    observed = parse_observed((INSPECT / "observe.json").read_text())
    by_name = {c.name: c for c in observed.containers}
    assert sorted(by_name) == ["fftest-job-1", "fftest-plain-1", "fftest-sick-1", "fftest-web-1"]
    assert by_name["fftest-job-1"].status == "exited"
    assert by_name["fftest-job-1"].exit_code == 0
    assert by_name["fftest-web-1"].health == "healthy"
    assert by_name["fftest-sick-1"].health == "unhealthy"
    assert by_name["fftest-sick-1"].health_log == "failing"
    assert by_name["fftest-web-1"].stack == "fftest"
    assert by_name["fftest-web-1"].replica == "1"


def test_containers_without_the_stack_label_are_only_names() -> None:
    observed = parse_observed((INSPECT / "observe.json").read_text())
    assert "fftest-byhand" in observed.unmanaged
    assert observed.container("fftest-byhand") is None


def test_networks_volumes_and_declared_images_are_observed() -> None:
    observed = parse_observed((INSPECT / "observe.json").read_text())
    back = observed.network("fftest_back")
    assert back is not None and back.internal and back.stack == "fftest"
    assert dict(back.options) == {"com.docker.network.bridge.enable_icc": "true"}
    data = observed.volume("fftest_data")
    assert data is not None and data.driver == "local" and data.stack == "fftest"
    image = observed.image("fleetform-test/busybox:1")
    assert image is not None and image.id.startswith("sha256:")
    assert observed.image("fleetform-test/missing:0") is None
    web = observed.container("fftest-web-1")
    assert web is not None and observed.image_by_id(web.image_id) is not None


@pytest.mark.parametrize(
    ("stdout", "message"),
    [
        (
            '{"fleetform_observe":1,"error":"docker is not installed (no docker command)"}',
            "docker is not installed",
        ),
        ("sh: 1: syntax error", "unreadable observation output"),
        ("", "(no output)"),
        ('{"something": "else"}', "not a fleetform observe document"),
    ],
)
def test_unusable_output_raises_a_readable_error(stdout: str, message: str) -> None:
    with pytest.raises(ObserveError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_observed(stdout)


def test_the_observe_command_reports_a_missing_docker_as_json(tmp_path: Path) -> None:
    want = HostDesired("h", ("demo",), images=(DesiredImage("busybox:1"),))
    out = subprocess.run(
        ["/bin/sh", "-c", observe_command(want)],
        capture_output=True,
        text=True,
        env={"PATH": str(tmp_path)},
        check=True,
    )
    with pytest.raises(EngineMissing, match="docker is not installed"):
        parse_observed(out.stdout)


def test_a_daemon_that_does_not_answer_is_a_typed_error(tmp_path: Path) -> None:
    docker = tmp_path / "docker"
    docker.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2; exit 1\n")
    docker.chmod(0o755)
    out = subprocess.run(
        ["/bin/sh", "-c", observe_command(HostDesired("h", ("demo",)))],
        capture_output=True,
        text=True,
        env={"PATH": str(tmp_path)},
        check=True,
    )
    with pytest.raises(EngineNotAnswering, match="does not answer"):
        parse_observed(out.stdout)


def test_an_error_is_about_the_engine_by_its_code_never_by_its_wording() -> None:
    # The wording of an engine problem, but no engine code: a plain failure,
    # so the host is reported instead of being planned against an empty host.
    doc = '{"fleetform_observe":1,"error":"the plugin is not installed; daemon does not answer"}'
    with pytest.raises(ObserveError) as raised:
        parse_observed(doc)
    assert not isinstance(raised.value, EngineUnavailable)


def test_image_references_are_shell_quoted() -> None:
    cmd = observe_command(HostDesired("h", ("demo",), images=(DesiredImage("x;touch /tmp/p"),)))
    assert "docker image inspect 'x;touch /tmp/p'" in cmd
