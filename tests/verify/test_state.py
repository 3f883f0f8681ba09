"""Gathering a host's state: one shell script, parsed from recorded output."""

from __future__ import annotations

import subprocess

from fleetform.verify.state import Needs, gather_script, parse_state, split_sections

from .conftest import RECORDED_NEEDS


def test_recorded_output_parses_into_every_fact(recorded_output: str) -> None:
    state = parse_state(recorded_output, RECORDED_NEEDS)
    assert {"docker.io", "containerd", "runc"} <= set(state.packages)
    assert state.docker_socket
    assert state.runc is not None and state.runc.startswith("runc version")
    assert state.info is not None and state.info["LoggingDriver"] == "json-file"
    assert state.daemon_json is None
    assert state.os_release and any(line.startswith("ID=debian") for line in state.os_release)
    assert sorted(c["Name"] for c in state.containers) == [
        "/ffverify-job-1",
        "/ffverify-stray-1",
        "/ffverify-web-1",
    ]


def test_missing_objects_are_left_out_of_the_maps(recorded_output: str) -> None:
    state = parse_state(recorded_output, RECORDED_NEEDS)
    assert set(state.images) == {"ffverify/busybox:rec"}
    assert state.images["ffverify/busybox:rec"].startswith("sha256:")
    assert set(state.networks) == {"ffverify_net"}
    assert set(state.volumes) == {"ffverify_data"}
    assert set(state.files) == {"/etc/hostname"}


def test_published_port_is_seen_listening_on_its_address(recorded_output: str) -> None:
    state = parse_state(recorded_output, RECORDED_NEEDS)
    assert state.listens_on(18089, "127.0.0.1")
    assert not state.listens_on(18089, "10.0.0.1")
    assert not state.listens_on(1)


def test_ipv6_wildcard_listener_counts_for_any_address() -> None:
    proc_net = (
        "  sl  local_address                         remote_address  st\n"
        "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A\n"
    )
    out = f"\n@@fleetform-section listening\n{proc_net}\n@@fleetform-rc 0\n"
    state = parse_state(out)
    assert ("::", 8080) in state.listening
    assert state.listens_on(8080, "127.0.0.1")


def test_object_names_are_shell_quoted_in_the_script() -> None:
    script = gather_script(Needs(networks=("x; touch /tmp/pwned",)))
    assert "'x; touch /tmp/pwned'" in script


def test_script_runs_under_posix_sh_and_every_section_is_closed() -> None:
    needs = Needs(images=("no-such-image:1",), networks=("no-such-net",), files=("/nope",))
    proc = subprocess.run(["sh", "-c", gather_script(needs)], capture_output=True, text=True)
    sections = split_sections(proc.stdout)
    assert {"os", "init", "services", "socket", "runc", "info", "containers", "listening"} <= set(
        sections
    )
    assert sections["file:0"].rc != 0
    assert parse_state(proc.stdout, needs).images == {}


def test_section_text_without_trailing_newline_is_kept() -> None:
    out = "@@fleetform-section runc\nrunc version 1.1\n@@fleetform-rc 0\n"
    assert split_sections(out)["runc"].text == "runc version 1.1"
    assert parse_state(out).runc == "runc version 1.1"


def test_docker_info_with_server_errors_means_the_engine_is_down() -> None:
    info = (
        '{"ServerErrors":["Cannot connect to the Docker daemon at unix:///var/run/docker.sock.'
        ' Is the docker daemon running?"],"ClientInfo":{"Debug":false}}'
    )
    state = parse_state(f"@@fleetform-section info\n{info}\n@@fleetform-rc 0\n")
    assert state.info is None and not state.engine_answers
    assert state.info_error.startswith("Cannot connect to the Docker daemon")
