"""Names may not hold control characters.

The schema's patterns end in ``$``, which in Python's ``re`` (what JSON Schema
validation runs) also matches just before a final newline: ``"web\\n"`` passes
``^[a-z0-9][a-z0-9_-]*$``.  A name with a newline or an escape sequence would
reach Docker object names, labels and the plan's text, so it is refused here,
once, for every kind of name::

    >>> from fleetform.stackfile.problems import Report
    >>> report = Report("web.yml")
    >>> check_names({"name": "web\\n", "services": {}}, report)
    >>> print(report.problems[0].message)
    the stack name `web\\n` contains a control character; names cannot hold any
"""

from __future__ import annotations

from typing import Any

from fleetform.stackfile.problems import DocPath, Report


def printable(text: str) -> str:
    """``text`` with control characters written as escapes (``\\n``), for messages."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _check(text: Any, what: str, path: DocPath, report: Report, *, at_key: bool = False) -> None:
    if isinstance(text, str) and not text.isprintable():
        report.error(
            path,
            f"the {what} `{printable(text)}` contains a control character; names cannot hold any",
            at_key=at_key,
        )


def _keys(mapping: Any) -> list[str]:
    if not isinstance(mapping, dict):
        return []
    return [k for k in mapping if isinstance(k, str) and not k.startswith("x-")]


def _hosts(items: Any, path: DocPath, report: Report) -> None:
    for i, host in enumerate(items if isinstance(items, list) else []):
        _check(host, "host or group name", (*path, i), report)


def check_names(data: dict[str, Any], report: Report) -> None:
    """Report every stack, service, network, volume and host name with a control character."""
    _check(data.get("name"), "stack name", ("name",), report)
    _hosts(data.get("hosts"), ("hosts",), report)
    for section, what in (("networks", "network"), ("volumes", "volume")):
        objects = data.get(section) or {}
        for key in _keys(objects):
            _check(key, f"{what} key", (section, key), report, at_key=True)
            spec = objects[key]
            if isinstance(spec, dict):
                _check(spec.get("name"), f"{what} name", (section, key, "name"), report)
    services = data.get("services") or {}
    for key in _keys(services):
        _check(key, "service name", ("services", key), report, at_key=True)
        spec = services[key]
        if isinstance(spec, dict):
            _hosts(spec.get("hosts"), ("services", key, "hosts"), report)
