"""The ``>>>`` examples in the package's docstrings are tests: each module's run here.

Examples that need a host or a lab are written as plain code blocks instead.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import fleetform

ROOT = Path(__file__).resolve().parents[1]


def _modules() -> list[str]:
    names = [
        m.name
        for m in pkgutil.walk_packages(fleetform.__path__, "fleetform.")
        # a pytest module collected by fleetform verify, not a library module
        if not m.name.endswith(".pytest_module")
    ]
    return sorted(names)


MODULES = _modules()


def test_the_package_has_examples_to_run() -> None:
    finder = doctest.DocTestFinder()
    with_examples = [
        name
        for name in MODULES
        if any(t.examples for t in finder.find(importlib.import_module(name)))
    ]
    assert len(with_examples) >= 15, with_examples


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # examples read stacks/*.yml like a user in the repository
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} failing example(s) in {name}"
