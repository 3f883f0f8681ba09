"""`fleetform validate`: a one-line summary, every problem at once, JSON for machines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetform.cli import main

from .helpers import ROOT, write

STACKS = sorted(str(p) for p in (ROOT / "stacks").glob("*.yml"))


def test_the_example_stacks_validate_together(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *STACKS]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"{len(STACKS)} stack files valid: ")
    assert "services" in out and "network" in out and "volume" in out


def test_the_summary_counts_services_networks_and_volumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write(
        tmp_path, "version: 1\nname: a\nvolumes: {v: {}}\nservices: {x: {image: a}}\n", "a.yml"
    )
    b = write(tmp_path, "version: 1\nname: b\nservices: {y: {image: b}, z: {image: c}}\n", "b.yml")
    assert main(["validate", str(a), str(b)]) == 0
    assert capsys.readouterr().out == "2 stack files valid: 3 services, 2 networks, 1 volume\n"


def test_json_output_for_valid_files(capsys: pytest.CaptureFixture[str]) -> None:
    demo = str(ROOT / "stacks" / "demo.yml")
    assert main(["validate", "--format", "json", demo]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == {
        "valid": True,
        "files": [{"file": demo, "stack": "demo", "services": 2, "networks": 1, "volumes": 1}],
        "problems": [],
        "warnings": [],
    }


def test_json_output_lists_every_problem_with_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, "version: 1\nname: j\nservices:\n  web:\n    image: x\n    ports: [0]\n")
    assert main(["validate", "--format", "json", str(bad)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"] is False
    assert doc["problems"] == [
        {
            "file": str(bad),
            "line": 6,
            "column": 13,
            "path": "services.web.ports[0]",
            "message": "0 is not a valid port (1-65535)",
        }
    ]


def test_text_problems_go_to_stderr_with_a_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, "version: 1\nname: Bad\nfoo: 1\n")
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.splitlines() == [
        f"{bad}:2:7 name: `Bad` is not a valid stack name: names must be lower case (`bad`)",
        f"{bad}:3:1 foo: unknown key `foo` (known keys: version, name, hosts, engine, networks, "
        "volumes, secrets, configs, services)",
        "2 problems in 1 file",
    ]


def test_warnings_are_shown_and_env_file_chooses_the_variables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TAG", raising=False)
    stack = write(tmp_path, 'version: "3.8"\nservices: {web: {image: "busybox:${TAG:?no tag}"}}\n')
    assert main(["validate", str(stack)]) == 1
    err = capsys.readouterr().err
    assert f"{stack}:2:25 services.web.image: required variable `TAG` is not set: no tag" in err
    (tmp_path / "prod.env").write_text("TAG=1.36\n")
    assert main(["validate", "--env-file", str(tmp_path / "prod.env"), str(stack)]) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        f"warning: {stack}:1:10 version: `version: 3.8` is Compose's obsolete file version; "
        "it is ignored\n"
    )
    args = ["validate", "--format", "json", "--env-file", f"{tmp_path}/prod.env", str(stack)]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"] and [w["path"] for w in doc["warnings"]] == ["version"]
