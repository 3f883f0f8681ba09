"""Small builders for planner tests: model objects and observed state, by hand."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from fleetform.model import (
    LABEL_CONFIG_HASH,
    LABEL_REPLICA,
    LABEL_SERVICE,
    LABEL_STACK,
    LABEL_STACK_FILE,
    Healthcheck,
    Logging,
    Mount,
    Network,
    NetworkAttachment,
    Port,
    Resources,
    RestartPolicy,
    Service,
    Stack,
    Ulimit,
    Volume,
)
from fleetform.observe import Observed, ObservedContainer, ObservedImage, parse_observed
from fleetform.plan.desired import DesiredContainer, HostDesired, desired_for_host
from fleetform.plan.spec import ImageConfig, with_image_defaults

INSPECT = Path(__file__).parent.parent / "data" / "inspect"
#: spelled out (not imported) so these builders also describe hosts for older code
SECRET_KEYS_LABEL = "fleetform.secret-keys"
S = 1_000_000_000

IMAGE = "registry.lab:5000/fleetform/demo:1"
IMAGE_ID = "sha256:" + "a1" * 32
IMAGE_CONFIG = ImageConfig(
    env=(("PATH", "/usr/local/bin:/usr/bin:/bin"),),
    labels=(("org.opencontainers.image.title", "demo"),),
    cmd=("demo-server",),
    working_dir="/app",
)


def stack(*services: Service, name: str = "demo", **kw: Any) -> Stack:
    return Stack(name=name, source=Path(f"stacks/{name}.yml"), services=services, **kw)


def svc(name: str, **kw: Any) -> Service:
    kw.setdefault("image", IMAGE)
    return Service(name=name, **kw)


def want(
    stacks: list[Stack], host: str = "host-a", groups: frozenset[str] = frozenset()
) -> HostDesired:
    return desired_for_host(stacks, host, groups | {host})


def running(
    c: DesiredContainer,
    *,
    image_id: str = IMAGE_ID,
    config: ImageConfig = IMAGE_CONFIG,
    status: str = "running",
    exit_code: int = 0,
    **spec_changes: Any,
) -> ObservedContainer:
    """The container fleetform would have created for ``c``, optionally drifted."""
    spec = replace(with_image_defaults(c.spec, config), **spec_changes)
    labels = {
        LABEL_STACK: c.stack,
        LABEL_SERVICE: c.service.name,
        LABEL_REPLICA: str(c.replica),
        LABEL_CONFIG_HASH: c.config_hash,
        SECRET_KEYS_LABEL: ",".join(k for k, _ in c.spec.env if k in c.secret_keys),
        **({LABEL_STACK_FILE: c.identity} if c.identity else {}),
        **dict(spec.labels),
    }
    return ObservedContainer(
        name=c.name,
        id=f"{abs(hash(c.name)):064x}"[:64],
        image_id=image_id,
        status=status,
        exit_code=exit_code,
        health=None,
        health_log=None,
        labels=tuple(sorted(labels.items())),
        spec=spec,
    )


def host_state(desired: HostDesired, *containers: ObservedContainer, **kw: Any) -> Observed:
    """Observed state where every declared image is present with IMAGE_ID."""
    images = tuple(ObservedImage(i.ref, IMAGE_ID, IMAGE_CONFIG) for i in desired.images)
    kw.setdefault("images", images)
    return Observed(containers=tuple(sorted(containers, key=lambda c: c.name)), **kw)


def converged(desired: HostDesired, **kw: Any) -> Observed:
    return host_state(
        desired, *(running(c) for c in desired.containers if c.state != "absent"), **kw
    )


def recorded_observed() -> Observed:
    return parse_observed((INSPECT / "observe.json").read_text())


def recorded(name: str) -> dict[str, Any]:
    data: list[dict[str, Any]] = json.loads((INSPECT / name).read_text())
    return data[0]


def recorded_stack() -> Stack:
    """The stack whose containers tests/data/inspect/record.sh created by hand."""
    web = Service(
        name="web",
        image="fleetform-test/busybox:1",
        entrypoint=("/bin/busybox",),
        command=("sleep", "3600"),
        environment=(("LOG_LEVEL", "info"), ("MOTD", "hello world")),
        labels=(("app.tier", "frontend"),),
        ports=(
            Port(80, 18080, "127.0.0.1"),
            Port(53, 18053, protocol="udp"),
            Port(81),
        ),
        volumes=(
            Mount("volume", "/data", "data"),
            Mount("volume", "/cache"),
            Mount("bind", "/etc/host_name", "/etc/hostname", read_only=True),
            Mount("tmpfs", "/tmp", tmpfs_size=1048576),
        ),
        networks=(
            NetworkAttachment("front", ("www",), "10.231.7.10"),
            NetworkAttachment("back", ("api",)),
        ),
        healthcheck=Healthcheck(("CMD-SHELL", "busybox true"), 2 * S, 1 * S, 3, 1 * S),
        restart=RestartPolicy("on-failure", 3),
        resources=Resources(
            cpus=0.5, memory=64 << 20, memory_reservation=32 << 20, cpus_reservation=0.5
        ),
        ulimits=(Ulimit("nofile", 1024, 2048),),
        sysctls=(("net.ipv4.ip_forward", "0"),),
        cap_add=("NET_ADMIN",),
        cap_drop=("MKNOD",),
        read_only=True,
        init=True,
        user="1000:1000",
        working_dir="/data",
        hostname="web1",
        stop_signal="SIGINT",
        stop_grace_period=5 * S,
        logging=Logging("json-file", (("max-size", "1m"),)),
        extra_hosts=("db.lab:10.0.0.5",),
        dns=("10.0.0.53",),
    )
    plain = Service(name="plain", image="fleetform-test/busybox:1")
    return Stack(
        name="fftest",
        source=Path("fftest.yml"),
        networks=(
            Network(
                "back",
                "fftest_back",
                driver_opts=(("com.docker.network.bridge.enable_icc", "true"),),
                internal=True,
            ),
            Network("front", "fftest_front"),
        ),
        volumes=(Volume("data", "fftest_data"),),
        services=(plain, web),
    )


GOLDEN = Path(__file__).parent / "golden"


def assert_golden(text: str, name: str) -> None:
    """``text`` equals ``golden/<name>.txt``; ``FLEETFORM_UPDATE_GOLDEN=1`` rewrites the file
    instead (review the diff)."""
    import os

    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("FLEETFORM_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def assert_plan_golden(desired: HostDesired, observed: Observed, name: str) -> None:
    """The plan text of one host equals ``golden/<name>.txt``."""
    from fleetform.plan import Plan, plan_host

    assert_golden(str(Plan.from_hosts([plan_host(desired, observed)])), name)
