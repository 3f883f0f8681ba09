"""Fixtures for end-to-end tests: run the real CLI from the repository root."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from clirun import run_cli


@pytest.fixture(scope="session")
def fleetform() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``fleetform(*args)`` runs the CLI as a user would, without a TTY."""
    return run_cli
