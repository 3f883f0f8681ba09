"""``fleetform apply`` end to end on pyinfra's @fake hosts with recorded observations.

Each fake host answers fleetform's observation with recorded engine facts and
a Docker state document, and the re-observation after the engine deploy with
another one; the test then reads which commands were run on each host.

- A host planned while its dockerd did not answer, or whose dockerd the engine
  deploy restarts, is observed again; its new plan runs only if every action
  in it is of a kind shown for that host.  Otherwise the host fails with the
  new plan, and no container command runs there.
- A host reported as an error (here: Docker state unreadable) gets no engine
  change at all.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fleetform.cli import main
from fleetform.engine.changes import engine_changes
from fleetform.engine.settings import EngineSettings
from fleetform.engine.state import FACT_SCRIPT, parse_engine_state
from fleetform.observe.sections import MARK, RC, section

ROOT = Path(__file__).resolve().parents[1]
ENGINE_FACTS = ROOT / "engine" / "data"
RECORDED_DOC = (ROOT / "data" / "inspect" / "observe.json").read_text()
EMPTY_DOC = json.dumps({"fleetform_observe": 1, "server_version": "20.10.24", "containers": []})
NO_ENGINE_DOC = json.dumps(
    {"fleetform_observe": 1, "engine": "missing", "error": "docker is not installed"}
)
BROKEN_DOC = json.dumps({"fleetform_observe": 1, "error": "permission denied on the socket"})

# The stack owns the recorded containers (stack fftest) and changes daemon.json.
STACK = """\
version: 1
name: fftest
engine:
  daemon:
    log-driver: json-file
services:
  app:
    image: registry.lab:5000/fleetform/busybox:1
    command: [sleep, "1000"]
