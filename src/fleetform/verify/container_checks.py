"""Checks of one declared container, read from one ``docker inspect`` of the host.

Each check names the container (``demo-web-1``) as its resource, so a failure
reads ``lab-2  demo-web-1  state  expected running, got exited``.  Secret
environment values are compared but never shown: both sides print ``(secret)``.

Example::

    >>> from fleetform.plan.desired import desired_for_host
    >>> from fleetform.stackfile import load_stacks
    >>> stacks = load_stacks(["stacks/demo.yml"])
    >>> want = desired_for_host(stacks, "lab-1", frozenset({"web"}))
    >>> checks = container_checks(want.containers[0])
    >>> [c.check for c in checks][:3]
    ['exists', 'state', 'image']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fleetform.model import (
    LABEL_CONFIG_HASH,
    LABEL_REPLICA,
    LABEL_SERVICE,
    LABEL_STACK,
    Port,
    ProjectFile,
)
from fleetform.plan.desired import DesiredContainer
from fleetform.plan.projectfiles import DATA, data_mounts, data_path, expected, host_path
from fleetform.plan.spec import MountSpec, NetSpec
from fleetform.verify.checks import SECRET, Check, Outcome
from fleetform.verify.state import HostState

Inspect = Mapping[str, Any]
ContainerProbe = Callable[[Inspect, HostState], Outcome]


def normalise_image(ref: str) -> str:
    """``nginx`` and ``docker.io/library/nginx:latest`` name the same image."""
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
            break
    name = ref.split("@", 1)[0]
    if "@" not in ref and ":" not in name.rsplit("/", 1)[-1]:
        ref += ":latest"
    return ref


def container_checks(dc: DesiredContainer) -> list[Check]:
    """The checks of one desired container, named by its container name."""
    name, svc = dc.name, dc.service
    if dc.state == "absent":
        return [
            Check(
                name,
                "absent",
                "no container",
                lambda s: Outcome.of(s.container(name) is None, "no container", "exists"),
            )
        ]

    def check(label: str, expected: str, probe: ContainerProbe) -> Check:
        def run(state: HostState) -> Outcome:
            inspect = state.container(name)
            if inspect is None:
                return Outcome(False, "no container")
            return probe(inspect, state)

        return Check(name, label, expected, run)

    # A one-shot job others wait for has converged once it exited with code 0.
    wanted_state = "exited (0)" if dc.run_once else dc.state
    running = dc.state == "running" and not dc.run_once
    checks = [
        Check(
            name,
            "exists",
            "a container",
            lambda s: Outcome.of(s.container(name) is not None, "a container", "no container"),
        ),
        check("state", wanted_state, _state_probe(wanted_state)),
        check("image", normalise_image(dc.spec.image), _image_probe(dc.spec.image)),
        check(
            "labels",
            f"{LABEL_STACK}={dc.stack} {LABEL_SERVICE}={svc.name} {LABEL_REPLICA}={dc.replica}",
            _labels_probe(dc.stack, svc.name, dc.replica),
        ),
        check("config hash", dc.config_hash, _label_probe(LABEL_CONFIG_HASH, dc.config_hash)),
    ]
    if running and svc.healthcheck is not None and not svc.healthcheck.disabled:
        checks.append(check("health", "healthy", _health_probe))
    for key, value in dc.spec.env:
        secret = key in dc.secret_keys
        checks.append(
            check(f"env {key}", SECRET if secret else value, _env_probe(key, value, secret))
        )
    for port in svc.ports:
        checks.append(check(f"port {port.key()}", "published", _port_probe(port)))
        if running and port.protocol == "tcp":
            shown = port.published_text or "(any)"
            checks.append(
                check(f"listening {shown}/tcp", "listening on the host", _listening_probe(port))
            )
    for net in dc.spec.networks:
        checks.append(check(f"network {net.name}", _network_text(net), _network_probe(net)))
    for mount in dc.spec.mounts:
        checks.append(
            check(
                f"mount {mount.target}",
                _mount_text(mount.type, mount.source, mount.read_only),
                _mount_probe(mount),
            )
        )
    checks += [check(f"file {f.target}", *_file_probe(dc.stack, f)) for f in dc.files]
    for m in data_mounts(svc):
        path = data_path(dc.stack, m.data or "")
        checks.append(check(f"data folder {path}", "a folder on the host", _data_probe(path)))
    return checks


def _state_probe(wanted: str) -> ContainerProbe:
    def probe(c: Inspect, _: HostState) -> Outcome:
        state = c.get("State", {})
        status = str(state.get("Status", "unknown"))
        if wanted == "running":
            return Outcome(status == "running", status)
        if wanted == "stopped":
            return Outcome(status in ("exited", "created"), status)
        code = state.get("ExitCode")
        shown = f"{status} ({code})" if status == "exited" else status
        return Outcome(shown == wanted, shown)

    return probe


def _image_probe(ref: str) -> ContainerProbe:
    want = normalise_image(ref)

    def probe(c: Inspect, state: HostState) -> Outcome:
        have = normalise_image(str(c.get("Config", {}).get("Image", "")))
        if have != want:
            return Outcome(False, have)
        image_id = state.images.get(ref)
        if image_id is None:
            return Outcome(False, f"{have}, but {ref} is not on the host")
        if c.get("Image") != image_id:
            # The tag moved (a newer build or pull) and the container still
            # runs the old image.
            return Outcome(False, f"{have} at {str(c.get('Image'))[:19]}, not {image_id[:19]}")
        return Outcome(True, have)

    return probe


def _container_labels(c: Inspect) -> Mapping[str, str]:
    return c.get("Config", {}).get("Labels") or {}


def _labels_probe(stack: str, service: str, replica: int) -> ContainerProbe:
    want = {LABEL_STACK: stack, LABEL_SERVICE: service, LABEL_REPLICA: str(replica)}

    def probe(c: Inspect, _: HostState) -> Outcome:
        labels = _container_labels(c)
        have = {k: labels.get(k) for k in want}
        shown = " ".join(f"{k}={v if v is not None else '(unset)'}" for k, v in have.items())
        return Outcome(have == want, shown)

    return probe


def _label_probe(key: str, value: str) -> ContainerProbe:
    def probe(c: Inspect, _: HostState) -> Outcome:
        have = _container_labels(c).get(key)
        return Outcome(have == value, have if have is not None else "unset")

    return probe


def _health_probe(c: Inspect, _: HostState) -> Outcome:
    state = c.get("State", {})
    if state.get("Status") != "running":
        return Outcome(False, f"not running ({state.get('Status')})")
    health = state.get("Health")
    if not health:
        return Outcome(False, "no healthcheck configured")
    return Outcome(health.get("Status") == "healthy", str(health.get("Status")))


def _env_probe(key: str, value: str, secret: bool) -> ContainerProbe:
    def probe(c: Inspect, _: HostState) -> Outcome:
        env = dict(
            item.split("=", 1) if "=" in item else (item, "")
            for item in c.get("Config", {}).get("Env") or []
        )
        if key not in env:
            return Outcome(False, "unset")
        if secret:
            return Outcome.of(env[key] == value, SECRET, f"{SECRET}, a different value")
        return Outcome(env[key] == value, env[key])

    return probe


def _bindings(c: Inspect, port: Port, live: bool) -> list[Mapping[str, str]]:
    key = f"{port.target}/{port.protocol}"
    source = (
        c.get("NetworkSettings", {}).get("Ports")
        if live
        else c.get("HostConfig", {}).get("PortBindings")
    )
    return list((source or {}).get(key) or [])


def _binding_matches(b: Mapping[str, str], port: Port, live: bool = False) -> bool:
    if port.published is not None:
        # HostConfig keeps a range as given; a live binding is the port Docker chose.
        host_port = b.get("HostPort") or ""
        if live and port.published_last is not None:
            if not host_port.isdigit() or int(host_port) not in port.published_ports():
                return False
        elif host_port != port.published_text:
            return False
    return not port.host_ip or b.get("HostIp") in (port.host_ip, "")


def _show_bindings(bindings: list[Mapping[str, str]]) -> str:
    if not bindings:
        return "not published"
    return ", ".join(f"{b.get('HostIp') or '*'}:{b.get('HostPort')}" for b in bindings)


def _port_probe(port: Port) -> ContainerProbe:
    def probe(c: Inspect, _: HostState) -> Outcome:
        bindings = _bindings(c, port, live=False)
        ok = any(_binding_matches(b, port) for b in bindings)
        return Outcome(ok, "published" if ok else _show_bindings(bindings))

    return probe


def _listening_probe(port: Port) -> ContainerProbe:
    def probe(c: Inspect, state: HostState) -> Outcome:
        live = [b for b in _bindings(c, port, live=True) if _binding_matches(b, port, True)]
        numbers = sorted({int(b["HostPort"]) for b in live if b.get("HostPort")})
        if port.published is not None and port.published_last is None:
            numbers = [port.published]
        if not numbers:
            return Outcome(False, "no host port bound")
        listening = [n for n in numbers if state.listens_on(n, port.host_ip)]
        if listening:
            return Outcome(True, f"listening on {listening[0]}/tcp")
        return Outcome(False, f"nothing listens on {numbers[0]}/tcp")

    return probe


def _network_text(net: NetSpec) -> str:
    text = "attached"
    if net.aliases:
        text += f" with aliases {', '.join(net.aliases)}"
    if net.ipv4_address:
        text += f" at {net.ipv4_address}"
    return text


def _network_probe(net: NetSpec) -> ContainerProbe:
    def probe(c: Inspect, _: HostState) -> Outcome:
        endpoint = (c.get("NetworkSettings", {}).get("Networks") or {}).get(net.name)
        if endpoint is None:
            return Outcome(False, "not attached")
        have = set(endpoint.get("Aliases") or [])
        missing = [a for a in net.aliases if a not in have]
        if missing:
            return Outcome(False, f"attached without aliases {', '.join(missing)}")
        if net.ipv4_address:
            ip = (endpoint.get("IPAMConfig") or {}).get("IPv4Address")
            if ip != net.ipv4_address:
                return Outcome(False, f"attached at {ip or 'a dynamic address'}")
        return Outcome(True, _network_text(net))

    return probe


def _file_probe(stack: str, f: ProjectFile) -> tuple[str, ContainerProbe]:
    """An uploaded project file, folder or config: mounted from its place on the
    host, which holds the content the stack has now."""
    path = host_path(stack, f)
    mount = _mount_probe(MountSpec("bind", f.target, path, f.read_only))
    digest = expected(f)  # a writable file: only that it exists
    want = f"{f.origin} ({digest[:19]}) at {path}"

    def probe(c: Inspect, state: HostState) -> Outcome:
        mounted = mount(c, state)
        if not mounted.ok:
            return Outcome(False, f"mounted: {mounted.actual}")
        have = state.project_paths.get(path)
        if have is None:
            return Outcome(False, f"{path} missing on the host")
        return Outcome(have == digest, f"{f.origin} ({have[:19]}) at {path}")

    return want, probe


def _data_probe(path: str) -> ContainerProbe:
    def probe(_: Inspect, state: HostState) -> Outcome:
        present = state.project_paths.get(path) == DATA
        return Outcome(present, "a folder on the host" if present else "missing on the host")

    return probe


def _mount_text(kind: str, source: str, read_only: bool) -> str:
    where = f" {source}" if source else ""
    return f"{kind}{where}{' (ro)' if read_only else ''}"


def _mount_probe(mount: MountSpec) -> ContainerProbe:
    want = _mount_text(mount.type, mount.source, mount.read_only)

    def probe(c: Inspect, _: HostState) -> Outcome:
        for m in c.get("Mounts") or []:
            if m.get("Destination") != mount.target:
                continue
            kind = str(m.get("Type", "?"))
            source = str(m.get("Name") if kind == "volume" else m.get("Source") or "")
            if kind == "tmpfs" or (kind == "volume" and not mount.source):
                source = ""  # tmpfs has no source; an anonymous volume any name
            text = _mount_text(kind, source, not m.get("RW", True))
            return Outcome(text == want, text)
        # --tmpfs mounts are listed in HostConfig.Tmpfs, not in Mounts.
        tmpfs = c.get("HostConfig", {}).get("Tmpfs") or {}
        if mount.type == "tmpfs" and mount.target in tmpfs:
            ro = "ro" in str(tmpfs[mount.target]).split(",")
            text = _mount_text("tmpfs", "", ro)
            return Outcome(text == want, text)
        return Outcome(False, "not mounted")

    return probe
