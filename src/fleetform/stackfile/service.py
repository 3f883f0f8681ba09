"""One service: Compose's keys (short forms to long forms) into a :class:`Service`."""

from __future__ import annotations

import ipaddress
import os
import posixpath
import shlex
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from fleetform.model import (
    Build,
    Dependency,
    DependencyCondition,
    Healthcheck,
    Logging,
    NetworkAttachment,
    PullPolicy,
    Resources,
    RestartPolicy,
    RolloutConfig,
    Service,
    ServiceState,
    Ulimit,
)
from fleetform.stackfile.environment import build_environment
from fleetform.stackfile.images import check_image
from fleetform.stackfile.keyvalue import labels, scalar_text, string_pairs
from fleetform.stackfile.mounts import parse_mounts
from fleetform.stackfile.ports import parse_ports
from fleetform.stackfile.problems import DocPath, Report
from fleetform.stackfile.proxy import parse_proxy
from fleetform.stackfile.runkeys import legacy_resources, run_keys
from fleetform.stackfile.secrets import parse_secret_mounts
from fleetform.stackfile.units import parse_cpus, parse_duration, parse_memory

DEFAULT_NETWORK = "default"


class _Reader:
    """Reads one service's keys, reporting problems against their paths."""

    def __init__(self, spec: dict[str, Any], path: DocPath, report: Report) -> None:
        self.spec, self.path, self.report = spec, path, report

    def at(self, *keys: str | int) -> DocPath:
        return (*self.path, *keys)

    def duration(self, value: Any, *keys: str) -> int | None:
        if value is None:
            return None
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.report.error(self.at(*keys), str(exc))
            return None

    def argv(self, key: str) -> tuple[str, ...] | None:
        value = self.spec.get(key)
        if value is None:
            return None
        if isinstance(value, list):
            return tuple(scalar_text(v) for v in value)
        try:
            # A string is split like a shell would (Compose does the same).
            return tuple(shlex.split(value))
        except ValueError as exc:
            self.report.error(self.at(key), f"cannot split `{value}` into words: {exc}")
            return None

    def absolute(self, key: str) -> str | None:
        value = self.spec.get(key)
        if value is not None and not str(value).startswith("/"):
            self.report.error(self.at(key), f"the container path `{value}` must be absolute")
        return None if value is None else posixpath.normpath(str(value))


def _restart(text: str | None) -> RestartPolicy:
    if not text:
        return RestartPolicy()
    name, _, retries = text.partition(":")
    policy = cast(Any, name)
    return RestartPolicy(policy, int(retries) if retries else 0)


def _healthcheck(r: _Reader) -> Healthcheck | None:
    spec = r.spec.get("healthcheck")
    if spec is None:
        return None
    if spec.get("disable"):
        return Healthcheck(("NONE",))
    test = spec.get("test")
    timing = ("interval", "timeout", "retries", "start_period", "start_interval")
    if test is None and not any(spec.get(k) is not None for k in timing):
        return None  # `healthcheck: {disable: false}`: the image's own, as in Compose
    if test is None:
        test = []  # the image's test, with these timings (Docker merges them)
    if isinstance(test, str):
        argv: tuple[str, ...] = ("CMD-SHELL", test)
    elif not test:
        argv = ()
    else:
        argv = tuple(test)
        if argv[0] not in ("CMD", "CMD-SHELL", "NONE"):
            r.report.error(
                r.at("healthcheck", "test", 0),
                f"a test list starts with CMD, CMD-SHELL or NONE, not `{argv[0]}`",
            )
        elif argv[0] != "NONE" and len(argv) < 2:
            r.report.error(r.at("healthcheck", "test"), f"`{argv[0]}` needs a command after it")
    return Healthcheck(
        test=argv,
        interval=r.duration(spec.get("interval"), "healthcheck", "interval"),
        timeout=r.duration(spec.get("timeout"), "healthcheck", "timeout"),
        retries=None if spec.get("retries") is None else int(spec["retries"]),
        start_period=r.duration(spec.get("start_period"), "healthcheck", "start_period"),
        start_interval=r.duration(spec.get("start_interval"), "healthcheck", "start_interval"),
    )


def _networks(r: _Reader) -> tuple[NetworkAttachment, ...]:
    spec = r.spec.get("networks")
    if r.spec.get("network_mode") is not None:
        if spec:
            r.report.error(r.at("network_mode"), "give only one of `network_mode` or `networks`")
        return ()  # the default bridge, the host's, none, or another container's
    if not spec:
        return (NetworkAttachment(DEFAULT_NETWORK),)
    if isinstance(spec, list):
        return tuple(NetworkAttachment(name) for name in sorted(spec))
    out = []
    for name in sorted(spec):
        options = spec[name] or {}
        address = options.get("ipv4_address")
        if address is not None:
            try:
                ipaddress.IPv4Address(address)
            except ValueError:
                r.report.error(
                    r.at("networks", name, "ipv4_address"), f"`{address}` is not an IPv4 address"
                )
        out.append(NetworkAttachment(name, tuple(sorted(options.get("aliases", []))), address))
    return tuple(out)


