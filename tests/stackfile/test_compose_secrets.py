"""Compose secrets: the top-level entries are read here, a service's mounts are normalised."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetform.model import SecretMount
from fleetform.stackfile.secrets import parse_mode, parse_secret_mounts
from fleetform.stackfile.yamlread import read_document

from .helpers import load_text, messages, write


def test_a_file_secret_holds_the_files_bytes_and_an_environment_secret_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pw.txt").write_bytes(b"hunter2\n")
    monkeypatch.setenv("FF_TEST_TOKEN", "t0k3n")
    stack = load_text(
        tmp_path,
        "version: 1\nname: s\nsecrets:\n  db: {file: ./pw.txt}\n"
        "  token: {environment: FF_TEST_TOKEN}\n  x-note: ignored\n",
    )
    assert [(s.name, s.content, s.origin, s.sops) for s in stack.secrets] == [
        ("db", b"hunter2\n", "file ./pw.txt", False),
        ("token", b"t0k3n", "environment FF_TEST_TOKEN", False),
    ]


def test_a_secrets_repr_never_shows_its_content(tmp_path: Path) -> None:
    (tmp_path / "pw.txt").write_bytes(b"hunter2")
    stack = load_text(tmp_path, "version: 1\nname: s\nsecrets:\n  db: {file: ./pw.txt}\n")
    assert "hunter2" not in repr(stack)
    assert "hunter2" not in repr(stack.secret("db"))


def test_an_unset_environment_variable_is_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FF_TEST_UNSET", raising=False)
    path = write(tmp_path, "version: 1\nname: s\nsecrets:\n  t: {environment: FF_TEST_UNSET}\n")
    assert messages(path) == [
        "secrets.t.environment: the environment variable `FF_TEST_UNSET` is not set on this machine"
    ]


def test_a_secret_file_that_is_a_folder_or_too_big_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "big").write_bytes(b"x" * (1024 * 1024 + 1))
    path = write(
        tmp_path, "version: 1\nname: s\nsecrets:\n  a: {file: ./dir}\n  b: {file: ./big}\n"
    )
    assert messages(path) == [
        "secrets.a.file: secret file `./dir` is a folder, not a regular file",
        "secrets.b.file: secret file `./big` is 1048577 bytes; secret files are limited to 1048576",
    ]


def _mounts(tmp_path: Path, yaml_list: str) -> tuple[tuple[SecretMount, ...], list[str]]:
    path = write(tmp_path, yaml_list, "mounts.yml")
    data, report = read_document(path, "mounts.yml")
    mounts = parse_secret_mounts(data["secrets"], ("services", "web", "secrets"), report)
    return mounts, [f"{p.path}: {p.message}" for p in report.problems]


def test_short_and_long_forms_mount_under_run_secrets_with_compose_defaults(
    tmp_path: Path,
) -> None:
    mounts, problems = _mounts(
        tmp_path,
        "secrets:\n  - db\n"
        "  - {source: api, target: api.key, uid: '1000', gid: 1001, mode: 0440}\n"
        "  - {source: tls, target: /etc/tls/key.pem, mode: '0o400'}\n",
    )
    assert problems == []
    assert mounts == (
        SecretMount("db", "/run/secrets/db", 0, 0, 0o444),
        SecretMount("api", "/run/secrets/api.key", 1000, 1001, 0o440),
        SecretMount("tls", "/etc/tls/key.pem", 0, 0, 0o400),
    )


def test_a_target_that_climbs_out_or_names_the_folder_is_a_problem(tmp_path: Path) -> None:
    _, problems = _mounts(
        tmp_path,
        "secrets:\n  - {source: a, target: ../etc/passwd}\n  - {source: b, target: /run/secrets}\n",
    )
    assert problems == [
        "services.web.secrets[0].target: `../etc/passwd` is not a file path a secret can be "
        "mounted at",
        "services.web.secrets[1].target: `/run/secrets` is not a file path a secret can be "
        "mounted at",
    ]


@pytest.mark.parametrize(
    ("written", "mode"),
    [("0440", 0o440), ("0o600", 0o600), ("'0400'", 0o400), ("292", 292), ("0", 0)],
)
def test_modes_read_as_compose_reads_them(tmp_path: Path, written: str, mode: int) -> None:
    path = write(tmp_path, f"mode: {written}\n", "m.yml")
    data, _ = read_document(path, "m.yml")
    assert parse_mode(data["mode"]) == mode


@pytest.mark.parametrize("written", ["0800", "01777", "rw", "-1", "true", "512", "'9'"])
def test_modes_that_are_not_file_modes_are_refused(tmp_path: Path, written: str) -> None:
    path = write(tmp_path, f"mode: {written}\n", "m.yml")
    data, _ = read_document(path, "m.yml")
    assert parse_mode(data["mode"]) is None


def test_a_service_mounts_declared_secrets_in_the_stack_file_order(tmp_path: Path) -> None:
    (tmp_path / "pw.txt").write_bytes(b"x")
    stack = load_text(
        tmp_path,
        "version: 1\nname: s\nsecrets:\n  db: {file: ./pw.txt}\n"
        "services:\n  web:\n    image: x\n    secrets:\n      - db\n"
        "      - {source: db, target: /etc/db.pw, uid: 70, mode: 0400}\n",
    )
    assert stack.service("web").secrets == (
        SecretMount("db", "/run/secrets/db"),
        SecretMount("db", "/etc/db.pw", uid=70, mode=0o400),
    )


def test_a_target_with_a_comma_is_refused(tmp_path: Path) -> None:
    _, problems = _mounts(tmp_path, "secrets:\n  - {source: a, target: 'x,readonly=false'}\n")
    assert problems == [
        "services.web.secrets[0].target: a secret's target may not contain `,`, `=`, a quote or "
        "control characters"
    ]
