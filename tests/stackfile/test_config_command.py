"""`fleetform config`: the stack as fleetform reads it, interpolated, secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fleetform.cli import main
from fleetform.stackfile import load_stacks

COMPOSE = """\
version: "3.8"
x-fleetform:
  hosts: [web]
services:
  web:
    image: "busybox:${TAG}"
    command: ["sh", "-c", "echo $$HOME ${LEVEL:-info}"]
    ports: ["${PORT}:80", "9000-9001:9000-9001/udp"]
    volumes: ["data:/data", "/srv/conf:/etc/app:ro"]
    env_file: app.env
    environment:
      LEVEL: ${LEVEL:-info}
      DATABASE_URL: postgres://u:${DB_PASSWORD}@db/x
      PLAIN: literal
    x-fleetform: {pull: always}
volumes:
  data:
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("TAG", "PORT", "LEVEL", "DB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "My Shop"
    folder.mkdir()
    (folder / ".env").write_text("TAG=1.36\nPORT=8080\nDB_PASSWORD=hunter2\n")
    (folder / "app.env").write_text('FROM_FILE="v" # comment\n')
    path = folder / "compose.yaml"
    path.write_text(COMPOSE)
    return path


def test_config_prints_the_resolved_stack_with_secrets_masked(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", str(project)]) == 0
    captured = capsys.readouterr()
    assert "hunter2" not in captured.out
    assert "obsolete file version" in captured.err
    doc = yaml.safe_load(captured.out)
    assert list(doc)[:3] == ["name", "hosts", "services"]
    assert doc["name"] == "myshop" and doc["hosts"] == ["web"]
    web = doc["services"]["web"]
    assert web["image"] == "busybox:1.36"
    assert web["command"] == ["sh", "-c", "echo $$HOME info"]
    assert web["pull"] == "always"
    assert web["env_file"] == [{"path": str(project.parent / "app.env"), "required": True}]
    assert web["environment"] == {
        "DATABASE_URL": "(secret)",
        "FROM_FILE": "(secret)",
        "LEVEL": "info",
        "PLAIN": "literal",
    }
    assert web["ports"] == [
        {"protocol": "tcp", "published": 8080, "target": 80},
        {"protocol": "udp", "published": 9000, "target": 9000},
        {"protocol": "udp", "published": 9001, "target": 9001},
    ]
    assert web["volumes"] == [
        {"source": "data", "target": "/data", "type": "volume"},
        {"read_only": True, "source": "/srv/conf", "target": "/etc/app", "type": "bind"},
    ]
    assert doc["volumes"] == {"data": {}}


def test_config_output_reads_back_as_the_same_stack(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `$$` is escaped again, so `$HOME` stays for the container's shell.
    assert main(["config", str(project)]) == 0
    again = tmp_path / "again" / "compose.yaml"
    again.parent.mkdir()
    again.write_text(capsys.readouterr().out)
    first, second = load_stacks([project])[0], load_stacks([again])[0]
    assert (
        second.services[0].command
        == first.services[0].command
        == (
            "sh",
            "-c",
            "echo $HOME info",
        )
    )
    assert second.services[0].image == first.services[0].image


def test_config_json_and_env_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = project.parent / "prod.env"
    other.write_text("TAG=2.0\nPORT=80\n")
    assert main(["config", "--format", "json", "--env-file", str(other), str(project)]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["services"]["web"]["image"] == "busybox:2.0"
    assert "variable `DB_PASSWORD` is not set" in captured.err


def test_config_of_a_bad_file_lists_problems_and_exits_1(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write_text(COMPOSE.replace("${TAG}", "${TAG2:?TAG2 is needed}"))
    assert main(["config", str(project)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "services.web.image: required variable `TAG2` is not set: TAG2 is needed" in (
        captured.err
    )
    assert "Traceback" not in captured.err
