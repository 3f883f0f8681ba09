"""Interpolation against the examples of the Compose specification (12-interpolation)."""

from __future__ import annotations

import pytest

from fleetform.stackfile.interpolate import InterpolationError, interpolate

ENV = {"SET": "value", "EMPTY": "", "FOO": "foo", "TAG": "1.25"}


def text(template: str) -> str:
    return interpolate(template, ENV.get).text


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("${SET}", "value"),
        ("$SET", "value"),
        ("nginx:${TAG}", "nginx:1.25"),
        ("$SET-x", "value-x"),
        ("${SET:-default}", "value"),
        ("${EMPTY:-default}", "default"),
        ("${UNSET:-default}", "default"),
        ("${SET-default}", "value"),
        ("${EMPTY-default}", ""),
        ("${UNSET-default}", "default"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${UNSET:+alt}", ""),
        ("${SET+alt}", "alt"),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${SET:?err}", "value"),
        ("${EMPTY?err}", ""),
        # nested, as the specification lists them
        ("${UNSET:-${FOO}}", "foo"),
        ("${SET?$FOO}", "value"),
        ("${UNSET:-${UNSET2:-default}}", "default"),
        ("${UNSET:-a ${FOO} b}", "a foo b"),
        # `$$` is a literal `$`, and stops interpolation
        ("$$VAR_NOT_INTERPOLATED_BY_COMPOSE", "$VAR_NOT_INTERPOLATED_BY_COMPOSE"),
        ("$${SET}", "${SET}"),
        ("cost: $$5", "cost: $5"),
        ("${UNSET:-$$}", "$"),
        # a `$` that starts no variable is kept
        ("price $5 or $ or $-", "price $5 or $ or $-"),
        ("end$", "end$"),
        ("no dollar", "no dollar"),
    ],
)
def test_the_specification_examples(template: str, expected: str) -> None:
    assert text(template) == expected


def test_an_unset_variable_becomes_empty_and_is_reported() -> None:
    result = interpolate("a${UNSET}b$UNSET2", ENV.get)
    assert (result.text, result.unset) == ("ab", ("UNSET", "UNSET2"))


def test_an_operand_is_only_read_when_used() -> None:
    # ${SET:-${UNSET}} never needs UNSET, so nothing is unset.
    assert interpolate("${SET:-${UNSET}}", ENV.get).unset == ()
    assert interpolate("${SET:-$UNSET}", ENV.get).used == ("SET",)


def test_used_names_only_those_that_gave_a_value() -> None:
    assert interpolate("${SET} ${UNSET:-x} ${FOO}", ENV.get).used == ("SET", "FOO")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("${UNSET:?please set it}", "required variable `UNSET` is not set: please set it"),
        ("${EMPTY:?please set it}", "required variable `EMPTY` is empty: please set it"),
        ("${UNSET?}", "required variable `UNSET` is not set"),
        ("${UNSET?$FOO}", "required variable `UNSET` is not set: foo"),
        ("${SET", "invalid interpolation `${SET`: no closing `}`"),
        ("${}", "invalid interpolation `${}`: no variable name"),
        ("${1A}", "invalid interpolation `${1A}`: no variable name"),
        ("${SET/foo/bar}", "`/` after `SET` is not one of"),
    ],
)
def test_errors_say_what_is_missing(template: str, message: str) -> None:
    with pytest.raises(InterpolationError) as err:
        interpolate(template, ENV.get)
    assert message in str(err.value)
