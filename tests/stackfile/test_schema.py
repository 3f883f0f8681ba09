"""The schema is valid draft 2020-12, documents every property, ships in the package,
and docs/stack-format.md is generated from it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from fleetform.cli import main
from fleetform.stackfile import load_schema, schema_text
from fleetform.stackfile.docgen import DOCS, SCHEMA_SOURCE, render
from fleetform.stackfile.docgen import main as docgen

from .helpers import ROOT


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_the_packaged_schema_is_the_repository_schema_byte_for_byte() -> None:
    assert schema_text() == SCHEMA_SOURCE.read_text(encoding="utf-8")


def test_fleetform_schema_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    Draft202012Validator.check_schema(printed)
    assert printed == load_schema()


def _properties(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for name, prop in node.get("properties", {}).items():
            yield f"{where}/properties/{name}", prop
        for key, value in node.items():
            yield from _properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, f"{where}/{i}")


def test_every_property_has_a_description() -> None:
    schema = load_schema()
    missing = []
    for where, prop in _properties(schema):
        target = prop
        if "$ref" in prop and "description" not in prop:
            target = schema["$defs"][prop["$ref"].rsplit("/", 1)[-1]]
        if not target.get("description"):
            missing.append(where)
    assert missing == []


def test_objects_with_fixed_keys_reject_unknown_keys_but_allow_x_extensions() -> None:
    loose = [
        where
        for where, node in _objects(load_schema())
        if "properties" in node and node.get("additionalProperties") is not False
    ]
    assert loose == []


def _objects(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _objects(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _objects(value, f"{where}/{i}")


# Keywords whose value is a map of names to subschemas, and those whose value is data.
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
_DATA = ("enum", "const", "examples", "default", "required", "dependentRequired")
_ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "deprecated"}


def _schema_keys(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """(where, key) for every key used as a keyword of a (sub)schema."""
    if isinstance(node, list):
        for i, value in enumerate(node):
            yield from _schema_keys(value, f"{where}/{i}")
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        yield where, key
        if key in _SCHEMA_MAPS:
            for name, sub in value.items():
                yield from _schema_keys(sub, f"{where}/{key}/{name}")
        elif key not in _DATA:
            yield from _schema_keys(value, f"{where}/{key}")


def test_every_key_of_the_schema_is_a_json_schema_keyword() -> None:
    known = set(Draft202012Validator.VALIDATORS) | _ANNOTATIONS | {"$defs", *_DATA}
    stray = [f"{where}: {key!r}" for where, key in _schema_keys(load_schema()) if key not in known]
    assert stray == []


def test_docs_are_generated_from_the_schema_and_up_to_date() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(load_schema()), (
        "run: python -m fleetform.stackfile.docgen --write"
    )
    assert docgen(["--check"]) == 0


def test_the_docs_mention_every_service_key() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for key in load_schema()["$defs"]["service"]["properties"]:
        assert f"| `{key}`" in docs


def test_example_stacks_point_editors_at_the_schema() -> None:
    for path in sorted((ROOT / "stacks").glob("*.yml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schema/stack.schema.json", path
