"""Ansible on the control machine, installed by the harness from PyPI.

The ``ansible`` package bundles community.docker; ansible-core >= 2.18 needs
Python >= 3.12 on the control node, which pyenv provides on these machines.
It lives in its own venv (``bench/.work/ansible-venv``) so it never touches
fleetform's dependencies.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.paths import WORK

PYTHON312 = Path(os.environ.get("BENCH_PYTHON312", "/root/.pyenv/versions/3.12.1/bin/python3.12"))
ANSIBLE_SPEC = "ansible>=14,<15"
VENV = WORK / "ansible-venv"
_MARKER = VENV / ".bench-installed"


@dataclass(frozen=True)
class AnsibleInstall:
    venv: Path
    seconds: float  # install time; 0.0 when the venv was already there
    ansible_version: str  # the `ansible` package (the bundle)
    core_version: str
    community_docker_version: str

    @property
    def playbook(self) -> Path:
        return self.venv / "bin" / "ansible-playbook"


class SetupError(Exception):
    """A tool could not be installed; the message says what to do."""


def ensure_ansible() -> AnsibleInstall:
    """Create the venv and install Ansible unless a finished install is there."""
    t0 = time.monotonic()
    installed_now = False
    if not _MARKER.exists():
        if not PYTHON312.exists():
            raise SetupError(
                f"{PYTHON312} not found: Ansible needs Python >= 3.12 "
                "(set BENCH_PYTHON312 to another interpreter)"
            )
        WORK.mkdir(parents=True, exist_ok=True)
        _run([str(PYTHON312), "-m", "venv", "--clear", str(VENV)])
        _run([str(VENV / "bin/pip"), "install", "-q", "--disable-pip-version-check", ANSIBLE_SPEC])
        _MARKER.write_text(ANSIBLE_SPEC + "\n")
        installed_now = True
    seconds = time.monotonic() - t0 if installed_now else 0.0
    return AnsibleInstall(VENV, seconds, *_versions())


def _versions() -> tuple[str, str, str]:
    py = str(VENV / "bin/python")
    code = (
        "import json, importlib.metadata as m, ansible.release as r, pathlib, ansible_collections\n"
        "p = pathlib.Path(ansible_collections.__path__[0]) / 'community/docker/MANIFEST.json'\n"
        "print(json.dumps([m.version('ansible'), r.__version__,"
        " json.loads(p.read_text())['collection_info']['version']]))"
    )
    out = _run([py, "-c", code])
    bundle, core, docker = json.loads(out)
    return str(bundle), str(core), str(docker)


def _run(argv: list[str]) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SetupError(f"{' '.join(argv[:3])} failed:\n{proc.stderr.strip()[-2000:]}")
    return proc.stdout