"""

# the marker of the Docker state part: only fleetform's one observation command has it
DOCKER_PART = section("docker", "").splitlines()[0]
FACT_START = FACT_SCRIPT.splitlines()[0]
# the first line of the revision recording's host script (fleetform.revisions.host)
REVISIONS_PART = section("key", "").splitlines()[0]
DIGEST_KEY_HEX = "ab" * 32
REFUSED = (
    "after the engine deploy, the new plan of this host has actions that were not shown (remove)"
)


def section_output(name: str, text: str, rc: int = 0) -> str:
    """What one part of a sectioned host script prints."""
    return f"\n{MARK}{name}\n{text}\n\n{RC}{rc}\n"


def fake_host(engine_fact: str, first_doc: str, later_doc: str) -> dict[str, Any]:
    engine = (ENGINE_FACTS / f"{engine_fact}.txt").read_text()
    return {
        "fake_delay": 0,
        "fake_delay_jitter": 0,
        # the first match wins: fleetform's one observation command, the engine
        # deploy's fact, the containers operation's re-observation
        "fake_responses": {
            # the deploy lock is free (fleetform.runlog.lock.acquire_script)
            "echo acquired ": "acquired fftest",
            DOCKER_PART: f"{engine.rstrip()}\n{section_output('docker', first_doc)}",
            FACT_START: engine,
            "[ -S /var/run/docker.sock ]": later_doc,
            # the revision recording: a digest key, no revision yet
            REVISIONS_PART: section_output("key", DIGEST_KEY_HEX),
            # fleetform's failing_command: the fake connector would report success
            re.compile(r"\Aecho 'fleetform: .*' >&2; exit 1\Z", re.S): {
                "success": False,
                "stderr": "refused",
            },
        },
    }


def apply(
    tmp_path: Path,
    hosts: dict[str, dict[str, Any]],
    sessions: list[Any],
    capsys: Any,
    stack_text: str = STACK,
):
    inventory = tmp_path / "inventory.py"
    names_data = [(f"@fake/{name}", data) for name, data in hosts.items()]
    inventory.write_text(f"import re\nfleet = {names_data!r}\n")
    stack = tmp_path / "fftest.yml"
    stack.write_text(stack_text)
    code = main(["apply", "-i", str(inventory), str(stack), "--yes", "--json"])
    doc = json.loads(capsys.readouterr().out)
    (session,) = sessions
    commands = {
        h.name.removeprefix("@fake/"): list(h.connector.executed_commands)
        for h in session.loaded.hosts
    }
    return code, {h["host"].removeprefix("@fake/"): h for h in doc["hosts"]}, commands


def container_commands(commands: list[str]) -> list[str]:
    return [c for c in commands if "docker create" in c or "docker rm" in c]


def test_a_replan_with_actions_the_user_never_saw_fails_the_host_and_shows_the_new_plan(
    tmp_path: Path, sessions: list[Any], capsys: Any
) -> None:
    hosts = {
        # dockerd not installed when planned: planned as empty (creates only)
        "pending": fake_host("debian-systemd-fresh", NO_ENGINE_DOC, RECORDED_DOC),
        # dockerd restarted by the daemon.json change; containers seen differently after
        "restarted": fake_host("debian-systemd-running", EMPTY_DOC, RECORDED_DOC),
        # restarted too, but the new plan is the one shown: it runs
        "same": fake_host("debian-systemd-running", EMPTY_DOC, EMPTY_DOC),
    }
    code, result, commands = apply(tmp_path, hosts, sessions, capsys)
    assert code == 1
    for name in ("pending", "restarted"):
        assert result[name]["ok"] is False
        (refusal,) = [c for c in commands[name] if REFUSED in c]
        assert "- remove container fftest-web-1" in refusal  # the new plan, shown
        assert "+ create container fftest-app-1" in refusal
        assert container_commands(commands[name]) == []  # nothing unseen was done
    assert result["same"]["ok"] is True, result["same"]
    assert any("docker create" in c for c in commands["same"])
    assert not any(REFUSED in c for c in commands["same"])


def test_a_host_reported_as_an_error_gets_no_engine_change(
    tmp_path: Path, sessions: list[Any], capsys: Any
) -> None:
    hosts = {
        "broken": fake_host("debian-systemd-running", BROKEN_DOC, BROKEN_DOC),
        "fine": fake_host("debian-systemd-running", EMPTY_DOC, EMPTY_DOC),
    }
    code, result, commands = apply(tmp_path, hosts, sessions, capsys)
    assert code == 1
    assert result["broken"]["ok"] is False
    assert "permission denied on the socket" in result["broken"]["error"]
    # only the observation ran there (between taking and releasing the deploy
    # lock): no daemon.json rewrite, no dockerd restart
    ran = [c for c in commands["broken"] if "flock -w" not in c]
    assert len(ran) == 1 and DOCKER_PART in ran[0]
    assert len(commands["broken"]) == 3
    assert result["broken"]["changed_steps"] == 0
    assert any("systemctl restart docker.service" in c for c in commands["fine"])
    assert result["fine"]["ok"] is True


def test_the_restart_wording_of_engine_changes_is_what_apply_looks_for() -> None:
    from fleetform.commands.converge import restarts_dockerd

    running = parse_engine_state(
        (ENGINE_FACTS / "debian-systemd-running.txt").read_text().split("\n")
    )
    fresh = parse_engine_state((ENGINE_FACTS / "debian-systemd-fresh.txt").read_text().split("\n"))
    daemon = EngineSettings(daemon_json='{"log-driver":"json-file"}')
    assert restarts_dockerd(engine_changes(daemon, running))
    assert not restarts_dockerd(engine_changes(daemon, fresh))  # written before the install
    assert not restarts_dockerd(engine_changes(EngineSettings(), running))


def test_apply_reads_a_host_once_and_the_engine_deploy_runs_against_that_reading(
    tmp_path: Path, sessions: list[Any], capsys: Any
) -> None:
    # the engine is as the stack wants it: no engine change, one container to create
    hosts = {"one": fake_host("debian-systemd-running", EMPTY_DOC, EMPTY_DOC)}
    no_engine_change = STACK.replace("engine:\n  daemon:\n    log-driver: json-file\n", "")
    code, result, commands = apply(tmp_path, hosts, sessions, capsys, no_engine_change)
    assert code == 0, result
    assert any("docker create" in c for c in commands["one"])
    reads = [c for c in commands["one"] if c.startswith(FACT_START)]
    # the one observation (engine and Docker state together), never a second gathering
    assert len(reads) == 1 and DOCKER_PART in reads[0]
