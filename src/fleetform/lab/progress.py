"""Progress output for long lab steps (rich, on stderr so --json stays clean)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.text import Text


class Progress:
    """Announce steps; ``quiet`` for API callers such as test fixtures."""

    def __init__(self, quiet: bool = False) -> None:
        self.console = Console(stderr=True, quiet=quiet)

    def info(self, message: str) -> None:
        self.console.print(message, highlight=False, markup=False)

    @contextmanager
    def step(self, message: str) -> Iterator[Callable[[str], None]]:
        """Show ``message`` while the step runs, then how long it took.

        The step may report what it is doing (a build's current instruction,
        a push's layer) through the function it is given; that detail lives
        only on the transient status line, so the lasting output is the same.
        """
        start = time.monotonic()
        with self.console.status(message) as status:

            def detail(text: str) -> None:
                last = (text.splitlines() or [""])[-1]
                status.update(Text(f"{message}: {last[:120]}"))

            yield detail
        self.console.print(
            f"{message}: done in {time.monotonic() - start:.1f} s", highlight=False, markup=False
        )
