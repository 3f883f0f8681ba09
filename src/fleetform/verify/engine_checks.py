"""Checks of a host's Docker engine, generated from its merged engine settings.

Expectations come from the same places apply uses (``engine_for_host`` and
``package_plan``); observations come only from the host (see ``state``).

Example::

    >>> from fleetform.engine.settings import engine_for_host
    >>> from fleetform.stackfile import load_stacks
    >>> stacks = load_stacks(["stacks/demo.yml"])
    >>> checks = engine_checks(engine_for_host(stacks, "lab-1", ["web"]))
    >>> [c.check for c in checks][:3]
    ['packages', 'dockerd running', 'dockerd enabled']
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
from collections.abc import Callable, Mapping
from typing import Any

from fleetform.engine.advisories import assess, load_advisories
from fleetform.engine.packages import package_plan
from fleetform.engine.policy import counted
from fleetform.engine.settings import EngineSettings, EngineSettingsError
from fleetform.engine.state import CERTS_DIR, ENGINE_PACKAGES, parse_os_release
from fleetform.model import EnginePolicy
from fleetform.verify.checks import Check, Outcome, _show
from fleetform.verify.state import HostState, Needs

ENGINE = "engine"


def engine_needs(settings: EngineSettings) -> Needs:
    checked = settings.policy is not None and settings.policy.advisories != "ignore"
    return Needs(
        packages=ENGINE_PACKAGES,
        files=tuple(ca_path(r.registry) for r in settings.registries),
        advisory_ids=tuple(n for a in load_advisories() for n in a.names) if checked else None,
    )


def ca_path(registry: str) -> str:
    return posixpath.join(CERTS_DIR, registry, "ca.crt")


def engine_checks(settings: EngineSettings) -> list[Check]:
    checks = [
        Check(
            ENGINE,
            "packages",
            f"{settings.source} engine packages installed",
            _packages_probe(settings),
        )
    ]
    for unit, daemon in (("docker", "dockerd"), ("containerd", "containerd")):
        checks.append(Check(ENGINE, f"{daemon} running", "active", _service_probe(unit, "active")))
        checks.append(
            Check(ENGINE, f"{daemon} enabled", "enabled", _service_probe(unit, "enabled"))
        )
    checks += [
        Check(
            ENGINE,
            "docker.sock",
            "a socket",
            lambda s: Outcome.of(s.docker_socket, "a socket", "missing or not a socket"),
        ),
        Check(
            ENGINE,
            "runc --version",
            "works",
            lambda s: Outcome.of(s.runc is not None, (s.runc or "").split("\n")[0], "failed"),
        ),
        Check(
            ENGINE,
            "docker info",
            "answers",
            lambda s: Outcome.of(s.info is not None, "answers", s.info_error),
        ),
    ]
    if settings.daemon_json is not None:
        declared = json.loads(settings.daemon_json)
        checks.append(
            Check(ENGINE, "daemon.json", _daemon_json_text(declared), _daemon_file_probe(declared))
        )
        for key, value in sorted(declared.items()):
            probe = _IN_EFFECT.get(key)
            if probe is not None:
                checks.append(
                    Check(ENGINE, f"in effect: {key}", _show_json(value), _info_probe(probe, value))
                )
    for reg in settings.registries:
        path = ca_path(reg.registry)
        checks.append(
            Check(
                ENGINE,
                f"registry CA {reg.registry}",
                f"{path} as declared",
                _file_probe(path, reg.ca_cert),
            )
        )
    policy = settings.policy
    if policy is not None and policy.advisories != "ignore":
        expected = (
            f"no advisory at or above {policy.min_severity} (engine.policy: {policy.advisories})"
        )
        checks.append(Check(ENGINE, "advisories", expected, _advisories_probe(policy)))
    # Engine checks read files and services, and say themselves when docker
    # info is missing: they are meaningful with dockerd down.
    return [dataclasses.replace(c, needs_engine=False) for c in checks]


def _advisories_probe(policy: EnginePolicy) -> Callable[[HostState], Outcome]:
    """The policy's counted findings on the host's layers: with ``fail`` any one fails
    the check; with ``warn`` the check passes and names them."""
    advisories = load_advisories()

    def probe(state: HostState) -> Outcome:
        if state.layers is None or state.layers.status == "unreachable":
            return Outcome(False, "the engine's layers could not be read")
        found = counted(policy, assess(state.layers, advisories))
        ids = ", ".join(f"{a.advisory.id} ({a.advisory.component})" for a in found)
        if not found:
            return Outcome(True, "none")
        return Outcome(policy.advisories != "fail", f"affected by {ids}")

    return probe


def _packages_probe(settings: EngineSettings) -> Callable[[HostState], Outcome]:
    def probe(state: HostState) -> Outcome:
        try:
            plan = package_plan(
                settings.source, settings.version, parse_os_release(list(state.os_release))
            )
        except EngineSettingsError as exc:
            return Outcome(False, str(exc))
        expected = ", ".join(plan.install_specs) + " installed"
        missing = plan.missing(dict(state.packages))
        if missing:
            return Outcome(False, "missing " + ", ".join(missing), expected)
        return Outcome(True, "installed", expected)

    return probe


def _service_probe(unit: str, wanted: str) -> Callable[[HostState], Outcome]:
    def probe(state: HostState) -> Outcome:
        status = state.services.get(unit)
        if status is None:
            return Outcome(False, "unknown")
        actual = status.active if wanted == "active" else status.enabled
        return Outcome(actual == wanted, actual)

    return probe


def _daemon_json_text(declared: Mapping[str, Any]) -> str:
    return "absent (or {})" if not declared else json.dumps(declared, sort_keys=True)


def _daemon_file_probe(declared: Mapping[str, Any]) -> Callable[[HostState], Outcome]:
    def probe(state: HostState) -> Outcome:
        if state.daemon_json is None:
            return Outcome(not declared, "absent")
        try:
            actual = json.loads(state.daemon_json or "{}")
        except ValueError:
            return Outcome(False, "not valid JSON")
        if actual == declared:
            return Outcome(True, _daemon_json_text(declared))
        keys = sorted(k for k in set(actual) | set(declared) if actual.get(k) != declared.get(k))
        shown = ", ".join(f"{k}={_show_json(actual[k]) if k in actual else 'unset'}" for k in keys)
        return Outcome(False, f"differs: {shown}")

    return probe


def _file_probe(path: str, content: str) -> Callable[[HostState], Outcome]:
    def probe(state: HostState) -> Outcome:
        have = state.files.get(path)
        if have is None:
            return Outcome(False, "missing")
        return Outcome.of(have.strip() == content.strip(), "as declared", "different content")

    return probe


def _show_json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


# --- daemon.json settings as `docker info` reports them ---------------------
# Each reads `docker info` and the declared value, returning (ok, actual).
InfoProbe = Callable[[Mapping[str, Any], Any], tuple[bool, Any]]


def _field(name: str) -> InfoProbe:
    return lambda info, want: (info.get(name) == want, info.get(name))


def _mirrors(info: Mapping[str, Any], want: Any) -> tuple[bool, Any]:
    have = info.get("RegistryConfig", {}).get("Mirrors") or []
    # dockerd normalises mirrors to end in "/".
    return {m.rstrip("/") for m in have} == {m.rstrip("/") for m in want}, have


def _insecure(info: Mapping[str, Any], want: Any) -> tuple[bool, Any]:
    reg = info.get("RegistryConfig", {})
    cidrs = set(reg.get("InsecureRegistryCIDRs") or [])
    insecure = {n for n, c in (reg.get("IndexConfigs") or {}).items() if not c.get("Secure")}
    return all(w in cidrs or w in insecure for w in want), sorted(insecure | cidrs)


def _cgroup_driver(info: Mapping[str, Any], want: Any) -> tuple[bool, Any]:
    wanted = [o.split("=", 1)[1] for o in want if o.startswith("native.cgroupdriver=")]
    have = info.get("CgroupDriver")
    return (not wanted or have == wanted[-1]), f"cgroup driver {have}"


def _labels(info: Mapping[str, Any], want: Any) -> tuple[bool, Any]:
    have = info.get("Labels") or []
    return set(want) <= set(have), have


_IN_EFFECT: dict[str, InfoProbe] = {
    "log-driver": _field("LoggingDriver"),
    "live-restore": _field("LiveRestoreEnabled"),
    "data-root": _field("DockerRootDir"),
    "storage-driver": _field("Driver"),
    "debug": _field("Debug"),
    "default-runtime": _field("DefaultRuntime"),
    "experimental": _field("ExperimentalBuild"),
    "registry-mirrors": _mirrors,
    "insecure-registries": _insecure,
    "exec-opts": _cgroup_driver,
    "labels": _labels,
}


def _info_probe(read: InfoProbe, want: Any) -> Callable[[HostState], Outcome]:
    def probe(state: HostState) -> Outcome:
        if state.info is None:
            return Outcome(False, f"docker info failed: {state.info_error}")
        ok, actual = read(state.info, want)
        return Outcome(ok, _show(actual) if isinstance(actual, str | bool) else _show_json(actual))

    return probe
