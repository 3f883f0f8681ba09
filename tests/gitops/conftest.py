"""Fixtures for the GitOps tests: a local git repository, a notification endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gitrepo import Endpoint, Repo
from gitrepo import endpoint as serve


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    with serve() as got:
        yield got
