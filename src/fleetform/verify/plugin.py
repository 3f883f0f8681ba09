"""pytest plugin: fleetform's verification checks as pytest tests (see docs/verify.md).

Registered through the ``pytest11`` entry point, so it is imported by every
pytest run in an environment where fleetform is installed.  It therefore
imports nothing heavy at module level and does nothing unless
``--fleetform-stack`` is given.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fleetform")
    group.addoption(
        "--fleetform-stack",
        action="append",
        default=[],
        metavar="STACK",
        help="fleetform stack file whose checks to run against testinfra's --hosts (repeatable)",
    )
