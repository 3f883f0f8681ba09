"""Several Compose files, one stack: Compose's merge rules (``docker compose -f a -f b``).

A later file overrides an earlier one key by key:

- mappings merge recursively, a later scalar wins;
- ``command``, ``entrypoint`` and ``healthcheck.test`` are replaced whole;
- key-value options (``environment``, ``labels``, ``sysctls``, ``build.args``,
  ``extra_hosts``, ``ulimits``, ``logging.options``, a service's ``networks``
  and ``depends_on``) merge by key, in list or map form;
- ``volumes`` and ``secrets`` merge by container path, ``ports`` by
  ``[ip:]published:target/proto``; other lists (``expose``, ``dns``, ``cap_add``,
  ``env_file``, ``profiles``...) are joined without repeats.

Example::

    >>> merge_documents(
    ...     {"services": {"web": {"image": "a", "environment": ["A=1", "B=2"]}}},
    ...     {"services": {"web": {"image": "b", "environment": {"B": "3"}}}},
    ... )
    {'services': {'web': {'image': 'b', 'environment': {'A': '1', 'B': '3'}}}}
"""

from __future__ import annotations

from typing import Any

#: Service keys a later file replaces whole.
REPLACED = frozenset({"command", "entrypoint"})
#: Service keys (and nested paths) merged by key; a list form is read as ``K=V`` or ``K``.
BY_KEY = frozenset(
    {"environment", "labels", "sysctls", "extra_hosts", "ulimits", "networks", "depends_on"}
)


def _as_map(value: Any, sep: str = "=") -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    out: dict[str, Any] = {}
    for item in value or []:
        key, found, rest = str(item).partition(sep)
        out[key] = rest if found else None
    return out


def _target(item: Any) -> str:
    """A mount's or secret's container path (short or long form), its merge key."""
    if isinstance(item, dict):
        return str(item.get("target") or item.get("source") or "")
    parts = str(item).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _by(items_a: list[Any], items_b: list[Any], key: Any) -> list[Any]:
    merged = {key(item): item for item in items_a}
    merged.update((key(item), item) for item in items_b)
    return list(merged.values())


def _joined(a: list[Any], b: list[Any]) -> list[Any]:
    out = list(a)
    out += [item for item in b if item not in out]
    return out


def _service(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if key not in out or key in REPLACED or value is None:
            out[key] = value
        elif key in BY_KEY:
            sep = ":" if key == "extra_hosts" and not isinstance(value, dict) else "="
            if key in ("networks", "depends_on"):
                out[key] = {**_as_map(out[key]), **_as_map(value)}
            else:
                out[key] = {**_as_map(out[key], sep), **_as_map(value, sep)}
        elif key in ("volumes", "secrets", "configs") and isinstance(value, list):
            out[key] = _by(out[key] or [], value, _target)
        elif key == "ports" and isinstance(value, list):
            out[key] = _by(
                out[key] or [],
                value,
                lambda p: str(p) if not isinstance(p, dict) else repr(sorted(p.items())),
            )
        elif key == "healthcheck" and isinstance(value, dict):
            out[key] = {**(out[key] or {}), **value}  # `test` is replaced whole
        elif key == "build" and isinstance(value, dict):
            base_build = out[key] if isinstance(out[key], dict) else {"context": out[key]}
            args = {**_as_map(base_build.get("args")), **_as_map(value.get("args"))}
            out[key] = {**base_build, **value, **({"args": args} if args else {})}
        elif key == "logging" and isinstance(value, dict):
            options = {**((out[key] or {}).get("options") or {}), **(value.get("options") or {})}
            out[key] = {**(out[key] or {}), **value, **({"options": options} if options else {})}
        elif isinstance(value, dict) and isinstance(out[key], dict):
            out[key] = _mapping(out[key], value)
        elif isinstance(value, list) and isinstance(out[key], list):
            out[key] = _joined(out[key], value)
        else:
            out[key] = value
    return out


def _mapping(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _mapping(out[key], value)
        else:
            out[key] = value
    return out


def merge_documents(base: Any, over: Any) -> Any:
    """``over`` (a later file) merged onto ``base``, both parsed and interpolated."""
    if not isinstance(base, dict) or not isinstance(over, dict):
        return over
    out = dict(base)
    for key, value in over.items():
        if key == "services" and isinstance(value, dict) and isinstance(out.get(key), dict):
            services = dict(out[key])
            for name, spec in value.items():
                have = services.get(name)
                if isinstance(have, dict) and isinstance(spec, dict):
                    services[name] = _service(have, spec)
                else:
                    services[name] = spec
            out[key] = services
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _mapping(out[key], value)
        else:
            out[key] = value
    return out
