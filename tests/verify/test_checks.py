"""Checks generated from stacks, evaluated against a recorded host state (no host needed)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from fleetform.engine.settings import EngineSettings
from fleetform.model import RegistryCA, Service
from fleetform.plan.desired import desired_for_host
from fleetform.verify.checks import SECRET, CheckResult
from fleetform.verify.container_checks import container_checks, normalise_image
from fleetform.verify.engine_checks import ca_path, engine_checks
from fleetform.verify.generate import checks_for_host
from fleetform.verify.state import HostState

from .conftest import RECORDED_HASH, recorded_stack, web_service

GROUPS = frozenset({"web"})


def results_for(
    state: HostState, *services: Service, recorded_hash: bool = True
) -> list[CheckResult]:
    """Container checks of ``services`` (default: web and job), evaluated on ``state``."""
    stack = recorded_stack(*services)
    desired = desired_for_host([stack], "local", GROUPS)
    results = []
    for dc in desired.containers:
        if recorded_hash:
            dc = dataclasses.replace(dc, config_hash=RECORDED_HASH)
        results += [c.evaluate(state) for c in container_checks(dc)]
    return results


def failures(results: list[CheckResult]) -> list[str]:
    return [r.line("local") for r in results if not r.ok]


def with_container(
    state: HostState, name: str, edit: Callable[[dict[str, Any]], None]
) -> HostState:
    containers = copy.deepcopy([dict(c) for c in state.containers])
    for c in containers:
        if c["Name"] == f"/{name}":
            edit(c)
    return dataclasses.replace(state, containers=tuple(containers))


def test_matching_containers_pass_every_check(state: HostState) -> None:
    results = results_for(state)
    assert failures(results) == []
    checks = {(r.resource, r.check) for r in results}
    assert {
        ("ffverify-web-1", "state"),
        ("ffverify-web-1", "health"),
        ("ffverify-web-1", "image"),
        ("ffverify-web-1", "config hash"),
        ("ffverify-web-1", "env GREETING"),
        ("ffverify-web-1", "port 127.0.0.1:18089:8080/tcp"),
        ("ffverify-web-1", "listening 18089/tcp"),
        ("ffverify-web-1", "network ffverify_net"),
        ("ffverify-web-1", "mount /data"),
        ("ffverify-web-1", "mount /host-tmp"),
        ("ffverify-web-1", "mount /scratch"),
        ("ffverify-job-1", "state"),
    } <= checks


def test_config_hash_is_the_one_the_plan_computes(state: HostState) -> None:
    results = results_for(state, recorded_hash=False)
    lines = failures(results)
    assert len(lines) == 2
    assert all("config hash  expected" in line and f"got {RECORDED_HASH}" in line for line in lines)


def test_stopped_container_fails_its_state_naming_host_and_container(state: HostState) -> None:
    def stop(c: dict[str, Any]) -> None:
        c["State"].update(Status="exited", Running=False, ExitCode=137)

    lines = failures(results_for(with_container(state, "ffverify-web-1", stop)))
    assert "local  ffverify-web-1  state  expected running, got exited" in lines
    assert "local  ffverify-web-1  health  expected healthy, got not running (exited)" in lines


def test_missing_container_fails_exists_and_every_other_check(state: HostState) -> None:
    gone = dataclasses.replace(
        state, containers=tuple(c for c in state.containers if c["Name"] != "/ffverify-web-1")
    )
    lines = failures(results_for(gone))
    assert "local  ffverify-web-1  exists  expected a container, got no container" in lines
    assert "local  ffverify-web-1  state  expected running, got no container" in lines


def test_absent_service_passes_only_without_its_container(state: HostState) -> None:
    absent = web_service(state="absent")
    lines = failures(results_for(state, absent))
    assert lines == ["local  ffverify-web-1  absent  expected no container, got exists"]


def test_environment_is_compared_by_declared_key(state: HostState) -> None:
    lines = failures(results_for(state, web_service(environment=(("GREETING", "bye"),))))
    assert lines == ["local  ffverify-web-1  env GREETING  expected bye, got hello"]
    lines = failures(results_for(state, web_service(environment=(("MISSING", "x"),))))
    assert lines == ["local  ffverify-web-1  env MISSING  expected x, got unset"]


def test_secret_values_are_compared_but_never_shown(state: HostState) -> None:
    svc = web_service(environment=(("API_TOKEN", "other-secret"),))
    results = results_for(state, svc)
    token = next(r for r in results if r.check == "env API_TOKEN")
    assert not token.ok
    assert token.expected == SECRET
    assert token.actual == f"{SECRET}, a different value"
    everything = repr([r.as_dict() for r in results])
    assert "s3cret" not in everything and "other-secret" not in everything
    ok = next(r for r in results_for(state) if r.check == "env API_TOKEN")
    assert ok.ok and ok.actual == SECRET


def test_unpublished_port_fails_both_publication_and_listening(state: HostState) -> None:
    def unpublish(c: dict[str, Any]) -> None:
        c["HostConfig"]["PortBindings"] = {}
        c["NetworkSettings"]["Ports"] = {"8080/tcp": None}

    gone = dataclasses.replace(
        with_container(state, "ffverify-web-1", unpublish), listening=frozenset()
    )
    lines = failures(results_for(gone))
    port = "port 127.0.0.1:18089:8080/tcp"
    assert f"local  ffverify-web-1  {port}  expected published, got not published" in lines
    assert (
        "local  ffverify-web-1  listening 18089/tcp  expected listening on the host, "
        "got nothing listens on 18089/tcp" in lines
    )


def test_port_declared_but_nothing_listening_fails_listening_only(state: HostState) -> None:
    lines = failures(results_for(dataclasses.replace(state, listening=frozenset())))
    assert lines == [
        "local  ffverify-web-1  listening 18089/tcp  expected listening on the host, "
        "got nothing listens on 18089/tcp"
    ]


def test_unhealthy_container_fails_health(state: HostState) -> None:
    def sicken(c: dict[str, Any]) -> None:
        c["State"]["Health"]["Status"] = "unhealthy"

    lines = failures(results_for(with_container(state, "ffverify-web-1", sicken)))
    assert lines == ["local  ffverify-web-1  health  expected healthy, got unhealthy"]


def test_image_must_be_the_declared_reference_and_its_current_id(state: HostState) -> None:
    lines = failures(results_for(state, web_service(image="ffverify/busybox:other")))
    assert (
        "local  ffverify-web-1  image  expected ffverify/busybox:other, got ffverify/busybox:rec"
        in lines
    )
    moved = dataclasses.replace(state, images={"ffverify/busybox:rec": "sha256:" + "f" * 64})
    lines = failures(results_for(moved))
    assert len(lines) == 2, "web and job both run the image whose tag moved"
    assert lines[1] == (
        "local  ffverify-web-1  image  expected ffverify/busybox:rec, "
        f"got ffverify/busybox:rec at {state.images['ffverify/busybox:rec'][:19]}, "
        "not sha256:ffffffffffff"
    )


def test_network_aliases_and_mounts_are_checked(state: HostState) -> None:
    svc = web_service(
        networks=(web_service().networks[0].__class__("net", aliases=("back",)),),
    )
    assert failures(results_for(state, svc)) == [
        "local  ffverify-web-1  network ffverify_net  expected attached with aliases back, web, "
        "got attached without aliases back"
    ]
    svc = web_service(volumes=(web_service().volumes[1].__class__("bind", "/host-tmp", "/tmp"),))
    assert failures(results_for(state, svc)) == [
        "local  ffverify-web-1  mount /host-tmp  expected bind /tmp, got bind /tmp (ro)"
    ]


def test_orphans_networks_and_volumes_of_the_host(state: HostState) -> None:
    hc = checks_for_host([recorded_stack()], "local", GROUPS)
    by_id = {c.id: c.evaluate(state) for c in hc.checks}
    orphan = by_id["stack ffverify::no orphaned containers"]
    assert not orphan.ok and orphan.actual == "ffverify-stray-1"
    assert by_id["network ffverify_net::exists"].ok
    assert by_id["volume ffverify_data::exists"].ok
    assert set(hc.needs.images) == {"ffverify/busybox:rec"}
    assert hc.needs.networks == ("ffverify_net",) and hc.needs.volumes == ("ffverify_data",)


def test_generation_is_pure_and_ordered() -> None:
    stack = recorded_stack()
    first = [c.id for c in checks_for_host([stack], "local", GROUPS).checks]
    assert first == [c.id for c in checks_for_host([stack], "local", GROUPS).checks]
    assert first[:3] == ["engine::packages", "engine::dockerd running", "engine::dockerd enabled"]
    assert len(first) == len(set(first)), "check ids are unique per host"


def test_services_placed_elsewhere_get_no_checks_and_count_as_orphans() -> None:
    stack = recorded_stack(web_service(hosts=("db",)))
    ids = [c.id for c in checks_for_host([stack], "local", GROUPS).checks]
    assert not any(i.startswith("ffverify-web-1") for i in ids)
    assert "stack ffverify::no orphaned containers" in ids


@pytest.mark.parametrize(
    ("ref", "normal"),
    [
        ("nginx", "nginx:latest"),
        ("docker.io/library/nginx:1.25", "nginx:1.25"),
        ("registry.lab:5000/demo", "registry.lab:5000/demo:latest"),
        ("demo@sha256:abc", "demo@sha256:abc"),
    ],
)
def test_image_references_are_normalised(ref: str, normal: str) -> None:
    assert normalise_image(ref) == normal


# --- engine ------------------------------------------------------------------


def engine_results(settings: EngineSettings, state: HostState) -> dict[str, CheckResult]:
    return {c.check: c.evaluate(state) for c in engine_checks(settings)}


def test_engine_of_the_recorded_host_passes_the_basics(state: HostState) -> None:
    results = engine_results(EngineSettings(), state)
    for name in ("packages", "dockerd running", "docker.sock", "runc --version", "docker info"):
        assert results[name].ok, results[name]
    assert results["packages"].expected == "docker.io, containerd, runc installed"


def test_daemon_json_must_be_on_disk_and_in_effect(state: HostState) -> None:
    settings = EngineSettings(daemon_json='{"live-restore":true,"log-driver":"json-file"}')
    results = engine_results(settings, state)
    assert results["daemon.json"].line("lab-1") == (
        'lab-1  engine  daemon.json  expected {"live-restore": true, "log-driver": "json-file"}, '
        "got absent"
    )
    assert results["in effect: log-driver"].ok
    assert results["in effect: live-restore"].line("lab-1") == (
        "lab-1  engine  in effect: live-restore  expected true, got false"
    )
    edited = dataclasses.replace(state, daemon_json='{"log-driver": "local", "live-restore": true}')
    results = engine_results(settings, edited)
    assert results["daemon.json"].actual == "differs: log-driver=local"


def test_daemon_json_registry_settings_read_from_docker_info(state: HostState) -> None:
    settings = EngineSettings(
        daemon_json='{"insecure-registries":["registry.lab:5000"],'
        '"registry-mirrors":["https://mirror.lab"]}'
    )
    assert state.info is not None
    info = copy.deepcopy(dict(state.info))
    info["RegistryConfig"]["Mirrors"] = ["https://mirror.lab/"]
    info["RegistryConfig"]["IndexConfigs"]["registry.lab:5000"] = {"Secure": False}
    results = engine_results(settings, dataclasses.replace(state, info=info))
    assert results["in effect: registry-mirrors"].ok
    assert results["in effect: insecure-registries"].ok
    results = engine_results(settings, state)
    assert not results["in effect: insecure-registries"].ok


def test_stopped_engine_fails_service_and_info_checks(state: HostState) -> None:
    from fleetform.verify.state import ServiceStatus

    down = dataclasses.replace(
        state,
        services={**state.services, "docker": ServiceStatus("inactive", "enabled")},
        info=None,
        info_error="Cannot connect to the Docker daemon at unix:///var/run/docker.sock.",
    )
    results = engine_results(EngineSettings(), down)
    assert results["dockerd running"].line("lab-1") == (
        "lab-1  engine  dockerd running  expected active, got inactive"
    )
    assert not results["docker info"].ok
    assert "Cannot connect" in results["docker info"].actual


def test_registry_ca_files_are_compared_by_content(state: HostState) -> None:
    pem = "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"
    settings = EngineSettings(registries=(RegistryCA("registry.lab:5000", pem),))
    path = ca_path("registry.lab:5000")
    assert path == "/etc/docker/certs.d/registry.lab:5000/ca.crt"
    missing = engine_results(settings, state)["registry CA registry.lab:5000"]
    assert missing.actual == "missing"
    present = dataclasses.replace(state, files={path: pem.strip()})
    assert engine_results(settings, present)["registry CA registry.lab:5000"].ok


def test_with_dockerd_down_container_checks_say_unknown_not_missing(state: HostState) -> None:
    down = dataclasses.replace(state, info=None, info_error="Cannot connect to the Docker daemon")
    results = results_for(down)
    exists = next(r for r in results if r.check == "exists" and "web" in r.resource)
    assert exists.line("lab-1") == (
        "lab-1  ffverify-web-1  exists  expected a container, "
        "got unknown: docker engine not answering (Cannot connect to the Docker daemon)"
    )
    engine = engine_results(EngineSettings(), down)
    assert engine["packages"].ok, "engine checks still read packages and services"


def test_a_same_name_stacks_containers_from_another_file_are_not_orphans(
    state: HostState,
) -> None:
    def elsewhere(c: dict[str, Any]) -> None:
        c["Config"]["Labels"]["fleetform.stack-file"] = "teams/other/ffverify.yml"

    hc = checks_for_host([recorded_stack()], "local", GROUPS)
    orphan = next(c for c in hc.checks if c.id == "stack ffverify::no orphaned containers")
    assert orphan.evaluate(state).actual == "ffverify-stray-1"
    moved = with_container(state, "ffverify-stray-1", elsewhere)
    assert orphan.evaluate(moved).ok
