"""Compose's `docker run` service keys: read into the model, and refused where Docker or a
fleet could not honour them, naming the key."""

from __future__ import annotations

from pathlib import Path

from fleetform.model import Dependency, Healthcheck, Resources
from fleetform.stackfile import load_stacks

from .helpers import load_text, messages, write

MiB = 1 << 20

EVERY_KEY = """
name: keys
services:
  vpn:
    image: x
    cap_add: [NET_ADMIN]
    devices: [/dev/net/tun, "/dev/a:/dev/b", "/dev/c:r"]
    ports: ["8080:8080"]
  app:
    image: x
    network_mode: service:vpn
  db:
    image: x
    container_name: postgres
    expose: ["5432", "9000-9001/udp", 7000]
    platform: linux/arm64/v8
    runtime: runc
    stdin_open: true
    tty: true
    pid: host
    ipc: shareable
    shm_size: 256m
    tmpfs: /run
    security_opt: [no-new-privileges:true]
    group_add: [video, 1000]
    mem_limit: 512m
    mem_reservation: 128m
    cpus: 1.5
    healthcheck: {test: pg_isready, start_interval: 2s}
    depends_on:
      vpn: {condition: service_started, required: false, restart: true}
  web:
    image: x
    network_mode: host
  plain:
    image: x
    network_mode: bridge
"""


def test_every_run_key_reaches_the_model(tmp_path: Path) -> None:
    stack = load_text(tmp_path, EVERY_KEY)
    db = stack.service("db")
    assert db.container_name("keys", 1) == "postgres"
    assert db.expose == ("5432/tcp", "7000/tcp", "9000/udp", "9001/udp")
    assert (db.platform, db.runtime, db.pid, db.ipc) == (
        "linux/arm64/v8",
        "runc",
        "host",
        "shareable",
    )
    assert db.stdin_open and db.tty
    assert db.shm_size == 256 * MiB
    assert db.tmpfs == ("/run",)
    assert db.security_opt == ("no-new-privileges:true",)
    assert db.group_add == ("1000", "video")
    assert db.resources == Resources(cpus=1.5, memory=512 * MiB, memory_reservation=128 * MiB)
    assert db.healthcheck == Healthcheck(("CMD-SHELL", "pg_isready"), start_interval=2_000_000_000)
    assert db.depends_on == (Dependency("vpn", required=False, restart=True),)
    assert stack.service("vpn").devices == (
        "/dev/a:/dev/b:rwm",
        "/dev/c:/dev/c:r",
        "/dev/net/tun:/dev/net/tun:rwm",
    )
    app = stack.service("app")
    assert (app.network_mode, app.networks) == ("service:vpn", ())
    # network_mode: service:x starts after x and is recreated with it, as in Compose.
    assert app.depends_on == (Dependency("vpn", restart=True),)
    assert (stack.service("web").network_mode, stack.service("web").networks) == ("host", ())
    plain = stack.service("plain")
    assert (plain.network_mode, plain.networks) == (None, ())


def test_the_legacy_resource_keys_agree_with_deploy(tmp_path: Path) -> None:
    same = load_text(
        tmp_path,
        "name: s\nservices:\n  a:\n    image: x\n    mem_limit: 1g\n"
        "    deploy: {resources: {limits: {memory: 1024m}}}\n",
    )
    assert same.service("a").resources.memory == 1 << 30
    other = write(
        tmp_path,
        "name: s\nservices:\n  a:\n    image: x\n    cpus: 2\n"
        "    deploy: {resources: {limits: {cpus: '1'}}}\n",
        "other.yml",
    )
    assert messages(other) == [
        "services.a.cpus: `cpus` and `deploy.resources` give different values; keep one of them"
    ]


def test_what_docker_or_a_fleet_cannot_honour_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
name: bad
services:
  one:
    image: x
    container_name: one
    deploy: {replicas: 2}
  vpn:
    image: x
    hosts: [edge]
  app:
    image: x
    network_mode: service:vpn
    ports: ["80:80"]
    hostname: app
  lost:
    image: x
    network_mode: service:nope
  outside:
    image: x
    network_mode: container:some-db
  both:
    image: x
    network_mode: host
    networks: [back]
  ns:
    image: x
    pid: container:one
