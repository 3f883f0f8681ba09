"""Several files, one stack (Compose's merge rules, `compose.override.yaml`, `-f`), and
Compose profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetform.cli import main
from fleetform.model import Port
from fleetform.stackfile import load_stacks
from fleetform.stackfile.merge import merge_documents

from .helpers import messages, write

BASE = """
services:
  web:
    image: x:1
    command: [serve]
    environment: [A=1, B=2]
    labels: {team: web}
    ports: ["8080:80"]
    volumes: ["data:/data", "/srv/a:/a"]
    depends_on: [db]
    healthcheck: {test: [CMD, check], interval: 10s}
    cap_add: [NET_ADMIN]
  db: {image: db:1}
  debug: {image: x:1, profiles: [debug]}
volumes: {data: {}}
"""


def test_compose_merge_rules() -> None:
    base = {
        "services": {"web": {"command": ["a", "b"], "environment": ["A=1"], "dns": ["1.1.1.1"]}}
    }
    over = {"services": {"web": {"command": ["c"], "environment": ["B=2"], "dns": ["8.8.8.8"]}}}
    assert merge_documents(base, over) == {
        "services": {
            "web": {
                "command": ["c"],
                "environment": {"A": "1", "B": "2"},
                "dns": ["1.1.1.1", "8.8.8.8"],
            }
        }
    }
    # Mounts merge by container path, a later file's entry wins.
    assert merge_documents(
        {"services": {"w": {"volumes": ["a:/x", "b:/y"]}}},
        {"services": {"w": {"volumes": ["c:/x"]}}},
    ) == {"services": {"w": {"volumes": ["c:/x", "b:/y"]}}}
    # A healthcheck merges by key; its `test` is replaced whole.
    assert merge_documents(
        {"services": {"w": {"healthcheck": {"test": ["CMD", "a", "b"], "retries": 3}}}},
        {"services": {"w": {"healthcheck": {"test": ["CMD", "c"]}}}},
    ) == {"services": {"w": {"healthcheck": {"test": ["CMD", "c"], "retries": 3}}}}


def test_compose_override_yaml_is_read_beside_compose_yaml(tmp_path: Path) -> None:
    base = write(tmp_path, BASE, "compose.yaml")
    write(
        tmp_path,
        "services:\n  web:\n    image: x:2\n    command: [serve, --dev]\n"
        "    environment: {B: '3'}\n    ports: ['8081:81']\n    cap_add: [SYS_TIME]\n",
        "compose.override.yaml",
    )
    notices: list = []
    (stack,) = load_stacks([base], notices=notices)
    web = stack.service("web")
    assert web.image == "x:2"
    assert web.command == ("serve", "--dev")
    assert dict(web.environment) == {"A": "1", "B": "3"}
    assert web.ports == (Port(80, 8080), Port(81, 8081))
    assert web.cap_add == ("NET_ADMIN", "SYS_TIME")
    assert [m.target for m in web.volumes] == ["/a", "/data"]
    assert stack.sources == (base, tmp_path / "compose.override.yaml")
    assert stack.source == base  # the stack's identity stays its first file
    assert [n.message for n in notices] == [
        "read with compose.yaml and merged into it, as `docker compose` does"
    ]


def test_several_files_name_the_file_and_line_of_each_problem(tmp_path: Path) -> None:
    base = write(tmp_path, BASE, "base.yml")
    prod = write(
        tmp_path, "services:\n  db: {bogus: 1}\n  web:\n    deploy: {replicas: 2}\n", "prod.yml"
    )
    problems = load_problems([[base, prod]])
    # Each problem names the file that set the value: the ports are base.yml's.
    assert problems == [
        f"{base}:8:13 services.web.ports[0]: 2 replicas on one host cannot all publish host "
        "port 8080/tcp; leave the host port out, give a range with a port for each replica, "
        "or use 1 replica",
        f"{prod}:2:8 services.db.bogus: unknown key `bogus`",
    ]


def load_problems(paths: list) -> list[str]:
    from fleetform.stackfile import StackFileError

    try:
        load_stacks(paths)
    except StackFileError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_profiles_choose_services_and_a_dependency_on_an_inactive_one_is_named(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, BASE, "base.yml")
    (plain,) = load_stacks([path])
    assert [s.name for s in plain.services] == ["db", "web"]
    assert plain.inactive_services == ("debug",)
    (debug,) = load_stacks([path], profiles=["debug"])
    assert [s.name for s in debug.services] == ["db", "debug", "web"]
    (every,) = load_stacks([path], profiles=["*"])
    assert every.inactive_services == ()
    needs = write(
        tmp_path,
        "services:\n  web: {image: x, depends_on: [tools]}\n"
        "  tools: {image: x, profiles: [ops, debug]}\n",
        "needs.yml",
    )
    assert messages(needs) == [
        "services.web.depends_on.tools: `tools` runs only with profile ops, debug, which is not "
        "active; add `--profile ops`"
    ]


def test_the_cli_takes_f_files_as_one_stack_and_profile(tmp_path: Path, capsys) -> None:
    base = write(tmp_path, BASE, "base.yml")
    prod = write(tmp_path, "services:\n  web: {image: x:9}\n", "prod.yml")
    assert main(["config", "-f", str(base), "-f", str(prod), "--profile", "debug"]) == 0
    out = capsys.readouterr().out
    assert "image: x:9" in out and "debug:" in out
    with pytest.raises(SystemExit) as exit_:
        main(["validate"])
    assert exit_.value.code == 2
    assert "give at least one stack file (STACK, or -f FILE)" in capsys.readouterr().err
