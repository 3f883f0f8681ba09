"""Reading a small input file (stack file, ``env_file``, CA certificate) safely.

``Path.read_bytes`` on ``/dev/zero`` never ends (MemoryError), and on a FIFO
``open`` itself waits for a writer forever.  So the file is opened without
blocking, checked with ``fstat`` on the open descriptor (no race with a swap
between a check and the open), refused unless it is a regular file, and read
with a bound even if it grows while being read::

    >>> try:
    ...     read_small_file(Path("/dev/null"), 1024)
    ... except InputFileError as exc:
    ...     print(exc.describe("env_file `/dev/null`"))
    env_file `/dev/null` is a character device, not a regular file
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: What a path is when it is not a regular file, in plain words.
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class InputFileError(ValueError):
    """The file cannot be read as a small regular file.

    ``unreadable``: the system refused to open or read it, and the message is
    the system's reason (``No such file or directory``); otherwise the message
    says what is wrong with it, as a predicate (``is a folder, not a regular file``).
    """

    def __init__(self, message: str, *, unreadable: bool = False) -> None:
        super().__init__(message)
        self.unreadable = unreadable

    def describe(self, subject: str) -> str:
        """``cannot read <subject>: <reason>`` or ``<subject> <predicate>``."""
        return f"cannot read {subject}: {self}" if self.unreadable else f"{subject} {self}"


def _kind(mode: int) -> str:
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def read_small_file(path: Path, limit: int, what: str = "files") -> bytes:
    """The content of the regular file ``path``, at most ``limit`` bytes.

    ``what`` names the kind of file in the size message (``stack files``).

    Raises :class:`InputFileError` for a missing or unreadable file, anything
    that is not a regular file (folder, FIFO, device, socket) and a file
    larger than ``limit`` bytes.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputFileError(str(exc.strerror or exc), unreadable=True) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(f"is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise InputFileError(f"is {info.st_size} bytes; {what} are limited to {limit}")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew after fstat
            raise InputFileError(f"is more than {limit} bytes; {what} are limited to {limit}")
        return b"".join(chunks)
    except OSError as exc:
        raise InputFileError(str(exc.strerror or exc), unreadable=True) from None
    finally:
        os.close(fd)
