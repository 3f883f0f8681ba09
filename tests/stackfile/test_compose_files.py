"""Compose files read as stack files: interpolation, `.env`, `env_file`, version, name,
`x-fleetform`."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetform.model import Stack
from fleetform.stackfile import Problem, load_stacks

from .helpers import messages, problems_of, write

WEB = "services:\n  web:\n    image: busybox\n"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TAG", "PORT", "N", "DB_URL", "LEVEL", "UNSET_X", "FROM_SHELL"):
        monkeypatch.delenv(name, raising=False)


def load(path: Path, **kw: object) -> tuple[Stack, list[Problem]]:
    notices: list[Problem] = []
    stack = load_stacks([path], notices=notices, **kw)[0]  # type: ignore[arg-type]
    return stack, notices


def test_variables_come_from_the_env_file_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("TAG=1.36 # from .env\nPORT=8080\nLEVEL='debug'\n")
    monkeypatch.setenv("LEVEL", "info")
    path = write(
        tmp_path,
        "name: s\nservices:\n  web:\n    image: busybox:${TAG}\n"
        '    ports: ["${PORT}:80", "127.0.0.1:${NOPE:-8081}:81"]\n'
        "    environment: {LEVEL: $LEVEL, LITERAL: $$LEVEL}\n",
    )
    stack, notices = load(path)
    web = stack.services[0]
    assert web.image == "busybox:1.36"
    assert [(p.published, p.target) for p in web.ports] == [(8080, 80), (8081, 81)]
    assert dict(web.environment) == {"LEVEL": "info", "LITERAL": "$LEVEL"}
    assert notices == []


def test_env_file_option_replaces_the_project_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TAG=from-dot-env\n")
    (tmp_path / "prod.env").write_text("TAG=from-prod\n")
    path = write(tmp_path, "name: s\nservices:\n  web:\n    image: busybox:${TAG}\n")
    assert load(path)[0].services[0].image == "busybox:from-dot-env"
    assert load(path, env_file=tmp_path / "prod.env")[0].services[0].image == "busybox:from-prod"
    missing = tmp_path / "nope.env"
    with pytest.raises(Exception, match="cannot read the variables file"):
        load(path, env_file=missing)


def test_an_unset_variable_becomes_empty_with_a_warning_naming_where(tmp_path: Path) -> None:
    path = write(tmp_path, "name: s\nservices:\n  web:\n    image: busybox${UNSET_X}\n")
    stack, notices = load(path)
    assert stack.services[0].image == "busybox"
    assert [str(n) for n in notices] == [
        f"{path}:4:12 services.web.image: variable `UNSET_X` is not set; it becomes an empty string"
    ]


def test_a_required_variable_is_an_error_at_its_position(tmp_path: Path) -> None:
    path = write(tmp_path, "name: s\nservices:\n  web:\n    image: ${TAG:?set TAG}\n")
    assert [str(p) for p in problems_of(path)] == [
        f"{path}:4:12 services.web.image: required variable `TAG` is not set: set TAG"
    ]


def test_numbers_and_booleans_interpolated_into_typed_fields_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("N", "3")
    monkeypatch.setenv("PORT", "8080")
    path = write(
        tmp_path,
        "name: s\nservices:\n  web:\n    image: busybox\n    read_only: ${RO:-true}\n"
        "    deploy: {replicas: $N}\n    ports: [{target: $PORT}]\n",
    )
    web = load(path)[0].services[0]
    assert (web.replicas, web.read_only, web.ports[0].target) == (3, True, 8080)


def test_a_value_that_is_not_a_number_is_still_refused_by_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("N", "three")
    path = write(tmp_path, "name: s\nservices:\n  web:\n    image: x\n    deploy: {replicas: $N}\n")
    assert messages(path) == [
        "services.web.deploy.replicas: expected a whole number, got `three` (a string)"
    ]


def test_interpolated_environment_values_are_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("DB_URL=postgres://u:s3cret@db/app\n")
    path = write(
        tmp_path,
        "name: s\nservices:\n  web:\n    image: busybox\n"
        "    environment:\n      - DATABASE_URL=${DB_URL}\n      - LOG=info\n"
        "      - DEFAULTED=${NOPE:-x}\n",
    )
    web = load(path)[0].services[0]
    assert dict(web.environment)["DATABASE_URL"] == "postgres://u:s3cret@db/app"
    assert web.secret_keys == frozenset({"DATABASE_URL"})


def test_env_file_follows_compose_dotenv_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FROM_SHELL", "shell")
    (tmp_path / ".env").write_text("TAG=dot-env\n")
    (tmp_path / "app.env").write_text(
        'A="v" # c\nexport B=x # y\nC=\'$A\'\nD="${TAG}-$A"\nFROM_SHELL\nE=a#b\n'
    )
    (tmp_path / "raw.env").write_text('R="kept" # as is\nS=${TAG}\n')
    path = write(
        tmp_path,
        "name: s\nservices:\n  web:\n    image: busybox\n"
        "    env_file: [app.env, {path: raw.env, format: raw}]\n",
    )
    env = dict(load(path)[0].services[0].environment)
    assert env == {
        "A": "v",
        "B": "x",
        "C": "$A",
        "D": "dot-env-v",
        "FROM_SHELL": "shell",
        "E": "a#b",
        "R": '"kept" # as is',
        "S": "${TAG}",
    }


def test_compose_file_versions_are_ignored_with_a_warning(tmp_path: Path) -> None:
    for version in ('"3.8"', "3.8", '"2"', "3"):
        path = write(tmp_path, f"version: {version}\nname: s\n{WEB}")
        stack, notices = load(path)
        assert stack.version == 1
        assert [n.message for n in notices] == [
            f"`version: {version.strip(chr(34))}` is Compose's obsolete file version; it is ignored"
        ]
    assert load(write(tmp_path, f"version: 1\nname: s\n{WEB}")) == (load(path)[0], [])


def test_without_a_name_the_folder_gives_it_as_compose_does(tmp_path: Path) -> None:
    folder = tmp_path / "My_Shop.v2"
    folder.mkdir()
    assert load(write(folder, WEB, "compose.yaml"))[0].name == "my_shopv2"
    bad = tmp_path / "..."
    bad.mkdir()
    assert messages(write(bad, WEB, "compose.yaml")) == [
        ": no `name`, and none can be derived from the folder name `...` (Compose keeps "
        "lower-case letters, digits, `_` and `-`); set `name`"
    ]


def test_fleetform_keys_may_sit_under_x_fleetform(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: s\nx-fleetform: {hosts: [web]}\nservices:\n  web:\n    image: busybox\n"
        "    x-fleetform: {state: stopped, pull: always}\n",
    )
    stack = load(path)[0]
    assert stack.hosts == ("web",)
    assert (stack.services[0].state, stack.services[0].pull) == ("stopped", "always")


def test_x_fleetform_problems_name_their_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: s\nhosts: [a]\nx-fleetform:\n  hosts: [web]\n  colour: red\n"
        "services:\n  web:\n    image: busybox\n    x-fleetform: {state: maybe}\n",
    )
    assert [f"{p.line} {p.path}: {p.message}" for p in problems_of(path)] == [
        "4 x-fleetform.hosts: `hosts` is given both here and as `hosts` beside `x-fleetform`; "
        "keep one",
        "5 x-fleetform.colour: `colour` is not a fleetform key here (one of `hosts`, `engine`)",
        "9 services.web.state: `maybe` is not one of: running, stopped, absent",
    ]
