"""Command builders: exact argv for each action, and the shell glue around them."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "plan"))

from planbuilders import S, recorded_stack, stack, svc, want

from fleetform.executor import argv as A
from fleetform.executor.steps import (
    action_command,
    health_wait_seconds,
    host_commands,
    secret_env_file,
    wait_exit_zero_command,
)
from fleetform.model import (
    PROXY_DRAIN,
    Build,
    Dependency,
    Healthcheck,
    IPAMPool,
    Network,
    Resources,
    RestartPolicy,
    Volume,
)
from fleetform.plan import Action, HostPlan
from fleetform.plan.desired import DesiredImage, DesiredNetwork, DesiredVolume
from fleetform.proxy.host import leave_script


def _web():
    desired = want([recorded_stack()], host="local")
    return next(c for c in desired.containers if c.name == "fftest-web-1")


def test_docker_create_carries_every_option_of_the_spec_and_the_ownership_labels() -> None:
    c = _web()
    assert A.container_create_argv(c) == [
        "docker",
        "create",
        "--name",
        "fftest-web-1",
        "--label",
        "fleetform.stack=fftest",
        "--label",
        "fleetform.stack-file=fftest.yml",
        "--label",
        "fleetform.service=web",
        "--label",
        "fleetform.replica=1",
        "--label",
        f"fleetform.config-hash={c.config_hash}",
        "--label",
        "fleetform.secret-keys=",
        "--label",
        "app.tier=frontend",
        "--env",
        "LOG_LEVEL=info",
        "--env",
        "MOTD=hello world",
        "--entrypoint",
        "/bin/busybox",
        # then the options in the order of the field table (plan.spec.FIELDS)
        "--user",
        "1000:1000",
        "--workdir",
        "/data",
        "--hostname",
        "web1",
        "--publish",
        "127.0.0.1:18080:80/tcp",
        "--publish",
        "18053:53/udp",
        "--publish",
        "81/tcp",
        "--mount",
        "type=volume,target=/cache",
        "--mount",
        "type=volume,source=fftest_data,target=/data",
        "--mount",
        "type=bind,source=/etc/hostname,target=/etc/host_name,readonly",
        "--mount",
        "type=tmpfs,target=/tmp,tmpfs-size=1048576",
        "--network",
        "fftest_back",
        "--network-alias",
        "api",
        "--network-alias",
        "web",
        "--health-cmd",
        "busybox true",
        "--health-interval",
        "2000ms",
        "--health-timeout",
        "1000ms",
        "--health-start-period",
        "1000ms",
        "--health-retries",
        "3",
        "--cap-add",
        "NET_ADMIN",
        "--cap-drop",
        "MKNOD",
        "--read-only",
        "--init",
        "--stop-signal",
        "SIGINT",
        "--stop-timeout",
        "5",
        "--log-driver",
        "json-file",
        "--log-opt",
        "max-size=1m",
        "--ulimit",
        "nofile=1024:2048",
        "--sysctl",
        "net.ipv4.ip_forward=0",
        "--add-host",
        "db.lab:10.0.0.5",
        "--dns",
        "10.0.0.53",
        "--restart",
        "on-failure:3",
        "--cpus",
        "0.5",
        "--memory",
        "67108864",
        "--memory-swap",
        "134217728",
        "--memory-reservation",
        "33554432",
        "--cpu-shares",
        "512",
        "fleetform-test/busybox:1",
        "sleep",
        "3600",
    ]


def test_a_create_connects_the_other_networks_before_starting_and_waits_for_health() -> None:
    c = _web()
    cmd = action_command(Action("local", "create", c.name, "missing", "missing", container=c))
    create = cmd.index("docker create")
    connect = cmd.index(
        "docker network connect --alias web --alias www --ip 10.231.7.10 fftest_front fftest-web-1"
    )
    start = cmd.index("docker start fftest-web-1")
    wait = cmd.index("docker inspect --format '{{.State.Status}}")
    assert create < connect < start < wait


def test_secret_values_never_reach_an_argv() -> None:
    s = stack(
        svc(
            "api",
            environment=(("DB_PASSWORD", "s3 cret'"), ("MODE", "x")),
            secret_keys=frozenset({"DB_PASSWORD"}),
        )
    )
    (c,) = want([s]).containers
    argv = A.container_create_argv(c, "/run/env")
    assert "--env-file" in argv and "MODE=x" in argv
    assert not any("s3 cret" in a for a in argv)
    uploaded = action_command(
        Action("h", "create", c.name, "m", "missing", container=c), env_dir="/run/ff"
    )
    assert "s3 cret" not in uploaded
    assert "--env-file /run/ff/demo-api-1.env" in uploaded
    assert uploaded.startswith("trap 'rm -f -- /run/ff/demo-api-1.env' EXIT; ")
    action = Action("h", "create", c.name, "m", "missing", container=c)
    assert secret_env_file(action, "/run/ff") == (
        "/run/ff/demo-api-1.env",
        "DB_PASSWORD=s3 cret'\n",
    )


def test_network_volume_and_image_commands() -> None:
    net = Network(
        "back",
        "demo_back",
        driver_opts=(("mtu", "1400"),),
        internal=True,
        ipam_config=(IPAMPool("10.9.0.0/24", gateway="10.9.0.1"),),
    )
    assert A.network_create_argv(DesiredNetwork("demo", net)) == [
        "docker",
        "network",
        "create",
        "--driver",
        "bridge",
        "--opt",
        "mtu=1400",
        "--internal",
        "--subnet",
        "10.9.0.0/24",
        "--gateway",
        "10.9.0.1",
        "--label",
        "fleetform.stack=demo",
        "--label",
        "fleetform.network=back",
        "demo_back",
    ]
    vol = Volume("data", "demo_data", labels=(("tier", "db"),))
    assert A.volume_create_argv(DesiredVolume("demo", vol)) == [
        "docker",
        "volume",
        "create",
        "--driver",
        "local",
        "--label",
        "fleetform.stack=demo",
        "--label",
        "fleetform.volume=data",
        "--label",
        "tier=db",
        "demo_data",
    ]
    image = DesiredImage(
        "app:1", build=Build(Path("/src"), "Dockerfile.prod", (("V", "1"),), "run")
    )
    assert A.build_argv(image, "/var/lib/fleetform/build/app_1") == [
        "docker",
        "build",
        "--tag",
        "app:1",
        "--file",
        "/var/lib/fleetform/build/app_1/Dockerfile.prod",
        "--build-arg",
        "V=1",
        "--target",
        "run",
        "/var/lib/fleetform/build/app_1",
    ]
    assert A.pull_argv(DesiredImage("reg:5000/a b")) == ["docker", "pull", "reg:5000/a b"]
    load = Action(
        "h",
        "load",
        "air:3",
        "m",
        "missing",
        image=DesiredImage("air:3", archive=Path("/x/air.tar")),
    )
    assert action_command(load) == "docker load --input /var/lib/fleetform/images/air.tar"


def test_removal_checks_the_ownership_label_on_the_host_and_addresses_the_id() -> None:
    cmd = action_command(
        Action(
            "h",
            "remove",
            "demo-old-1",
            "orphan",
            "orphan",
            container_id="abc123",
            owner_stack="demo",
            stop_timeout=7,
        )
    )
    assert cmd == (
        "if l=$(docker container inspect --format '{{index .Config.Labels \"fleetform.stack\"}}' "
        'abc123 2>&1); then if [ "$l" != demo ]; then echo \'fleetform: refusing to touch '
        "abc123: not labelled fleetform.stack=demo' >&2; exit 1; fi; "
        # a replica in a proxy's slot leaves it first (nothing without a proxy)
        f"( {leave_script('abc123', PROXY_DRAIN)}\n) || true; "
        "docker stop --time 7 abc123 >/dev/null && docker rm abc123 >/dev/null; "
        'else case "$l" in *"No such container"*|*"No such object"*) : ;; '
        "*) echo 'fleetform: cannot check who owns abc123, nothing done:' \"$l\" >&2; exit 1 ;; "
        "esac; fi"
    )


def test_update_changes_restart_and_resources_in_place() -> None:
    s = stack(
        svc("db", restart=RestartPolicy("always"), resources=Resources(cpus=1.5, memory=128 << 20))
    )
    (c,) = want([s]).containers
    assert A.update_argv(c.spec, "abc") == [
        "docker",
        "update",
        "--restart",
        "always",
        "--cpus",
        "1.5",
        "--memory",
        "134217728",
        "--memory-swap",
        "268435456",
        "abc",
    ]


def test_health_wait_timeout_follows_the_healthcheck_within_bounds() -> None:
    def timeout(**kw: int) -> int:
        s = stack(svc("web", healthcheck=Healthcheck(("CMD-SHELL", "true"), **kw)))
        return health_wait_seconds(want([s]).containers[0])

    assert timeout(interval=1 * S, timeout=1 * S, retries=3) == 30
    assert timeout(interval=10 * S, timeout=5 * S, retries=5, start_period=20 * S) == 95
    assert timeout() == 180  # Docker's defaults: (30 + 30) * 3


def test_a_dependant_waits_for_a_one_shot_job_to_exit_zero_before_starting() -> None:
    s = stack(
        svc("migrate"),
        svc("web", depends_on=(Dependency("migrate", "service_completed_successfully"),)),
    )
    desired = want([s])
    web = desired.container("demo-web-1")
    assert web is not None and web.after_exit == ("demo-migrate-1",)
    cmd = action_command(Action("h", "create", web.name, "m", "missing", container=web))
    assert cmd.index(wait_exit_zero_command("demo-migrate-1")) < cmd.index(
        "docker start demo-web-1"
    )


def test_a_host_plan_with_errors_yields_no_command() -> None:
    (c,) = want([stack(svc("web"))]).containers
    hp = HostPlan(
        "h", (Action("h", "create", c.name, "m", "missing", container=c),), errors=("clash",)
    )
    assert host_commands(hp) == []
    assert len(host_commands(replace(hp, errors=()))) == 1


def test_values_reach_docker_as_single_words_through_the_shell(tmp_path: Path) -> None:
    # The command text is run by a real shell with a stand-in `docker` that writes
    # each argument on its own line: shell syntax in a value must arrive as text.
    pwned = tmp_path / "pwned"
    image = f"x;touch {pwned}"
    env_value = f"$(touch {pwned}) `touch {pwned}` '\"$HOME"
    (c,) = want([stack(svc("web", image=image, environment=(("V", env_value),)))]).containers
    action = Action("h", "create", c.name, "missing", "missing", container=c)
    fake = tmp_path / "docker"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done >> "$LOG"\n')
    fake.chmod(0o755)
    log = tmp_path / "argv"
    (command,) = host_commands(HostPlan("h", (action,)))
    subprocess.run(
        ["/bin/sh", "-c", command],
        env={"PATH": f"{tmp_path}:/usr/bin:/bin", "LOG": str(log), "HOME": "/home/x"},
        check=True,
        timeout=30,
    )
    args = log.read_text().splitlines()
    assert not pwned.exists()
    assert image in args
    assert f"V={env_value}" in args
