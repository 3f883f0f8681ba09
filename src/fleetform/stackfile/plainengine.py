"""Compose keys that a plain Docker engine reads as another key, as `docker compose` does.

Applied to each service before the schema sees it, so the rest of the loader
knows only fleetform's keys:

- ``deploy.mode: replicated`` and a port's ``mode: host`` are dropped: they say
  what a plain engine does anyway (other values stay, to be refused with advice);
- ``scale: N`` is ``deploy.replicas: N``;
- ``deploy.restart_policy`` is the container's ``restart`` policy (``condition``
  ``none``/``on-failure``/``any``, ``max_attempts`` for ``on-failure``);
  ``delay`` and ``window`` need Swarm's scheduler and are ignored with a warning,
  as ``docker compose`` ignores them.
"""

from __future__ import annotations

from typing import Any

from fleetform.stackfile.problems import DocPath, Report

#: ``restart_policy.condition`` -> the engine's restart policy (the Compose
#: specification's three, and the engine's own names, which Compose also takes).
_CONDITIONS = {
    "none": "no",
    "no": "no",
    "on-failure": "on-failure",
    "any": "always",
    "always": "always",
    "unless-stopped": "unless-stopped",
}


def plain_engine_keys(spec: dict[str, Any], path: DocPath, report: Report) -> dict[str, Any]:
    """``spec`` (one service, a fresh dict) with the keys above translated."""
    deploy = spec.get("deploy")
    if isinstance(deploy, dict):
        deploy = dict(deploy)
        if deploy.get("mode") == "replicated":
            del deploy["mode"]
        if "restart_policy" in deploy:
            _restart_policy(spec, deploy.pop("restart_policy"), path, report)
        spec["deploy"] = deploy
    ports = spec.get("ports")
    if isinstance(ports, list):
        spec["ports"] = [
            {k: v for k, v in port.items() if k != "mode"}
            if isinstance(port, dict) and port.get("mode") == "host"
            else port
            for port in ports
        ]
    if "scale" in spec:
        _scale(spec, path, report)
    return spec


def _move_marks(report: Report, old: DocPath, new: DocPath) -> None:
    for marks in (report.value_marks, report.key_marks):
        if old in marks:
            marks[new] = marks[old]


def _scale(spec: dict[str, Any], path: DocPath, report: Report) -> None:
    scale = spec.pop("scale")
    given = spec.get("deploy")
    deploy: dict[str, Any] = given if isinstance(given, dict) else {}
    replicas = deploy.get("replicas")
    if replicas is not None and replicas != scale:
        report.error(
            (*path, "scale"),
            f"`scale: {scale}` and `deploy.replicas: {replicas}` differ; keep `deploy.replicas`",
        )
        return
    spec["deploy"] = {**deploy, "replicas": scale}
    _move_marks(report, (*path, "scale"), (*path, "deploy", "replicas"))


def _restart_policy(spec: dict[str, Any], policy: Any, path: DocPath, report: Report) -> None:
    where: DocPath = (*path, "deploy", "restart_policy")
    if not isinstance(policy, dict):
        report.error(where, "`restart_policy` must be a mapping (`condition`, `max_attempts`)")
        return
    condition = policy.get("condition", "any")
    restart = _CONDITIONS.get(str(condition))
    if restart is None:
        report.error(
            (*where, "condition"),
            f"`{condition}` is not a restart condition (none, on-failure, any)",
        )
        return
    attempts = policy.get("max_attempts")
    if attempts is not None:
        if restart != "on-failure":
            report.error(
                (*where, "max_attempts"),
                f"`max_attempts` counts only with `condition: on-failure` (Docker refuses a "
                f"retry count for `{condition}`)",
            )
            return
        if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 0:
            report.error((*where, "max_attempts"), f"`{attempts}` is not a number of attempts")
            return
        restart = f"on-failure:{attempts}" if attempts else restart
    for key in sorted(k for k in policy if k in ("delay", "window")):
        report.warn(
            (*where, key),
            f"`{key}` needs Swarm's scheduler; ignored, as `docker compose` does "
            "(the engine restarts with its own back-off)",
        )
    unknown = sorted(
        k
        for k in policy
        if k not in ("condition", "max_attempts", "delay", "window") and not k.startswith("x-")
    )
    if unknown:
        report.error((*where, unknown[0]), f"unknown key `{unknown[0]}` in `restart_policy`")
        return
    given = spec.get("restart")
    if given is not None and given != restart:
        report.error(
            where,
            f"`restart: {given}` and `deploy.restart_policy` (`{restart}`) differ; keep one",
        )
        return
    spec["restart"] = restart
    _move_marks(report, where, (*path, "restart"))
