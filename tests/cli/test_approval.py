"""apply asks before it changes anything: no TTY or --json needs --yes; EOF or Ctrl-C means no."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from fleetform.cli import main
from fleetform.commands import common, converge

STACK = "version: 1\nname: ok\nservices:\n  a:\n    image: busybox:1\n"


class FakeStdin(io.StringIO):
    def __init__(self, text: str, tty: bool) -> None:
        super().__init__(text)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


class RaisingStdin(FakeStdin):
    def readline(self, *args: Any) -> str:
        raise KeyboardInterrupt


@pytest.fixture
def args(tmp_path: Path) -> list[str]:
    stack = tmp_path / "ok.yml"
    stack.write_text(STACK)
    inv = tmp_path / "inv.py"
    inv.write_text('web = ["h1"]\n')
    return ["apply", "-i", str(inv), str(stack)]


@pytest.fixture
def no_host_contacted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail the test if apply gets as far as connecting to a host."""
    calls: list[str] = []

    def observe(*_: Any) -> Any:
        calls.append("observe")
        raise AssertionError("a host was contacted")

    monkeypatch.setattr(converge, "_observe", observe)
    return calls


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("yes\n", True), ("  yes  \n", True), ("no\n", False), ("y\n", False), ("\n", False)],
)
def test_only_yes_at_the_prompt_approves(
    monkeypatch: pytest.MonkeyPatch, typed: str, expected: bool
) -> None:
    monkeypatch.setattr("sys.stdin", FakeStdin(typed, tty=True))
    assert common.confirm("Apply these changes?") is expected


def test_end_of_input_at_the_prompt_means_no(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", FakeStdin("", tty=True))  # Ctrl-D: input() gets EOF
    assert common.confirm("Apply these changes?") is False


def test_ctrl_c_at_the_prompt_means_no(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", RaisingStdin("", tty=True))
    assert common.confirm("Apply these changes?") is False


def test_a_prompt_without_a_terminal_never_approves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", FakeStdin("yes\n", tty=False))
    assert common.confirm("Apply these changes?") is False


def test_apply_without_a_terminal_and_without_yes_refuses_before_contacting_a_host(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    no_host_contacted: list[str],
) -> None:
    monkeypatch.setattr("sys.stdin", FakeStdin("yes\n", tty=False))  # cron, ssh, a pipe
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "not a terminal" in err and "--yes" in err
    assert no_host_contacted == []


def test_apply_json_needs_yes_even_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    no_host_contacted: list[str],
) -> None:
    monkeypatch.setattr("sys.stdin", FakeStdin("yes\n", tty=True))
    assert main([*args, "--json"]) == 1
    captured = capsys.readouterr()
    assert "--json" in captured.err and "--yes" in captured.err
    assert captured.out == ""  # nothing on stdout: no half JSON document
    assert no_host_contacted == []


def test_apply_with_yes_goes_ahead_without_a_terminal(
    monkeypatch: pytest.MonkeyPatch, args: list[str], no_host_contacted: list[str]
) -> None:
    monkeypatch.setattr("sys.stdin", FakeStdin("", tty=False))
    with pytest.raises(AssertionError, match="a host was contacted"):
        main([*args, "--yes", "--json"])
    assert no_host_contacted == ["observe"]


@pytest.mark.parametrize("stdin", [FakeStdin("", tty=True), RaisingStdin("", tty=True)])
def test_eof_or_ctrl_c_at_the_prompt_cancels_apply_with_exit_1(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    stdin: FakeStdin,
) -> None:
    """The whole apply path up to the prompt, with an observation that finds work to do."""
    from fleetform.executor.observation import Observation
    from fleetform.plan import HostPlan

    class Session:
        def __init__(self) -> None:
            self.failures: dict[str, str] = {}

        def disconnect(self) -> None:
            pass

    added: list[str] = []
    obs = Observation(plans={"h1": HostPlan("h1", engine=("install packages docker.io",))})
    monkeypatch.setattr(converge, "_observe", lambda *_: (Session(), obs))
    monkeypatch.setattr(converge, "_add_operations", lambda *_: added.append("ops"))
    monkeypatch.setattr("sys.stdin", stdin)
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "Apply cancelled; nothing was changed." in captured.out
    assert added == []
