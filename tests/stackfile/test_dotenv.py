"""Compose's dotenv rules, for `.env` and `env_file` (the examples of Compose's env-file page)."""

from __future__ import annotations

import pytest

from fleetform.stackfile.dotenv import DotenvError, parse_dotenv, parse_raw

OUTSIDE = {"OTHER": "other", "FROM_ENV": "env value"}


def one(line: str) -> str:
    return parse_dotenv(f"OTHER=x\n{line}\n", OUTSIDE.get)["VAR"]


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("VAR=VAL", "VAL"),
        ('VAR="VAL"', "VAL"),
        ("VAR='VAL'", "VAL"),
        ("VAR=VAL # comment", "VAL"),
        ("VAR=VAL# not a comment", "VAL# not a comment"),
        ('VAR="VAL # not a comment"', "VAL # not a comment"),
        ('VAR="VAL" # comment', "VAL"),
        ("VAR='VAL' # comment", "VAL"),
        ("VAR='$OTHER'", "$OTHER"),
        ("VAR='${OTHER}'", "${OTHER}"),
        ("VAR='Let\\'s go!'", "Let's go!"),
        ('VAR="{\\"hello\\": \\"json\\"}"', '{"hello": "json"}'),
        ('VAR="some\\tvalue"', "some\tvalue"),
        ("VAR='some\\tvalue'", "some\\tvalue"),
        ("VAR=some\\tvalue", "some\\tvalue"),
        ('VAR="a\\nb\\\\c"', "a\nb\\c"),
        ("VAR=$OTHER", "x"),  # earlier lines of the file win over the environment
        ('VAR="${OTHER}-$FROM_ENV"', "x-env value"),
        ("VAR=${NOPE:-fallback}", "fallback"),
        ("VAR=$$OTHER", "$OTHER"),
        ("export VAR=exported", "exported"),
        ("VAR = spaced ", "spaced"),
        ("VAR=", ""),
        ("VAR= # only a comment", ""),
        ('VAR="multi\nline"', "multi\nline"),
    ],
)
def test_compose_env_file_rules(line: str, value: str) -> None:
    assert one(line) == value


def test_a_bare_name_takes_the_environment_value_or_is_left_out() -> None:
    assert parse_dotenv("FROM_ENV\nNOT_THERE\n", OUTSIDE.get) == {"FROM_ENV": "env value"}


def test_the_environment_wins_in_a_project_env_file_only() -> None:
    text = "OTHER=file\nB=$OTHER\n"
    assert parse_dotenv(text, OUTSIDE.get) == {"OTHER": "file", "B": "file"}
    assert parse_dotenv(text, OUTSIDE.get, environment_wins=True) == {
        "OTHER": "other",
        "B": "other",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A=1\nthis is not an assignment\n", "line 2: expected KEY=VALUE"),
        ('A=1\nB="open\n\n', "line 2: the value's \" is never closed"),
        ('A="v" trailing\n', 'line 1: unexpected `trailing` after the closing "'),
        ("A=${B:?B is needed}\n", "line 1: required variable `B` is not set: B is needed"),
    ],
)
def test_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(DotenvError) as err:
        parse_dotenv(text, {}.get)
    assert message in str(err.value)


def test_raw_format_keeps_values_as_written() -> None:
    text = "# a comment\nA=\"quoted\" # kept\nB=${OTHER}\\n\n\nC='x'\n"
    assert parse_raw(text) == {"A": '"quoted" # kept', "B": "${OTHER}\\n", "C": "'x'"}
    with pytest.raises(DotenvError, match="line 1: expected KEY=VALUE"):
        parse_raw("no equals sign\n")
