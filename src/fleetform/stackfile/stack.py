"""A whole stack file (schema-valid data) into a :class:`Stack`: engine, networks, volumes."""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, cast

from fleetform.model import (
    Engine,
    EnginePolicy,
    IPAMPool,
    Network,
    RegistryCA,
    SourceKind,
    Stack,
    Volume,
)
from fleetform.stackfile.configs import build_configs, with_project_files
from fleetform.stackfile.daemon import daemon_problems
from fleetform.stackfile.files import InputFileError, read_small_file
from fleetform.stackfile.identity import stack_file_identity
from fleetform.stackfile.keyvalue import labels, string_pairs
from fleetform.stackfile.names import printable
from fleetform.stackfile.problems import DocPath, Report
from fleetform.stackfile.secrets import build_secrets
from fleetform.stackfile.service import DEFAULT_NETWORK, build_service

_DOCKER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_PEM = "-----BEGIN CERTIFICATE-----"
#: A CA bundle is a few kilobytes; a larger file is a mistake.
MAX_CA_FILE_BYTES = 1024 * 1024


def entries(mapping: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """The entries of a map, sorted, without ``x-`` extension keys."""
    return sorted((k, v) for k, v in (mapping or {}).items() if not k.startswith("x-"))


def _registry(
    host: str, spec: dict[str, Any], base: Path, path: DocPath, report: Report
) -> RegistryCA | None:
    if "ca_file" in spec:
        file = base / os.path.expanduser(spec["ca_file"])
        try:
            pem = read_small_file(file, MAX_CA_FILE_BYTES, "CA files").decode("utf-8")
        except (InputFileError, UnicodeDecodeError) as exc:
            shown = f"`{spec['ca_file']}`"
            message = (
                exc.describe(shown)
                if isinstance(exc, InputFileError)
                else f"cannot read {shown}: not UTF-8 text"
            )
            report.error((*path, "ca_file"), message)
            return None
        where: DocPath = (*path, "ca_file")
    else:
        pem, where = spec["ca_cert"], (*path, "ca_cert")
    if _PEM not in pem:
        report.error(where, f"the CA of `{host}` is not a PEM certificate (no `{_PEM}` line)")
        return None
    return RegistryCA(host, pem)


def build_engine(spec: dict[str, Any] | None, base: Path, report: Report) -> Engine | None:
    if spec is None:
        return None
    daemon = spec.get("daemon")
    daemon_json = None
    if daemon is not None:
        # x- keys are for anchors only: dockerd refuses to start on unknown keys.
        config = dict(entries(daemon))
        daemon_json = json.dumps(config, indent=2, sort_keys=True)
        # dockerd reads the file only when it restarts: a value it refuses
        # would leave the host without an engine, so it fails validation here.
        for path, message in daemon_problems(config):
            report.error(("engine", "daemon", *path), message)
    registries = []
    for host, reg in entries(spec.get("registries")):
        ca = _registry(host, reg, base, ("engine", "registries", host), report)
        if ca is not None:
            registries.append(ca)
    return Engine(
        source=cast(SourceKind, spec.get("source", "distro")),
        version=spec.get("version"),
        daemon_json=daemon_json,
        registries=tuple(registries),
        users=tuple(sorted(spec.get("users", []))),
        policy=_policy(spec.get("policy")),
    )


def _policy(spec: dict[str, Any] | None) -> EnginePolicy | None:
    """``engine.policy`` (the schema has checked its values)."""
    if spec is None:
        return None
    return EnginePolicy(
        advisories=spec.get("advisories", "warn"),
        min_severity=spec.get("min_severity", "low"),
        allow=tuple(sorted(spec.get("allow", []))),
    )


def _docker_name(stack: str, key: str, spec: dict[str, Any], path: DocPath, report: Report) -> str:
    name = spec.get("name")
    if name is None:
        return key if spec.get("external") else f"{stack}_{key}"
    if not _DOCKER_NAME.fullmatch(name):
        report.error((*path, "name"), f"`{printable(name)}` is not a valid Docker object name")
    return str(name)


def _check_external(spec: dict[str, Any], path: DocPath, report: Report, what: str) -> None:
    extra = sorted(k for k in spec if k not in ("name", "external") and not k.startswith("x-"))
    if spec.get("external") and extra:
        report.error(
            (*path, extra[0]),
            f"an external {what} is not managed by fleetform; it takes only `name`",
        )


def _ipam_pool(spec: dict[str, Any], path: DocPath, report: Report) -> IPAMPool:
    subnet = None
    for key in ("subnet", "ip_range"):
        if key in spec:
            try:
                net = ipaddress.ip_network(spec[key], strict=True)
                subnet = net if key == "subnet" else subnet
            except ValueError:
                report.error((*path, key), f"`{spec[key]}` is not a network in CIDR notation")
    gateway = spec.get("gateway")
    if gateway is not None:
        try:
            address = ipaddress.ip_address(gateway)
            if subnet is not None and address not in subnet:
                report.error((*path, "gateway"), f"`{gateway}` is outside the subnet {subnet}")
        except ValueError:
            report.error((*path, "gateway"), f"`{gateway}` is not an IP address")
    return IPAMPool(spec.get("subnet"), spec.get("ip_range"), gateway)


def build_network(stack: str, key: str, spec: Any, report: Report) -> Network:
    spec = spec or {}
    path: DocPath = ("networks", key)
    _check_external(spec, path, report, "network")
    ipam = spec.get("ipam") or {}
    return Network(
        name=key,
        docker_name=_docker_name(stack, key, spec, path, report),
        driver=spec.get("driver", "bridge"),
        driver_opts=string_pairs(spec.get("driver_opts"), (*path, "driver_opts"), report, "option"),
        internal=spec.get("internal", False),
        attachable=spec.get("attachable", False),
        labels=labels(spec.get("labels"), (*path, "labels"), report),
        ipam_driver=ipam.get("driver"),
        ipam_config=tuple(
            _ipam_pool(pool, (*path, "ipam", "config", i), report)
            for i, pool in enumerate(ipam.get("config", []))
        ),
        external=spec.get("external", False),
    )


def build_volume(stack: str, key: str, spec: Any, report: Report) -> Volume:
    spec = spec or {}
    path: DocPath = ("volumes", key)
    _check_external(spec, path, report, "volume")
    return Volume(
        name=key,
        docker_name=_docker_name(stack, key, spec, path, report),
        driver=spec.get("driver", "local"),
        driver_opts=string_pairs(spec.get("driver_opts"), (*path, "driver_opts"), report, "option"),
        labels=labels(spec.get("labels"), (*path, "labels"), report),
        external=spec.get("external", False),
        state=cast(Literal["present", "absent"], spec.get("state", "present")),
    )


def build_stack(
    data: dict[str, Any],
    source: Path,
    report: Report,
    variables: Mapping[str, str] | None = None,
) -> Stack:
    """Normalise one schema-valid stack document; problems go to ``report``."""
    name: str = data["name"]
    base = source.resolve().parent
    configs = build_configs(data.get("configs"), base, report)
    services = tuple(
        with_project_files(
            build_service(key, spec, name, base, ("services", key), report, variables),
            spec,
            configs,
            report,
        )
        for key, spec in entries(data.get("services"))
    )
    networks = {k: build_network(name, k, v, report) for k, v in entries(data.get("networks"))}
    uses_default = any(att.name == DEFAULT_NETWORK for svc in services for att in svc.networks)
    if uses_default and DEFAULT_NETWORK not in networks:
        # Compose's implicit network for services that name none.
        networks[DEFAULT_NETWORK] = Network(DEFAULT_NETWORK, f"{name}_{DEFAULT_NETWORK}")
    return Stack(
        name=name,
        source=source,
        version=int(data.get("version", 1)),
        hosts=tuple(data.get("hosts", [])),
        engine=build_engine(data.get("engine"), base, report),
        networks=tuple(networks[k] for k in sorted(networks)),
        volumes=tuple(build_volume(name, k, v, report) for k, v in entries(data.get("volumes"))),
        secrets=build_secrets(data.get("secrets"), base, report),
        services=services,
        identity=stack_file_identity(source),
    )
