"""Environment values the env file cannot carry are refused; what counts as secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetform.cli import main
from fleetform.secrets import looks_secret

from .helpers import load_text, problems_of, write

HEAD = "version: 1\nname: s\nservices:\n  web:\n    image: busybox\n"


def test_a_newline_in_an_env_file_value_is_refused_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A double-quoted "\n" is a newline (as in Compose); written back into the
    # env file given to `docker create` it would set PATH.
    (tmp_path / "app.env").write_text('LOG=1\nDATABASE_URL="x\\nPATH=/tmp/evil"\n')
    stack = write(tmp_path, HEAD + "    env_file: app.env\n")
    assert [str(p) for p in problems_of(stack)] == [
        f"{stack}:6:15 services.web.env_file: env_file `app.env` line 2: the value of "
        "`DATABASE_URL` contains a newline, which an env file cannot carry"
    ]
    assert main(["validate", str(stack)]) == 1
    err = capsys.readouterr().err
    assert "contains a newline" in err and "Traceback" not in err


@pytest.mark.parametrize(("char", "what"), [("\n", "a newline"), ("\r", "a carriage return")])
def test_a_passed_through_value_the_env_file_cannot_carry_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, char: str, what: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgres://x{char}PATH=/tmp/evil")
    stack = write(tmp_path, HEAD + "    environment:\n      DATABASE_URL:\n")
    assert [f"{p.line} {p.path}: {p.message}" for p in problems_of(stack)] == [
        "7 services.web.environment.DATABASE_URL: the value of `DATABASE_URL` (from this "
        f"machine's environment) contains {what}, which an env file cannot carry"
    ]


def test_a_multi_line_literal_with_a_secret_name_is_refused(tmp_path: Path) -> None:
    stack = write(tmp_path, HEAD + '    environment:\n      DB_PASSWORD: "a\\nPATH=/x"\n')
    assert [p.message for p in problems_of(stack)] == [
        "the value of `DB_PASSWORD` contains a newline, which an env file cannot carry"
    ]


def test_a_multi_line_literal_travels_in_argv_intact(tmp_path: Path) -> None:
    stack = load_text(tmp_path, HEAD + '    environment:\n      MOTD: "line 1\\nline 2"\n')
    assert dict(stack.services[0].environment)["MOTD"] == "line 1\nline 2"
    assert "MOTD" not in stack.services[0].secret_keys


def test_a_nul_character_is_refused_in_any_value(tmp_path: Path) -> None:
    stack = write(tmp_path, HEAD + '    environment:\n      MOTD: "a\\0b"\n')
    assert [p.message for p in problems_of(stack)] == [
        "the value of `MOTD` contains a NUL character, which no environment value can hold"
    ]


@pytest.mark.parametrize("name", ["A,B", "A B", "A=B"])
def test_environment_names_that_break_env_files_or_the_secret_keys_label_are_refused(
    tmp_path: Path, name: str
) -> None:
    stack = write(tmp_path, HEAD + f'    environment:\n      "{name}": "1"\n')
    assert [p.message for p in problems_of(stack)] == [
        f"environment name `{name}` may not contain `=`, `,`, whitespace or control characters"
    ]


def test_a_passed_through_key_unset_here_is_still_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plan made without the variable must still mask the value the container has.
    monkeypatch.delenv("DATABASE_URL", raising=False)
    stack = load_text(tmp_path, HEAD + "    environment: [DATABASE_URL, LOG_LEVEL=info]\n")
    web = stack.services[0]
    assert dict(web.environment) == {"LOG_LEVEL": "info"}
    assert web.secret_keys == {"DATABASE_URL"}


@pytest.mark.parametrize("name", ["DB_PASSPHRASE", "SSH_KEYS", "GPG_PASSPHRASE", "AWS_CREDS"])
def test_more_names_that_look_secret(name: str) -> None:
    assert looks_secret(name)
