"""Parsing a host's engine layers from recorded output (tests/engine/data/layers/README.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from fleetform.engine.layers import COMPONENTS, parse_layers, parse_version_output
from fleetform.engine.layers_script import layers_script
from fleetform.observe.sections import split_sections

DATA = Path(__file__).parent / "data" / "layers"


def test_debian_docker_io_host_reports_each_layer_with_its_package() -> None:
    host = parse_layers("h1", (DATA / "control-docker-io.txt").read_text())
    assert host.status == "ok"
    got = {c: (host.component(c).version, host.component(c).commit) for c in COMPONENTS}
    assert got == {
        "docker-cli": ("28.2.2", "e6534b4"),
        "dockerd": ("20.10.24+dfsg1", "5d6db84"),
        "containerd": ("1.6.20~ds1", "1.6.20~ds1-1+deb12u3"),
        "containerd-shim-runc-v2": ("1.6.20~ds1", "1.6.20~ds1-1+deb12u3"),
        "runc": ("1.1.5+ds1", "1.1.5+ds1-1+deb12u1"),
    }
    runc = host.component("runc").package
    assert runc is not None and (runc.name, runc.version, runc.source) == (
        "runc",
        "1.1.5+ds1-1+deb12u1",
        "distribution",
    )
    # this machine's CLI is a static binary in /usr/local/bin, installed by no package
    cli = host.component("docker-cli").package
    assert cli is not None and cli.source == "unpackaged"
    assert host.component("containerd-shim-runc-v2").package.name == "containerd"  # type: ignore[union-attr]


def test_host_facts_come_from_docker_info() -> None:
    host = parse_layers("h1", (DATA / "control-docker-io.txt").read_text())
    assert (host.kernel, host.codename, host.os_id) == ("6.18.44-fc-v669", "bookworm", "debian")
    assert (host.cgroup_version, host.cgroup_driver, host.storage_driver) == (
        "1",
        "cgroupfs",
        "overlay2",
    )
    assert host.default_runtime == "runc"
    assert "io.containerd.runc.v2" in host.runtimes
    assert host.as_json()["security"]["seccomp"] is True
    assert host.as_json()["security"]["rootless"] is False
    assert host.running_containers == 8 and host.shims == 8
    assert host.running_versions["runc"] == "1.1.5+ds1"


def test_the_changelog_entry_naming_an_advisory_is_kept_with_its_version() -> None:
    host = parse_layers("h1", (DATA / "control-docker-io.txt").read_text())
    [entry] = host.component("runc").changelog
    assert (entry.version, entry.distribution, entry.names) == (
        "1.1.5+ds1-1+deb12u1",
        "bookworm-security",
        ("CVE-2024-21626",),
    )
    assert host.component("dockerd").changelog == ()


def test_docker_ce_layout_reports_docker_packages() -> None:
    host = parse_layers("h1", (DATA / "docker-ce-documented.txt").read_text())
    pkgs = {c: host.component(c).package for c in COMPONENTS}
    assert {c: (p.name, p.source) for c, p in pkgs.items() if p} == {
        "docker-cli": ("docker-ce-cli", "docker-ce"),
        "dockerd": ("docker-ce", "docker-ce"),
        "containerd": ("containerd.io", "docker-ce"),
        "containerd-shim-runc-v2": ("containerd.io", "docker-ce"),
        "runc": ("containerd.io", "docker-ce"),
    }
    assert host.component("runc").commit == "v1.1.14-0-g2c9f560"
    assert (host.cgroup_version, host.cgroup_driver) == ("2", "systemd")
    assert host.as_json()["security"]["apparmor"] is True


def test_host_without_an_engine_is_reported_as_such() -> None:
    host = parse_layers("lab-1", (DATA / "lab-no-engine.txt").read_text())
    assert host.status == "no-engine"
    assert host.components == {}
    assert host.as_json()["components"]["runc"]["installed"] is False
    assert host.kernel == "6.18.44-fc-v669"


def test_engine_that_does_not_answer_still_reports_the_binaries() -> None:
    host = parse_layers("h1", (DATA / "control-engine-down.txt").read_text())
    assert host.status == "engine-down"
    assert host.error is not None and "Cannot connect to the Docker daemon" in host.error
    assert host.component("runc").version == "1.1.5+ds1"
    assert host.running_containers is None


def test_truncated_output_is_an_unreachable_host_not_a_crash() -> None:
    host = parse_layers("h1", "garbage")
    assert host.status == "unreachable" and host.error


def test_version_lines_of_each_binary() -> None:
    assert parse_version_output(
        "containerd", "containerd containerd.io 1.7.22 7f7fdf5fed64eb6a7caf99b3e12efcf9d60e311c"
    ) == ("1.7.22", "7f7fdf5fed64eb6a7caf99b3e12efcf9d60e311c")
    assert parse_version_output("runc", "runc version 1.2.8\ncommit: v1.2.8-0-gabc\n") == (
        "1.2.8",
        "v1.2.8-0-gabc",
    )
    assert parse_version_output("runc", "sh: runc: Permission denied") == (None, None)


def test_the_script_runs_in_a_posix_shell_and_parses() -> None:
    """The real script, run here by /bin/sh (dash) with a bare environment."""
    proc = subprocess.run(
        ["env", "-i", "/bin/sh", "-c", layers_script(["CVE-2024-21626"])],
        capture_output=True,
        text=True,
        check=False,
    )
    parts = split_sections(proc.stdout)
    assert {f"bin:{c}" for c in COMPONENTS} <= set(parts)
    host = parse_layers("here", proc.stdout)
    assert host.kernel == os.uname().release
    if shutil.which("runc", path="/usr/sbin:/usr/bin:/sbin:/bin"):
        said = subprocess.run(["runc", "--version"], capture_output=True, text=True).stdout
        assert host.component("runc").version == said.split()[2]


def test_lab_host_with_debian_engine_has_every_layer_from_a_debian_package() -> None:
    host = parse_layers("lab-1", (DATA / "lab-docker-io.txt").read_text())
    assert host.status == "ok"
    packages = {c: host.component(c).package for c in COMPONENTS}
    assert {c: p.name for c, p in packages.items() if p} == {
        "docker-cli": "docker.io",
        "dockerd": "docker.io",
        "containerd": "containerd",
        "containerd-shim-runc-v2": "containerd",
        "runc": "runc",
    }
    assert all(p is not None and p.source == "distribution" for p in packages.values())
    assert host.component("docker-cli").version == "20.10.24+dfsg1"
    assert host.component("runc").changelog_read