networks: {back: {}}
""",
    )
    assert messages(path) == [
        "services.one.container_name: `container_name` names one container, but the service "
        "has 2 replicas; leave it out (containers are `<stack>-<service>-<n>`) or use 1 replica",
        "services.app.network_mode: `vpn` must run on every host of this service (its `hosts`: "
        "edge): the container joins its replica 1 on the same host",
        "services.app.ports: `ports` cannot be used with `network_mode: service:vpn`: "
        "the container has no network of its own",
        "services.app.hostname: `hostname` cannot be used with `network_mode: service:vpn`: "
        "the container has no network of its own",
        "services.lost.network_mode: `nope` is not a service (services: app, both, lost, ns, "
        "one, outside, vpn)",
        "services.outside.network_mode: `network_mode: container:some-db` names a container "
        "outside the stack, which fleetform cannot follow when it is replaced; run it as a "
        "service of this stack and use `service:<name>`",
        "services.both.network_mode: give only one of `network_mode` or `networks`",
        "services.ns.pid: `pid: container:one` (another container's namespace) is not "
        "supported; fleetform cannot follow that container when it is replaced",
    ]


def test_two_stacks_cannot_name_one_container(tmp_path: Path) -> None:
    a = write(tmp_path, "name: a\nservices: {db: {image: x, container_name: db}}\n", "a.yml")
    b = write(tmp_path, "name: b\nservices: {pg: {image: x, container_name: db}}\n", "b.yml")
    assert messages(a, b) == [
        "services.pg: container name `db` is also made by service `db` of stack `a` in "
        f"{a}; Docker names are unique on a host: rename one of them"
    ]


def test_a_required_dependency_on_other_hosts_is_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: w\nservices:\n  db: {image: x, hosts: [db]}\n"
        "  web: {image: x, hosts: [web], depends_on: {db: {condition: service_started}}}\n"
        "  api: {image: x, hosts: [web], depends_on: {db: {required: false}}}\n",
    )
    notices: list = []
    load_stacks([path], notices=notices)
    assert [f"{n.path}: {n.message}" for n in notices] == [
        "services.web.depends_on.db: `db` runs on other hosts, so no host waits for it "
        "(say `required: false` to mean it)"
    ]


def test_compose_forms_fleetform_used_to_refuse(tmp_path: Path) -> None:
    stack = load_text(
        tmp_path,
        "name: forms\nvolumes: {data: {}}\nservices:\n"
        "  Web:\n    image: x\n    ports: ['8000-8002:80']\n    deploy: {replicas: 3}\n"
        "    volumes: ['data:/d:nocopy', '/srv/c:/c:cached', '/srv/e:/e:ro,delegated']\n"
        "  idle: {build: ., deploy: {replicas: 0}}\n",
    )
    web = stack.service("Web")
    assert web.container_name("forms", 3) == "forms-Web-3"
    assert [p.key() for p in web.ports] == ["8000-8002:80/tcp"]
    assert [(m.target, m.nocopy, m.read_only) for m in web.volumes] == [
        ("/c", False, False),
        ("/d", True, False),
        ("/e", False, True),
    ]
    idle = stack.service("idle")
    assert (idle.replicas, idle.image) == (0, "forms-idle:latest")


def test_a_port_range_needs_a_port_for_each_replica(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: r\nservices:\n  web: {image: x, ports: ['8000-8001:80'], deploy: {replicas: 3}}\n"
        "  vpn: {image: x, deploy: {replicas: 0}}\n"
        "  app: {image: x, network_mode: 'service:vpn'}\n",
    )
    assert messages(path) == [
        "services.web.ports[0]: 3 replicas on one host cannot all publish host port "
        "8000-8001/tcp; leave the host port out, give a range with a port for each replica, "
        "or use 1 replica",
        "services.app.network_mode: `vpn` is at 0 replicas: there is no network stack to join",
    ]


def test_compose_keys_below_a_service_are_named_never_ignored(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "services:\n  web:\n    image: x\n    deploy:\n      mode: global\n"
        "      placement: {constraints: [node.role==manager]}\n"
        "      resources: {reservations: {devices: [{capabilities: [gpu]}]}}\n"
        "    build: {context: ., no_cache: true}\n"
        "    ports: [{target: 80, published: 80, mode: ingress}]\n"
        "    networks: {default: {ipv6_address: '::1'}}\n",
    )
    swarm = "is a Swarm key, which a plain Docker engine cannot honour"
    later = "is a Compose key fleetform does not support yet"
    assert messages(path) == [
        f"services.web.deploy.mode: `mode` {swarm}; for `global`, list the hosts in `hosts` "
        "(one replica on each)",
        f"services.web.deploy.placement: `placement` {swarm}; place services with `hosts` "
        "(inventory groups or hosts)",
        f"services.web.deploy.resources.reservations.devices: `devices` {later}; for GPUs and "
        "other host devices, use the service's `devices`",
        f"services.web.build.no_cache: `no_cache` {later}",
        f"services.web.ports[0].mode: `mode` {swarm}; every port is published on its own host "
        "(`host` mode)",
        f"services.web.networks.default.ipv6_address: `ipv6_address` {later}",
    ]


def test_a_healthcheck_without_test_keeps_the_image_test(tmp_path: Path) -> None:
    stack = load_text(
        tmp_path,
        "name: h\nservices:\n  a: {image: x, healthcheck: {disable: false}}\n"
        "  b: {image: x, healthcheck: {interval: 5s}}\n"
        "  c: {image: x, healthcheck: {disable: true}}\n",
    )
    # Compose's `disable: false` alone changes nothing: the image's own healthcheck.
    assert stack.service("a").healthcheck is None
    # Timings without a test apply to the image's test, as Docker merges them.
    assert stack.service("b").healthcheck == Healthcheck((), interval=5_000_000_000)
    assert stack.service("c").healthcheck == Healthcheck(("NONE",))
