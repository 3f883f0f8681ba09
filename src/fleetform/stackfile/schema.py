"""The stack file JSON Schema (draft 2020-12), and validation against it.

The source of truth is ``schema/stack.schema.json`` at the top of the
repository, where editors find it (``# yaml-language-server: $schema=...``).
A byte-identical copy ships in the package as ``fleetform/data/`` so that an
installed fleetform can validate and print it; ``python -m
fleetform.stackfile.docgen --write`` refreshes the copy and the docs, and a
test fails when they drift apart.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

from fleetform.stackfile.explain import explain
from fleetform.stackfile.problems import DocPath, Report

SCHEMA_RESOURCE = ("data", "stack.schema.json")


def schema_text() -> str:
    """The schema as the JSON text shipped in the package."""
    return resources.files("fleetform").joinpath(*SCHEMA_RESOURCE).read_text(encoding="utf-8")


@cache
def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema())


def check_against_schema(data: Any, report: Report) -> list[DocPath]:
    """Add a plain-words problem to ``report`` for everything the schema rejects;
    return the document paths of those problems."""
    root = load_schema()
    paths = []
    for error in _validator().iter_errors(data):
        for path, message, at_key in explain(error, root):
            report.error(path, message, at_key=at_key)
            paths.append(path)
    return paths


def schema_accepts(data: Any) -> bool:
    return bool(_validator().is_valid(data))
