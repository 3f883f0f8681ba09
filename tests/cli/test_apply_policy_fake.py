"""``engine.policy: {advisories: fail}`` through ``apply`` on pyinfra's @fake hosts.

A host whose engine does not run yet (so its layers cannot be judged when
planned) is installed by the engine deploy, then its layers are read again on
the host before any container is changed: still affected, its containers are
left alone and the host fails; clean (here: the findings allowed), its
containers are applied.  The recorded layers are those of a lab host
(tests/engine/data/layers/lab-docker-io.txt: Debian bookworm's runc).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from test_apply_fake import (  # tests/cli is on sys.path (pytest's prepend import mode)
    EMPTY_DOC,
    NO_ENGINE_DOC,
    container_commands,
    fake_host,
)

from fleetform.cli import main

LAYERS = (
    (Path(__file__).resolve().parents[1] / "engine" / "data" / "layers")
    .joinpath("lab-docker-io.txt")
    .read_text()
)
#: the layers script alone: it reads containerd-shim-runc-v2, and has no Docker state
#: part (the first observation command, with the policy, has both)
LAYERS_KEY = re.compile(r"\A(?![\s\S]*' docker\n)[\s\S]*command -v containerd-shim-runc-v2")

STACK = """\
version: 1
name: fftest
engine:
  policy:
    advisories: fail
    min_severity: high
{allow}
services:
  app:
    image: registry.lab:5000/fleetform/busybox:1
    command: [sleep, "1000"]
"""
ALLOW = "    allow: [CVE-2025-31133, CVE-2025-52565, CVE-2025-52881]"


def _host() -> dict[str, Any]:
    host = fake_host("debian-systemd-fresh", NO_ENGINE_DOC, EMPTY_DOC)
    responses = host["fake_responses"]
    # first: the Docker state part's marker is a prefix of the layers' docker-version
    host["fake_responses"] = {LAYERS_KEY: LAYERS, **responses}
    return host


def _apply(tmp_path: Path, sessions: list[Any], capsys: Any, stack: str) -> tuple[int, Any, Any]:
    inventory = tmp_path / "inventory.py"
    inventory.write_text(f"import re\nfleet = {[('@fake/pending', _host())]!r}\n")
    path = tmp_path / "fftest.yml"
    path.write_text(stack)
    code = main(["apply", "-i", str(inventory), str(path), "--yes", "--json"])
    doc = json.loads(capsys.readouterr().out)
    (session,) = sessions
    (h,) = session.loaded.hosts
    (result,) = doc["hosts"]
    return code, doc, (result, list(h.connector.executed_commands))


def test_a_host_still_affected_after_the_engine_deploy_gets_no_container(
    tmp_path: Path, sessions: list[Any], capsys: Any
) -> None:
    code, doc, (result, commands) = _apply(tmp_path, sessions, capsys, STACK.format(allow=""))
    assert code == 1
    (planned,) = doc["plan"]["hosts"]
    assert planned["errors"] == []  # the engine was not running: judged after its deploy
    assert any("checked again after the engine changes" in w for w in planned["warnings"])
    assert any("apt-get" in c and "install" in c for c in commands)  # the engine deploy ran
    assert result["ok"] is False
    (refusal,) = [c for c in commands if "fleetform: engine.policy" in c]
    assert "after the engine deploy the engine is still affected by CVE-2025-31133" in refusal
    assert container_commands(commands) == []


def test_a_host_clean_after_the_engine_deploy_gets_its_containers(
    tmp_path: Path, sessions: list[Any], capsys: Any
) -> None:
    code, _, (result, commands) = _apply(tmp_path, sessions, capsys, STACK.format(allow=ALLOW))
    assert result["ok"] is True, [c for c in commands if c.startswith("echo 'fleetform")]
    assert code == 0
    assert any("docker create" in c for c in commands)
