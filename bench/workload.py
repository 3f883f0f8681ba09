"""The containers every tool converges: the same specs, written in each tool's language.

Each tool gets its own container names (prefix) so the tools never collide
on a host.  A container is a busybox ``sleep`` with two env vars and two
labels; ``stop_signal`` is KILL so that a recreate does not wait out sleep's
ignored SIGTERM (10 s) for any tool.

    >>> specs = containers("ansible", 2)
    >>> specs[1].name, specs[1].env
    ('ban-c002', (('BENCH_INDEX', '2'), ('BENCH_VALUE', 'a')))
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

IMAGE = "registry.lab:5000/fleetform/busybox:1"
COMMAND = ("sleep", "1000000")
STOP_SIGNAL = "KILL"
#: Every container the bench creates carries this label (value: the tool);
#: cleanup removes only containers with it.
LABEL_BENCH = "bench.tool"
#: The fleetform stack name; its containers are ``<stack>-<service>-1``.
FLEETFORM_STACK = "benchff"
TOOLS = ("fleetform", "ansible", "pyinfra")
_NAME_FORMAT = {
    "fleetform": FLEETFORM_STACK + "-{}-1",
    "ansible": "ban-{}",
    "pyinfra": "bpy-{}",
}


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    service: str  # the fleetform service name (the name without the prefix)
    env: tuple[tuple[str, str], ...]
    labels: tuple[tuple[str, str], ...]


def containers(tool: str, n: int, changed: int = 0, value: str = "a") -> list[ContainerSpec]:
    """``n`` container specs for ``tool``; container ``changed`` (1-based) gets ``value``."""
    name_format = _NAME_FORMAT[tool]
    specs = []
    for i in range(1, n + 1):
        service = f"c{i:03d}"
        env = (("BENCH_INDEX", str(i)), ("BENCH_VALUE", value if i == changed else "a"))
        labels = ((LABEL_BENCH, tool), ("bench.index", str(i)))
        specs.append(ContainerSpec(name_format.format(service), service, env, labels))
    return specs


# --- fleetform -----------------------------------------------------------------
def fleetform_stack(specs: list[ContainerSpec]) -> dict[str, object]:
    """A stack file (as data) with one service per container."""
    return {
        "version": 1,
        "name": FLEETFORM_STACK,
        "services": {
            s.service: {
                "image": IMAGE,
                "command": list(COMMAND),
                "environment": dict(s.env),
                "labels": dict(s.labels),
                "stop_signal": f"SIG{STOP_SIGNAL}",
            }
            for s in specs
        },
    }


def engine_stack() -> dict[str, object]:
    """An engine-only stack: install and start Debian's docker.io, nothing else."""
    return {"version": 1, "name": "benchengine", "engine": {"source": "distro"}}


# --- Ansible -------------------------------------------------------------------
def ansible_playbook(specs: list[ContainerSpec]) -> list[dict[str, object]]:
    """One play, one docker_container task looping over the containers."""
    return [
        {
            "name": "bench containers",
            "hosts": "all",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "container",
                    "community.docker.docker_container": {
                        "name": "{{ item.name }}",
                        "image": IMAGE,
                        "command": list(COMMAND),
                        "env": "{{ item.env }}",
                        "labels": "{{ item.labels }}",
                        "stop_signal": STOP_SIGNAL,
                        "state": "started",
                    },
                    "loop": [
                        {"name": s.name, "env": dict(s.env), "labels": dict(s.labels)}
                        for s in specs
                    ],
                    "loop_control": {"label": "{{ item.name }}"},
                }
            ],
        }
    ]


# --- pyinfra -------------------------------------------------------------------
PYINFRA_DEPLOY = '''\
"""Bench deploy: pyinfra's own docker.container, one operation per container."""

import json
import os

from pyinfra.operations import docker

with open(os.environ["BENCH_PYINFRA_SPECS"]) as f:
    SPECS = json.load(f)

for spec in SPECS:
    docker.container(
        name=f"container {spec['name']}",
        container=spec["name"],
        image=spec["image"],
        command=spec["command"],
        env_vars=spec["env_vars"],
        labels=spec["labels"],
        extra_args=["--stop-signal", spec["stop_signal"]],
        present=True,
        start=True,
    )
'''


def pyinfra_specs(specs: list[ContainerSpec]) -> list[dict[str, object]]:
    return [
        {
            "name": s.name,
            "image": IMAGE,
            "command": " ".join(COMMAND),
            "env_vars": [f"{k}={v}" for k, v in s.env],
            "labels": [f"{k}={v}" for k, v in s.labels],
            "stop_signal": STOP_SIGNAL,
        }
        for s in specs
    ]


def write_json(path: Path, data: object) -> Path:
    """Write ``data`` as JSON (also valid YAML, so it serves playbooks and stacks)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path
