"""Every file of tests/data/invalid is rejected with the messages its first lines expect.

Each file starts with one or more ``# expect: LINE:COLUMN PATH: MESSAGE`` lines;
every one must match a problem of the file exactly, from a single run (a file
with several kinds of problems lists them all at once).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from clirun import run_cli

from fleetform.cli import main
from fleetform.stackfile import Problem

from .helpers import DATA, problems_of

CORPUS = sorted((DATA / "invalid").glob("*.yml"))


def expectations(path: Path) -> list[str]:
    lines = path.read_bytes().split(b"\n")
    assert lines[0].startswith(b"# expect: "), f"{path.name} has no `# expect:` first line"
    out = []
    for line in lines:
        if not line.startswith(b"# expect: "):
            break
        out.append(line.decode("utf-8").removeprefix("# expect: "))
    return out


def located(problem: Problem) -> str:
    """A problem without its file name: ``12:7 services.web.ports[0]: ...``."""
    return str(problem).removeprefix(problem.file).lstrip(":").strip()


def test_the_corpus_covers_at_least_45_kinds_of_bad_input() -> None:
    assert len(CORPUS) >= 45


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_invalid_file_is_rejected_with_its_expected_message(path: Path) -> None:
    problems = problems_of(path)
    assert all(p.file == str(path) for p in problems)
    for expected in expectations(path):
        assert any(expected in located(p) for p in problems), [located(p) for p in problems]


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_problems_carry_a_line_unless_the_whole_file_is_at_fault(path: Path) -> None:
    for problem in problems_of(path):
        if problem.path:
            assert problem.line is not None and problem.column is not None, problem


def test_every_invalid_file_exits_1_from_the_cli_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for path in CORPUS:
        assert main(["validate", str(path)]) == 1, path
        out = capsys.readouterr()
        assert str(path) in out.err
        for expected in expectations(path):
            assert expected in out.err
    # In-process, a crash would raise instead of printing one: a traceback can
    # only be seen in the output of a real process, so the whole corpus runs once.
    result = run_cli("validate", *map(str, CORPUS))
    assert result.returncode == 1
    assert "Traceback" not in (result.stdout + result.stderr)
    for path in CORPUS:
        assert f"{path}:" in result.stderr


def test_all_files_are_reported_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *map(str, CORPUS)]) == 1
    err = capsys.readouterr().err
    for path in CORPUS:
        assert f"{path}:" in err
    assert err.rstrip().endswith(f"in {len(CORPUS)} files")
