"""Stack files, env files and CA files are read only when they are small regular files."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from fleetform.cli import main

from .helpers import messages, write

ENV_STACK = "version: 1\nname: t\nservices:\n  web:\n    image: nginx:1.25\n    env_file: {}\n"
CA_STACK = (
    "version: 1\nname: t\nengine:\n  registries:\n    registry.lab:5000:\n      ca_file: {}\n"
)


def _within(seconds: float, call: Callable[[], list[str]], fifo: Path) -> list[str]:
    """``call()``'s result; fails (instead of hanging the suite) when it blocks on ``fifo``."""
    result: list[list[str]] = []
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        # Unblock the reader stuck in open(): a writer arrives and leaves.
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(5)
        pytest.fail(f"reading the FIFO {fifo} blocked for more than {seconds} s")
    return result[0]


def test_dev_zero_as_a_stack_file_is_refused_in_plain_words() -> None:
    assert messages(Path("/dev/zero")) == [": is a character device, not a regular file"]


def test_a_fifo_as_a_stack_file_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "stack.yml"
    os.mkfifo(fifo)
    found = _within(5, lambda: messages(fifo), fifo)
    assert found == [": is a named pipe (FIFO), not a regular file"]


def test_dev_zero_as_an_env_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, ENV_STACK.format("/dev/zero"))
    assert messages(path) == [
        "services.web.env_file: env_file `/dev/zero` is a character device, not a regular file"
    ]


def test_a_fifo_as_an_env_file_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "web.env"
    os.mkfifo(fifo)
    path = write(tmp_path, ENV_STACK.format("web.env"))
    found = _within(5, lambda: messages(path), fifo)
    assert found == [
        "services.web.env_file: env_file `web.env` is a named pipe (FIFO), not a regular file"
    ]


def test_dev_zero_and_a_fifo_as_a_ca_file_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, CA_STACK.format("/dev/zero"))
    where = "engine.registries['registry.lab:5000'].ca_file"
    assert messages(path) == [f"{where}: `/dev/zero` is a character device, not a regular file"]
    fifo = tmp_path / "ca.pem"
    os.mkfifo(fifo)
    path = write(tmp_path, CA_STACK.format("ca.pem"))
    found = _within(5, lambda: messages(path), fifo)
    assert found == [f"{where}: `ca.pem` is a named pipe (FIFO), not a regular file"]


def test_an_oversized_ca_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\n" + b"A" * (1 << 20))
    path = write(tmp_path, CA_STACK.format("ca.pem"))
    [message] = messages(path)
    assert message.endswith("`ca.pem` is 1048604 bytes; CA files are limited to 1048576")


def test_a_folder_as_an_env_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "envs").mkdir()
    path = write(tmp_path, ENV_STACK.format("envs"))
    assert messages(path) == [
        "services.web.env_file: env_file `envs` is a folder, not a regular file"
    ]


def test_the_reader_never_returns_more_than_its_limit(tmp_path: Path) -> None:
    from fleetform.stackfile.files import InputFileError, read_small_file

    path = tmp_path / "f"
    path.write_bytes(b"x" * 11)
    assert read_small_file(path, 11) == b"x" * 11
    with pytest.raises(InputFileError, match="is 11 bytes; files are limited to 10"):
        read_small_file(path, 10)


def test_validate_exits_1_on_dev_zero_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validate", "/dev/zero"]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "MemoryError" not in out.err
    assert "/dev/zero: is a character device, not a regular file" in out.err
