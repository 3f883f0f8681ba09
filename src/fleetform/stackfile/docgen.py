"""Generate ``docs/stack-format.md`` from the schema, and keep the packaged schema in step.

    python -m fleetform.stackfile.docgen --write   # after editing schema/stack.schema.json
    python -m fleetform.stackfile.docgen --check   # exit 1 when either is out of date

The docs are generated, never edited by hand, so the schema stays the one
description of the format.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
SCHEMA_SOURCE = REPO / "schema" / "stack.schema.json"
SCHEMA_PACKAGED = REPO / "src" / "fleetform" / "data" / "stack.schema.json"
DOCS = REPO / "docs" / "stack-format.md"

_INTRO = """\
# Stack file format (version 1)

<!-- Generated from schema/stack.schema.json by
     `python -m fleetform.stackfile.docgen --write`; do not edit by hand. -->

{description}

Check files with `fleetform validate FILE...` (exit 0 when valid, 1 with every
problem listed as `file:line:column path: message`); print the schema with
`fleetform schema`. Editors that speak the YAML language server complete and
explain stack files that start with

```yaml
# yaml-language-server: $schema=../schema/stack.schema.json
```

Conventions: durations are strings such as `10s`, `1m30s`, `500ms`; memory
sizes are bytes or numbers with a unit `b`, `k`, `m`, `g` (powers of 1024);
keys starting with `x-` are allowed in every section with fixed keys and are
ignored, which makes them the place for YAML anchors used with merge keys
(`<<: *defaults`). YAML is read the YAML 1.2 way, as Compose does: `no`, `on`
and `22:22` are strings.
"""

# Sections of the document: (heading, JSON pointer into the schema).
_SECTIONS = [
    ("Top level", "#"),
    ("engine", "#/$defs/engine"),
    ("engine.daemon", "#/$defs/daemon"),
    ("engine.registries.*", "#/$defs/registry"),
    ("engine.policy", "#/$defs/enginePolicy"),
    ("networks.*", "#/$defs/network"),
    ("networks.*.ipam", "#/$defs/ipam"),
    ("volumes.*", "#/$defs/volume"),
    ("services.*", "#/$defs/service"),
    ("services.*.build (long form)", "#/$defs/build"),
    ("services.*.ports[] (long form)", "#/$defs/portLong"),
    ("services.*.volumes[] (long form)", "#/$defs/mountLong"),
    ("services.*.networks.* (map form)", "#/$defs/networkAttachment"),
    ("services.*.healthcheck", "#/$defs/healthcheck"),
    ("services.*.deploy.resources.limits / reservations", "#/$defs/resourceSet"),
    ("services.*.deploy.update_config / rollback_config", "#/$defs/rolloutConfig"),
    ("services.*.proxy", "#/$defs/proxy"),
    ("services.*.proxy.health", "#/$defs/proxyHealth"),
]


def _pointer(schema: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = schema
    for part in ref.lstrip("#/").split("/") if ref != "#" else []:
        node = node[part]
    return dict(node)


def _type(prop: dict[str, Any], schema: dict[str, Any]) -> str:
    if "$ref" in prop:
        target = _pointer(schema, prop["$ref"])
        return str(target.get("title") or prop["$ref"].rsplit("/", 1)[-1])
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    if "anyOf" in prop:
        return " or ".join(_type(p, schema) for p in prop["anyOf"])
    kind: str | list[str] = prop.get("type", "any")
    names = {"object": "map", "array": "list", "integer": "int", "boolean": "bool"}
    if isinstance(kind, list):
        return " or ".join(names.get(k, k) for k in kind)
    if kind == "array" and isinstance(prop.get("items"), dict):
        return f"list of {_type(prop['items'], schema)}"
    return names.get(kind, kind)


def _description(prop: dict[str, Any], schema: dict[str, Any]) -> str:
    text = prop.get("description")
    if text is None and "$ref" in prop:
        text = _pointer(schema, prop["$ref"]).get("description", "")
    parts = [" ".join(str(text or "").split())]
    if "default" in prop:
        parts.append(f"Default: `{json.dumps(prop['default'])}`.")
    examples = prop.get("examples")
    if examples:
        shown = ", ".join(f"`{json.dumps(e)}`" for e in examples)
        parts.append(f"Examples: {shown}.")
    return " ".join(p for p in parts if p).replace("|", "\\|")


def render(schema: dict[str, Any]) -> str:
    """The Markdown reference of the format."""
    out = [_INTRO.format(description=" ".join(schema["description"].split()))]
    for heading, ref in _SECTIONS:
        node = _pointer(schema, ref)
        out.append(f"\n## {heading}\n")
        if ref != "#":
            out.append(" ".join(node.get("description", "").split()) + "\n")
        required = set(node.get("required", []))
        out.append("| Key | Type | Description |")
        out.append("|---|---|---|")
        for name, prop in node.get("properties", {}).items():
            key = f"`{name}`" + (" (required)" if name in required else "")
            out.append(f"| {key} | {_type(prop, schema)} | {_description(prop, schema)} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true")
    group.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    source = SCHEMA_SOURCE.read_text(encoding="utf-8")
    docs = render(json.loads(source))
    if args.write:
        SCHEMA_PACKAGED.write_text(source, encoding="utf-8")
        DOCS.write_text(docs, encoding="utf-8")
        return 0
    stale = [
        str(path.relative_to(REPO))
        for path, want in ((SCHEMA_PACKAGED, source), (DOCS, docs))
        if not path.exists() or path.read_text(encoding="utf-8") != want
    ]
    if stale:
        print(
            f"out of date: {', '.join(stale)}; run {__doc__.splitlines()[2].strip()}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
