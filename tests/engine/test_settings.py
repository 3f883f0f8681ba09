from __future__ import annotations

from pathlib import Path

import pytest

from fleetform.engine.settings import (
    EngineSettings,
    EngineSettingsError,
    canonical_daemon_json,
    daemon_json_problems,
    engine_for_host,
)
from fleetform.model import Engine, RegistryCA, Stack

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def stack(name: str, engine: Engine | None, hosts: tuple[str, ...] = ()) -> Stack:
    return Stack(name=name, source=Path(f"stacks/{name}.yml"), hosts=hosts, engine=engine)


def test_a_host_no_stack_says_anything_about_gets_distro_and_unmanaged_daemon_json():
    settings = engine_for_host([stack("web", None)], "lab-1", ["web"])
    assert settings == EngineSettings()
    assert settings.source == "distro" and settings.daemon_json is None


def test_stacks_agreeing_on_the_engine_merge_users_registries_and_origins():
    a = stack("a", Engine(daemon_json='{"log-driver":"local"}', users=("bob",)))
    b = stack(
        "b",
        Engine(users=("alice",), registries=(RegistryCA("registry.lab:5000", PEM),)),
    )
    settings = engine_for_host([a, b], "lab-1", [])
    assert settings.daemon_json == '{"log-driver":"local"}'
    assert settings.users == ("alice", "bob")
    assert [r.registry for r in settings.registries] == ["registry.lab:5000"]
    assert settings.origins == (Path("stacks/a.yml"), Path("stacks/b.yml"))


def test_two_stacks_giving_one_host_different_engines_is_an_error_naming_both_files_and_host():
    a = stack("a", Engine(source="distro"))
    b = stack("b", Engine(source="docker-ce"), hosts=("web",))
    with pytest.raises(EngineSettingsError) as err:
        engine_for_host([a, b], "lab-1", ["web"])
    message = str(err.value)
    assert "stacks/a.yml" in message and "stacks/b.yml" in message and "lab-1" in message
    assert "'distro' vs 'docker-ce'" in message


def test_different_daemon_settings_conflict_but_an_undeclared_daemon_does_not():
    a = stack("a", Engine(daemon_json='{"debug":true}'))
    b = stack("b", Engine(daemon_json='{"debug":false}'))
    c = stack("c", Engine())
    with pytest.raises(EngineSettingsError, match=r"daemon \{\"debug\":true\} vs"):
        engine_for_host([a, b], "lab-1", [])
    assert engine_for_host([a, c], "lab-1", []).daemon_json == '{"debug":true}'


def test_stacks_placed_on_other_hosts_do_not_count():
    web = stack("web", Engine(source="docker-ce"), hosts=("web",))
    db = stack("db", Engine(source="distro"), hosts=("db", "lab-9"))
    assert engine_for_host([web, db], "lab-1", ["web"]).source == "docker-ce"
    assert engine_for_host([web, db], "lab-9", []).source == "distro"
    assert engine_for_host([web, db], "lab-3", ["other"]) == EngineSettings()


def test_two_different_ca_certificates_for_one_registry_are_an_error():
    a = stack("a", Engine(registries=(RegistryCA("registry.lab:5000", PEM),)))
    b = stack("b", Engine(registries=(RegistryCA("registry.lab:5000", PEM + "x"),)))
    with pytest.raises(EngineSettingsError, match=r"stacks/a.yml and stacks/b.yml .* lab-1"):
        engine_for_host([a, b], "lab-1", [])


def test_a_registry_name_that_is_not_host_and_port_is_refused():
    bad = stack("a", Engine(registries=(RegistryCA("../../etc", PEM),)))
    with pytest.raises(EngineSettingsError, match="is not a registry host"):
        engine_for_host([bad], "lab-1", [])


def test_docker_api_on_tcp_without_tls_is_refused_with_the_reason():
    text = canonical_daemon_json({"hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]})
    with pytest.raises(EngineSettingsError) as err:
        engine_for_host([stack("a", Engine(daemon_json=text))], "lab-1", [])
    assert "stacks/a.yml: engine.daemon: hosts: tcp://0.0.0.0:2375 exposes the Docker API" in str(
        err.value
    )
    assert "without TLS" in str(err.value)


def test_tls_without_client_verification_still_counts_as_exposed():
    problems = daemon_json_problems(
        canonical_daemon_json({"hosts": ["tcp://0.0.0.0:2376"], "tls": True, "tlscert": "c"})
    )
    assert "without TLS" in problems[0]


def test_hosts_with_full_tls_is_refused_because_it_clashes_with_the_units_fd_socket():
    text = canonical_daemon_json(
        {
            "hosts": ["tcp://0.0.0.0:2376"],
            "tlsverify": True,
            "tlscacert": "/etc/docker/ca.pem",
            "tlscert": "/etc/docker/cert.pem",
            "tlskey": "/etc/docker/key.pem",
        }
    )
    (problem,) = daemon_json_problems(text)
    assert "-H fd://" in problem and "remove hosts" in problem


def test_daemon_json_that_is_not_a_json_object_is_refused():
    assert daemon_json_problems("[1]") == ["daemon.json must be a mapping"]
    assert daemon_json_problems("{").pop().startswith("not valid JSON")
    assert daemon_json_problems('{"log-driver":"local"}') == []


def test_host_data_registries_are_added_but_stack_certificates_win():
    settings = EngineSettings(registries=(RegistryCA("registry.lab:5000", PEM),))
    merged = settings.with_registries({"registry.lab:5000": "other", "mirror.lab": PEM})
    assert [(r.registry, r.ca_cert) for r in merged.registries] == [
        ("mirror.lab", PEM),
        ("registry.lab:5000", PEM),
    ]
