"""Writing small stack files for tests."""

from __future__ import annotations

from pathlib import Path

from fleetform.model import Stack
from fleetform.stackfile import Problem, StackFileError, load_stacks

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"


def write(tmp_path: Path, text: str, name: str = "stack.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str) -> Stack:
    return load_stacks([write(tmp_path, text)])[0]


def problems_of(*paths: Path) -> list[Problem]:
    try:
        load_stacks(list(paths))
    except StackFileError as err:
        return err.problems
    raise AssertionError("expected the stack files to be invalid")


def messages(*paths: Path) -> list[str]:
    return [f"{p.path}: {p.message}" for p in problems_of(*paths)]
