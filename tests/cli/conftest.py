"""Fixtures shared by the command-line tests on pyinfra's @fake hosts."""

from __future__ import annotations

from typing import Any

import pytest

from fleetform.executor import session as session_module


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The Session objects apply creates, without gevent's monkey-patching in pytest."""
    made: list[Any] = []

    class Recorded(session_module.Session):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(session_module, "patch", lambda: None)
    monkeypatch.setattr(session_module, "Session", Recorded)
    return made
