"""The lab's use of the docker SDK: typed errors become LabError with plain words."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest
import requests.exceptions

from fleetform.lab import engine
from fleetform.lab.config import LabError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    engine.client.cache_clear()
    yield
    engine.client.cache_clear()


def test_no_engine_is_a_lab_error_that_says_so(no_engine: None) -> None:
    with pytest.raises(LabError, match="no Docker engine answers"):
        engine.ensure_engine()


@pytest.mark.parametrize("command", [["status"], ["status", "--json"], ["down"], ["up"]])
def test_the_lab_cli_without_an_engine_fails_in_plain_words(
    tmp_path: Path, command: list[str]
) -> None:
    env = {
        **os.environ,
        "DOCKER_HOST": "unix:///nonexistent/docker.sock",
        "FLEETFORM_LAB_NAME": "labnoengine",
        "FLEETFORM_LAB_DIR": str(tmp_path / "state"),
        "PYTHONPATH": str(ROOT / "src"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "fleetform.cli", "lab", *command],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "error: no Docker engine answers on unix:///nonexistent/docker.sock" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "state").exists()


class _Raising:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def get(self, name: str) -> Any:
        raise self.exc


class _FakeClient:
    def __init__(self, exc: Exception) -> None:
        self.containers = self.networks = self.volumes = self.images = _Raising(exc)


def test_a_missing_object_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeClient(docker.errors.NotFound("404 Client Error: Not Found"))
    monkeypatch.setattr(engine, "client", lambda: fake)
    assert engine.get_container("x") is None
    assert engine.get_network("x") is None
    assert engine.get_volume("x") is None
    assert engine.get_image("x") is None


def test_an_api_error_carries_the_engines_message(monkeypatch: pytest.MonkeyPatch) -> None:
    error = docker.errors.APIError("500 Server Error", explanation="device or resource busy")
    monkeypatch.setattr(engine, "client", lambda: _FakeClient(error))
    with pytest.raises(
        LabError, match=r"^docker container inspect failed: device or resource busy$"
    ):
        engine.get_container("x")


def test_an_engine_that_goes_away_midway_says_no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    error = requests.exceptions.ConnectionError("Connection aborted.")
    monkeypatch.setattr(engine, "client", lambda: _FakeClient(error))
    with pytest.raises(LabError, match="no Docker engine answers"):
        engine.get_volume("x")


def test_a_stream_feeds_each_line_and_stops_at_the_engines_error() -> None:
    seen: list[str] = []
    chunks = [
        {"stream": "Step 1/2 : FROM base\n"},
        {"stream": "\n"},
        {"status": "Pushing", "progress": "[==>  ] 1MB/2MB"},
        {"error": "x", "errorDetail": {"message": "manifest invalid"}},
        {"stream": "never read\n"},
    ]
    with pytest.raises(LabError, match=r"^docker push failed: manifest invalid$"):
        engine.follow("push", chunks, seen.append)
    assert seen == ["Step 1/2 : FROM base", "Pushing [==>  ] 1MB/2MB"]


def test_label_filters_ask_for_every_label() -> None:
    assert engine.label_filter({"b": "2", "a": "1"}) == {"label": ["a=1", "b=2"]}
