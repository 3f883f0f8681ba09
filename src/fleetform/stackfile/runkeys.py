"""Compose's ``docker run`` service keys: expose, network_mode, tmpfs, devices, the legacy
resource keys...  Each is read into the normal form the model keeps.

Example::

    >>> from fleetform.stackfile.problems import Report
    >>> report = Report("compose.yaml")
    >>> run_keys({"expose": ["3000-3001", 53], "tmpfs": "/run"}, ("services", "web"), report)[
    ...     "expose"
    ... ]
    ('3000/tcp', '3001/tcp', '53/tcp')
"""

from __future__ import annotations

from typing import Any

from fleetform.model import Resources
from fleetform.stackfile.problems import DocPath, Report
from fleetform.stackfile.units import parse_cpus, parse_memory

#: An ``expose`` range longer than this is a typo, not a port list.
MAX_EXPOSE_RANGE = 1024
#: ``network_mode`` values that name another container's network stack.
SHARED_PREFIXES = ("service:", "container:")


def _expose(items: list[Any], path: DocPath, report: Report) -> tuple[str, ...]:
    out: set[str] = set()
    for i, item in enumerate(items):
        text = str(item)
        ports, _, proto = text.partition("/")
        first, _, last = ports.partition("-")
        low, high = int(first), int(last or first)
        if not 1 <= low <= high <= 65535 or high - low >= MAX_EXPOSE_RANGE:
            report.error(
                (*path, i), f"`{text}` is not a port or a range of ports (1-65535, low-high)"
            )
            continue
        out.update(f"{port}/{proto or 'tcp'}" for port in range(low, high + 1))
    return tuple(sorted(out))


def _device(text: str) -> str:
    """``host[:container[:perms]]`` in Docker's full form ``host:container:perms``.

    >>> _device("/dev/sda"), _device("/dev/a:/dev/b"), _device("/dev/a:r")
    ('/dev/sda:/dev/sda:rwm', '/dev/a:/dev/b:rwm', '/dev/a:/dev/a:r')
    """
    parts = text.split(":")
    host = parts[0]
    container = next((p for p in parts[1:] if p.startswith("/")), host)
    perms = next((p for p in parts[1:] if not p.startswith("/")), "rwm")
    return f"{host}:{container}:{perms}"


def _network_mode(value: str | None, path: DocPath, report: Report) -> str | None:
    if value is None or value == "bridge":
        return None  # Docker's default bridge network, as a service without networks
    if value.startswith("container:"):
        # Docker keeps the id of the container it resolved, not its name: a
        # container outside the stack cannot be followed when it is replaced.
        report.error(
            path,
            f"`network_mode: {value}` names a container outside the stack, which fleetform "
            "cannot follow when it is replaced; run it as a service of this stack and use "
            f"`service:<name>`",
        )
    return value


def _namespace(spec: dict[str, Any], key: str, path: DocPath, report: Report) -> str | None:
    value = spec.get(key)
    if value is not None and str(value).startswith(SHARED_PREFIXES):
        report.error(
            (*path, key),
            f"`{key}: {value}` (another container's namespace) is not supported; "
            "fleetform cannot follow that container when it is replaced",
        )
    return None if value is None else str(value)


def legacy_resources(
    spec: dict[str, Any], resources: Resources, path: DocPath, report: Report
) -> Resources:
    """``mem_limit``, ``mem_reservation`` and ``cpus`` into ``deploy.resources``.

    Compose refuses the two spellings with different values; so does fleetform.
    """
    values: dict[str, Any] = {}
    for key, field, parse in (
        ("mem_limit", "memory", parse_memory),
        ("mem_reservation", "memory_reservation", parse_memory),
        ("cpus", "cpus", parse_cpus),
    ):
        if spec.get(key) is None:
            continue
        try:
            value = parse(spec[key])
        except ValueError as exc:
            report.error((*path, key), str(exc))
            continue
        current = getattr(resources, field)
        if current is not None and current != value:
            report.error(
                (*path, key),
                f"`{key}` and `deploy.resources` give different values; keep one of them",
            )
        values[field] = value
    return Resources(**{**resources.__dict__, **values}) if values else resources


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    return tuple(sorted({str(v) for v in items}))


def run_keys(spec: dict[str, Any], path: DocPath, report: Report) -> dict[str, Any]:
    """The :class:`fleetform.model.Service` fields of these keys, by field name."""
    shm_size = spec.get("shm_size")
    shm: int | None = None
    if shm_size is not None:
        try:
            shm = parse_memory(shm_size)
        except ValueError as exc:
            report.error((*path, "shm_size"), str(exc))
    name = spec.get("container_name")
    return {
        "expose": _expose(spec.get("expose") or [], (*path, "expose"), report),
        "platform": spec.get("platform"),
        "runtime": spec.get("runtime"),
        "network_mode": _network_mode(spec.get("network_mode"), (*path, "network_mode"), report),
        "stdin_open": bool(spec.get("stdin_open", False)),
        "tty": bool(spec.get("tty", False)),
        "pid": _namespace(spec, "pid", path, report),
        "ipc": _namespace(spec, "ipc", path, report),
        "shm_size": shm,
        "tmpfs": _strings(spec.get("tmpfs")),
        "devices": tuple(sorted({_device(d) for d in spec.get("devices") or []})),
        "security_opt": _strings(spec.get("security_opt")),
        "group_add": _strings(spec.get("group_add")),
        "fixed_name": None if name is None else str(name),
    }
