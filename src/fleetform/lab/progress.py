"""Progress output for long lab steps (rich, on stderr so --json stays clean)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console


class Progress:
    """Announce steps; ``quiet`` for API callers such as test fixtures."""

    def __init__(self, quiet: bool = False) -> None:
        self.console = Console(stderr=True, quiet=quiet)

    def info(self, message: str) -> None:
        self.console.print(message, highlight=False, markup=False)

    @contextmanager
    def step(self, message: str) -> Iterator[None]:
        start = time.monotonic()
        with self.console.status(message):
            yield
        self.console.print(
            f"{message}: done in {time.monotonic() - start:.1f} s", highlight=False, markup=False
        )