def _depends_on(r: _Reader) -> tuple[Dependency, ...]:
    spec = r.spec.get("depends_on") or []
    if isinstance(spec, list):
        deps = {name: Dependency(name) for name in spec}
    else:
        deps = {
            name: Dependency(
                name,
                cast(DependencyCondition, (spec[name] or {}).get("condition", "service_started")),
                required=bool((spec[name] or {}).get("required", True)),
                restart=bool((spec[name] or {}).get("restart", False)),
            )
            for name in spec
        }
    mode = str(r.spec.get("network_mode") or "")
    if mode.startswith("service:"):
        # As in Compose: the container joins that service's network stack, so
        # it starts after it and is recreated with it (the old stack is gone).
        peer = mode.removeprefix("service:")
        deps[peer] = replace(deps.get(peer, Dependency(peer)), restart=True)
    return tuple(deps[name] for name in sorted(deps))


def _resources(r: _Reader) -> Resources:
    spec = r.spec.get("deploy", {}).get("resources", {})
    values: dict[str, Any] = {}
    for section, suffix in (("limits", ""), ("reservations", "_reservation")):
        for key, parse in (("cpus", parse_cpus), ("memory", parse_memory)):
            raw = spec.get(section, {}).get(key)
            if raw is None:
                continue
            try:
                values[key + suffix] = parse(raw)
            except ValueError as exc:
                r.report.error(r.at("deploy", "resources", section, key), str(exc))
    return Resources(**values)


def _rollout(r: _Reader, key: str) -> RolloutConfig:
    """``deploy.update_config`` / ``deploy.rollback_config``; the schema checked the types."""
    spec = r.spec.get("deploy", {}).get(key) or {}
    values: dict[str, Any] = {}
    raw = spec.get("parallelism")
    if isinstance(raw, str):
        values["parallelism"], values["parallelism_percent"] = int(raw.rstrip("%")), True
    elif raw is not None:
        values["parallelism"] = int(raw)
    for name in ("delay", "monitor"):
        ns = r.duration(spec.get(name), "deploy", key, name)
        if ns is not None:
            values[name] = ns
    for name in ("order", "failure_action"):
        if name in spec:
            values[name] = spec[name]
    if "order" not in spec and r.spec.get("proxy") is not None:
        # The proxy drains the old container while the new one serves: no gap.
        values["order"] = "start-first"
    if "max_failure_ratio" in spec:
        values["max_failure_ratio"] = float(spec["max_failure_ratio"])
    return RolloutConfig(**values)


def _ulimits(r: _Reader) -> tuple[Ulimit, ...]:
    out = []
    for name, value in sorted((r.spec.get("ulimits") or {}).items()):
        soft, hard = (value, value) if isinstance(value, int) else (value["soft"], value["hard"])
        if soft > hard:
            r.report.error(r.at("ulimits", name), f"soft limit {soft} is above hard limit {hard}")
        out.append(Ulimit(name, int(soft), int(hard)))
    return tuple(out)


def _extra_hosts(
    r: _Reader, where: tuple[str, ...] = ("extra_hosts",), given: Any = None
) -> tuple[str, ...]:
    """``name:ip`` entries of the service's ``extra_hosts`` (or of ``given`` at ``where``)."""
    spec = (given if where != ("extra_hosts",) else r.spec.get("extra_hosts")) or []
    items = [(k, v) for k, v in spec.items()] if isinstance(spec, dict) else []
    for i, entry in enumerate(spec if isinstance(spec, list) else []):
        sep = "=" if "=" in entry else ":"
        name, found, address = entry.partition(sep)
        if not found or not name:
            r.report.error(r.at(*where, i), f"`{entry}` is not `name:ip`")
            continue
        items.append((name, address))
    out = []
    for name, address in items:
        try:
            ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            if address != "host-gateway":
                r.report.error(r.at(*where), f"`{address}` (for {name}) is not an IP address")
        out.append(f"{name}:{address}")
    return tuple(sorted(out))


