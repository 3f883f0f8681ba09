"""The engine part of a plan, in words, from recorded engine states."""

from __future__ import annotations

import json

from fleetform.engine.changes import engine_changes
from fleetform.engine.settings import EngineSettings
from fleetform.engine.steps import sha256_text
from fleetform.model import RegistryCA

from .conftest import observed


def test_a_bare_debian_host_gets_packages_and_a_started_engine() -> None:
    changes = engine_changes(EngineSettings(), observed("debian-systemd-fresh"))
    assert changes == (
        "install packages docker.io, containerd, runc",
        "enable and start dockerd and containerd (systemd)",
    )


def test_a_converged_host_has_no_engine_changes() -> None:
    assert engine_changes(EngineSettings(), observed("debian-systemd-running")) == ()


def test_a_daemon_json_change_says_dockerd_restarts() -> None:
    daemon = json.dumps({"log-driver": "local"}, indent=2, sort_keys=True)
    changes = engine_changes(EngineSettings(daemon_json=daemon), observed("debian-systemd-running"))
    assert changes == ("write /etc/docker/daemon.json and restart dockerd",)


def test_an_unchanged_registry_ca_is_not_a_change() -> None:
    state = observed("debian-systemd-running")
    pem = "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"
    settings = EngineSettings(registries=(RegistryCA("registry.lab:5000", pem),))
    assert engine_changes(settings, state) == (
        "install the CA certificate of registry registry.lab:5000",
    )
    state.certs["registry.lab:5000"] = sha256_text(pem)
    assert engine_changes(settings, state) == ()


def test_removals_of_what_fleetform_added_are_shown_in_the_plan() -> None:
    changes = engine_changes(EngineSettings(users=("bob",)), observed("debian-systemd-added"))
    assert changes == (
        "remove the CA certificate of registry old.lab:5000 "
        "(installed by fleetform, no longer declared)",
        "remove carol from the docker group (added by fleetform, no longer declared)",
    )
