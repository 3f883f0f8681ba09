"""Bad input to plan and apply: a clear message, exit 1, no traceback, no host contacted."""

from __future__ import annotations

from pathlib import Path

import pytest
from clirun import run_cli

from fleetform.cli import main

GOOD_STACK = "version: 1\nname: ok\nservices:\n  a:\n    image: busybox:1\n"
INVENTORY = 'web = ["h1"]\n'


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    good = tmp_path / "good.yml"
    good.write_text(GOOD_STACK)
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\nname: Bad Name\nservices:\n  a:\n    enviroment: {}\n")
    inv = tmp_path / "inv.py"
    inv.write_text(INVENTORY)
    return {"good": str(good), "bad": str(bad), "inv": str(inv), "dir": str(tmp_path)}


@pytest.mark.parametrize("command", ["plan", "apply"])
@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("bad stack", "did you mean `environment`"),
        ("missing stack", "missing.yml"),
        ("missing inventory", "inventory file not found"),
        ("unknown limit", "--limit nope: no such host or group"),
        ("no stacks", "no stack files given"),
    ],
)
def test_bad_input_exits_1_with_a_message(
    command: str,
    case: str,
    expected: str,
    files: dict[str, str],
) -> None:
    args = {
        "bad stack": ["-i", files["inv"], files["bad"]],
        "missing stack": ["-i", files["inv"], f"{files['dir']}/missing.yml"],
        "missing inventory": ["-i", f"{files['dir']}/nope.py", files["good"]],
        "unknown limit": ["-i", files["inv"], files["good"], "--limit", "nope"],
        "no stacks": ["-i", files["inv"]],
    }[case]
    extra = ["--yes"] if command == "apply" else []
    # A separate process, as a user runs it: a crash would print a real traceback.
    result = run_cli(command, *args, *extra)
    assert result.returncode == 1, result.stdout + result.stderr
    assert expected in (result.stdout + result.stderr)
    assert "Traceback" not in (result.stdout + result.stderr)


def test_two_stacks_giving_one_host_different_engines_is_an_error(
    files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = tmp_path / "a.yml"
    a.write_text("version: 1\nname: a\nengine:\n  source: distro\n")
    b = tmp_path / "b.yml"
    b.write_text("version: 1\nname: b\nengine:\n  source: docker-ce\n")
    assert main(["apply", "-i", files["inv"], str(a), str(b), "--yes"]) == 1
    err = capsys.readouterr().err
    assert "a.yml" in err and "b.yml" in err and "h1" in err


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["apply", "--yes", "--lock-wait", "soon"], {}, "--lock-wait: 'soon' is not a duration"),
        (["plan"], {"FLEETFORM_LOCK_STALE_AFTER": "1s"}, "must be at least twice"),
        (["apply", "--yes"], {"FLEETFORM_LOCK_HEARTBEAT": "x"}, "is not a duration"),
    ],
)
def test_bad_lock_options_exit_1_before_any_host_is_contacted(
    files: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    env: dict[str, str],
    expected: str,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # h1 does not exist: reaching it would fail differently ("cannot connect").
    assert main([argv[0], "-i", files["inv"], files["good"], *argv[1:]]) == 1
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_audit_with_a_bad_since_exits_1_without_a_traceback(files: dict[str, str]) -> None:
    result = run_cli("audit", "-i", files["inv"], "--since", "yesterday")
    assert result.returncode == 1
    assert "--since: 'yesterday' is not a duration" in result.stderr
    assert "Traceback" not in (result.stdout + result.stderr)


def test_audit_with_a_missing_inventory_exits_1(files: dict[str, str]) -> None:
    result = run_cli("audit", "-i", files["dir"] + "/nope.py")
    assert result.returncode == 1 and "inventory file not found" in result.stderr
    assert "Traceback" not in (result.stdout + result.stderr)
