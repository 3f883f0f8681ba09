"""Bad input never crashes the loader: every value of a full stack file, replaced by
odd values one at a time, gives either a stack or problems."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleetform.stackfile.checks import check_stacks
from fleetform.stackfile.loader import check_document
from fleetform.stackfile.problems import Report

from .helpers import DATA, ROOT

ODD_VALUES: list[Any] = [None, "", "x", -1, 0, 70000, 1.5, True, [], ["x"], {}, {"x": 1}, "/"]


def leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield (*path, i)
            yield from leaves(value, (*path, i))


def replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(doc)
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def load_data(doc: Any, source: Path) -> None:
    """The loader's stages after YAML parsing (parsing is tested elsewhere, and slow).

    A value the schema rejects keeps only its own part out: the rest is still
    normalised and checked, so odd values reach those checks too."""
    report = Report(str(source))
    checked = check_document(doc, source, report)
    check_stacks([] if checked is None else [checked])


@pytest.mark.parametrize("source", [DATA / "valid" / "forms.yml", ROOT / "stacks" / "full.yml"])
def test_no_replaced_value_crashes_the_loader(source: Path) -> None:
    # yaml.safe_load is fine here: the fixture is ours and has no duplicate keys or bombs.
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    crashes = []
    for i, path in enumerate(leaves(doc)):
        # two odd values per place, rotating, keeps this to a few seconds
        for k in range(2):
            value = ODD_VALUES[(i + k) % len(ODD_VALUES)]
            try:
                load_data(replaced(doc, path, value), source)
            except Exception as exc:
                crashes.append(f"{path} = {value!r}: {type(exc).__name__}: {exc}")
    assert crashes == []
