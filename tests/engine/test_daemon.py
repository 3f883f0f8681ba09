"""daemon.json values dockerd would refuse at start are caught before any host sees them."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetform.engine.settings import EngineSettingsError, canonical_daemon_json, engine_for_host
from fleetform.model import Engine, Stack
from fleetform.stackfile.daemon import daemon_problems

GOOD = {
    "log-driver": "json-file",
    "log-opts": {"max-size": "10m", "max-file": "3", "compress": "true", "mode": "non-blocking"},
    "live-restore": True,
    "bip": "172.26.0.1/16",
    "fixed-cidr-v6": "2001:db8::/64",
    "default-address-pools": [{"base": "10.200.0.0/16", "size": 24}],
    "data-root": "/srv/docker",
    "dns": ["10.0.0.2", "2001:db8::53"],
    "insecure-registries": ["registry.lab:5000", "10.0.0.0/8"],
    "registry-mirrors": ["https://mirror.lab:5000"],
    "labels": ["env=prod"],
    "exec-opts": ["native.cgroupdriver=systemd"],
    "default-shm-size": "64M",
    "storage-driver": "overlay2",
    "default-runtime": "runc",
    "metrics-addr": "127.0.0.1:9323",
    "mtu": 1450,
    "default-ulimits": {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 4096}},
}


def test_a_daemon_json_using_every_checked_key_well_has_no_problem() -> None:
    assert daemon_problems(GOOD) == []


def test_a_logging_plugin_given_with_its_tag_is_accepted() -> None:
    assert daemon_problems({"log-driver": "grafana/loki-docker-driver:2.9.1"}) == []
    assert daemon_problems({"log-driver": "loki:latest"}) == []


@pytest.mark.parametrize(
    ("config", "where", "fragment"),
    [
        ({"log-driver": "jsonfile"}, ("log-driver",), "(did you mean `json-file`?)"),
        ({"log-opts": {"max-size": "10 MB!"}}, ("log-opts", "max-size"), "is not a size"),
        ({"log-opts": {"max-file": "0"}}, ("log-opts", "max-file"), "number of files"),
        ({"log-opts": {"compress": "yes"}}, ("log-opts", "compress"), "true or false"),
        ({"bip": "not-a-cidr"}, ("bip",), "prefix length"),
        ({"bip": "172.26.0.1"}, ("bip",), "prefix length"),
        ({"fixed-cidr-v6": "10.0.0.0/8"}, ("fixed-cidr-v6",), "IPv6 network"),
        (
            {"default-address-pools": [{"base": "10.0.0/8", "size": 24}]},
            ("default-address-pools", 0, "base"),
            "CIDR",
        ),
        ({"data-root": "docker"}, ("data-root",), "absolute path"),
        ({"data-root": "/var/../docker"}, ("data-root",), "absolute path"),
        ({"data-root": "/"}, ("data-root",), "root directory"),
        ({"exec-root": "run/docker"}, ("exec-root",), "absolute path"),
        ({"dns": ["dns.lab"]}, ("dns", 0), "not an IP address"),
        ({"insecure-registries": ["http://r.lab"]}, ("insecure-registries", 0), "scheme"),
        ({"registry-mirrors": ["mirror.lab"]}, ("registry-mirrors", 0), "https://"),
        ({"labels": ["env"]}, ("labels", 0), "key=value"),
        ({"exec-opts": ["native.cgroupdriver=system"]}, ("exec-opts", 0), "cgroup driver"),
        ({"default-shm-size": "64 megs"}, ("default-shm-size",), "not a size"),
        ({"storage-driver": "overlay3"}, ("storage-driver",), "did you mean `overlay2`"),
        ({"metrics-addr": "9323"}, ("metrics-addr",), "host:port"),
        ({"mtu": 70000}, ("mtu",), "68-65535"),
        (
            {"default-ulimits": {"nofile": {"Name": "nofile", "Soft": 9, "Hard": 1}}},
            ("default-ulimits", "nofile", "Soft"),
            "above the hard limit",
        ),
        (
            {"default-ulimits": {"nofiles": {"Name": "nofiles", "Soft": 1, "Hard": 1}}},
            ("default-ulimits", "nofiles"),
            "did you mean `nofile`",
        ),
    ],
)
def test_a_value_dockerd_refuses_is_named_with_its_path(
    config: dict[str, object], where: tuple[str | int, ...], fragment: str
) -> None:
    problems = daemon_problems(config)
    assert [path for path, _ in problems] == [where]
    assert fragment in problems[0][1]


def test_engine_settings_made_outside_stack_files_are_checked_too() -> None:
    text = canonical_daemon_json({"log-driver": "jsonfile"})
    stack = Stack(name="a", source=Path("stacks/a.yml"), engine=Engine(daemon_json=text))
    with pytest.raises(EngineSettingsError) as err:
        engine_for_host([stack], "lab-1", [])
    assert str(err.value).startswith("stacks/a.yml: engine.daemon: log-driver: `jsonfile` is not")