def _build(r: _Reader, base: Path) -> Build | None:
    spec = r.spec.get("build")
    if spec is None:
        return None
    if isinstance(spec, str):
        spec = {"context": spec}
    if "dockerfile" in spec and "dockerfile_inline" in spec:
        r.report.error(r.at("build"), "give only one of `dockerfile` or `dockerfile_inline`")
    return Build(
        context=Path(posixpath.normpath(str(base / spec["context"]))),
        dockerfile=spec.get("dockerfile", "Dockerfile"),
        args=string_pairs(spec.get("args"), r.at("build", "args"), r.report, "build arg"),
        target=spec.get("target"),
        dockerfile_inline=spec.get("dockerfile_inline"),
        labels=string_pairs(spec.get("labels"), r.at("build", "labels"), r.report, "build label"),
        network=spec.get("network"),
        extra_hosts=_extra_hosts(r, ("build", "extra_hosts"), spec.get("extra_hosts")),
    )


def _image_archive(r: _Reader, base: Path) -> Path | None:
    """The archive's absolute path; it must be a file now, so apply cannot fail on it later."""
    given = r.spec.get("image_archive")
    if given is None:
        return None
    path = Path(posixpath.normpath(str(base / os.path.expanduser(given))))
    if "build" in r.spec:
        r.report.error(r.at("image_archive"), "give only one of `build` or `image_archive`")
    if not path.exists():
        r.report.error(r.at("image_archive"), f"the image archive `{given}` does not exist")
    elif not path.is_file():
        r.report.error(r.at("image_archive"), f"the image archive `{given}` is not a file")
    return path


def _pull(r: _Reader) -> PullPolicy:
    pull = cast(PullPolicy, r.spec.get("pull", "missing"))
    local = [k for k in ("build", "image_archive") if k in r.spec]
    if pull == "always" and local:
        # A built or loaded image exists on the host only: pulling it would
        # fail, or worse, replace it with a registry's image of the same name.
        r.report.error(
            r.at("pull"),
            f"`pull: always` cannot be used with `{local[0]}`: the image is "
            f"{'built' if local[0] == 'build' else 'loaded'} on the host when missing, never "
            "pulled (use `pull: missing`)",
        )
    return pull


def _image(r: _Reader, stack: str, name: str) -> str:
    image = r.spec.get("image")
    if image is None:
        # Built locally, named as Compose names built images (image names are lower case).
        return f"{stack}-{name}:latest".lower()
    try:
        check_image(image)
    except ValueError as exc:
        r.report.error(r.at("image"), str(exc))
    return str(image)


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def build_service(
    name: str,
    spec: dict[str, Any],
    stack: str,
    base: Path,
    path: DocPath,
    report: Report,
    variables: Mapping[str, str] | None = None,
) -> Service:
    """Normalise one (schema-valid) service; problems go to ``report``."""
    r = _Reader(spec, path, report)
    env = build_environment(spec, base, path, report, variables)
    logging = spec.get("logging")
    user = spec.get("user")
    return Service(
        name=name,
        image=_image(r, stack, name),
        build=_build(r, base),
        image_archive=_image_archive(r, base),
        command=r.argv("command"),
        entrypoint=r.argv("entrypoint"),
        environment=env.pairs,
        secret_keys=env.secret_keys,
        ports=parse_ports(spec.get("ports") or [], r.at("ports"), report),
        volumes=parse_mounts(spec.get("volumes") or [], base, r.at("volumes"), report),
        secrets=parse_secret_mounts(spec.get("secrets") or [], r.at("secrets"), report),
        networks=_networks(r),
        restart=_restart(spec.get("restart")),
        healthcheck=_healthcheck(r),
        labels=labels(spec.get("labels"), r.at("labels"), report),
        user=None if user is None else str(user),
        working_dir=r.absolute("working_dir"),
        hostname=spec.get("hostname"),
        cap_add=tuple(sorted(set(spec.get("cap_add", [])))),
        cap_drop=tuple(sorted(set(spec.get("cap_drop", [])))),
        read_only=spec.get("read_only", False),
        privileged=spec.get("privileged", False),
        init=spec.get("init", False),
        stop_signal=spec.get("stop_signal"),
        stop_grace_period=r.duration(spec.get("stop_grace_period"), "stop_grace_period"),
        logging=None
        if logging is None
        else Logging(
            logging["driver"],
            string_pairs(logging.get("options"), r.at("logging", "options"), report, "option"),
        ),
        ulimits=_ulimits(r),
        sysctls=string_pairs(spec.get("sysctls"), r.at("sysctls"), report, "sysctl"),
        extra_hosts=_extra_hosts(r),
        dns=_strings(spec.get("dns")),
        depends_on=_depends_on(r),
        **run_keys(spec, path, report),
        replicas=int(spec.get("deploy", {}).get("replicas", 1)),
        resources=legacy_resources(spec, _resources(r), path, report),
        update_config=_rollout(r, "update_config"),
        rollback_config=_rollout(r, "rollback_config"),
        proxy=parse_proxy(spec.get("proxy"), r.at("proxy"), report),
        hosts=tuple(spec.get("hosts", [])),
        state=cast(ServiceState, spec.get("state", "running")),
        pull=_pull(r),
    )
