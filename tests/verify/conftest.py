"""Shared fixtures: a host state recorded from a real engine, and the stack that describes it.

``data/local_host.txt`` is the output of ``gather_script`` run on a Docker 20.10
host with three containers of a stack ``ffverify`` (web: running, healthy,
published on 127.0.0.1:18089; job: exited 0; stray-1: created, not declared).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from fleetform.engine.state import ENGINE_PACKAGES
from fleetform.model import (
    Healthcheck,
    Mount,
    Network,
    NetworkAttachment,
    Port,
    Service,
    Stack,
    Volume,
    pairs,
)
from fleetform.verify.state import HostState, Needs, parse_state

DATA = Path(__file__).parent / "data"
RECORDED_NEEDS = Needs(
    packages=ENGINE_PACKAGES,
    images=("ffverify/busybox:rec", "missing:1"),
    networks=("ffverify_net", "nonet"),
    volumes=("ffverify_data", "novol"),
    files=("/etc/hostname", "/nonexistent"),
)
#: the config-hash label the recorded containers carry
RECORDED_HASH = "abc123"


@pytest.fixture(scope="session")
def recorded_output() -> str:
    return (DATA / "local_host.txt").read_text()


@pytest.fixture
def state(recorded_output: str) -> HostState:
    return parse_state(recorded_output, RECORDED_NEEDS)


def web_service(**changes: object) -> Service:
    svc = Service(
        name="web",
        image="ffverify/busybox:rec",
        command=("httpd", "-f", "-p", "8080", "-h", "/www"),
        environment=pairs({"GREETING": "hello", "API_TOKEN": "s3cret"}),
        secret_keys=frozenset({"API_TOKEN"}),
        ports=(Port(target=8080, published=18089, host_ip="127.0.0.1"),),
        volumes=(
            Mount("volume", "/data", "data"),
            Mount("bind", "/host-tmp", "/tmp", read_only=True),
            Mount("tmpfs", "/scratch"),
        ),
        networks=(NetworkAttachment("net", aliases=("front",)),),
        healthcheck=Healthcheck(("CMD-SHELL", "wget -q -O- http://127.0.0.1:8080/healthz")),
    )
    return dataclasses.replace(svc, **changes)  # type: ignore[arg-type]


def recorded_stack(*services: Service) -> Stack:
    return Stack(
        name="ffverify",
        source=Path("ffverify.yml"),
        networks=(Network("net", "ffverify_net"),),
        volumes=(Volume("data", "ffverify_data"),),
        services=services
        or (web_service(), Service("job", "ffverify/busybox:rec", state="stopped")),
    )
