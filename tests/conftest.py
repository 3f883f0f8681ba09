"""Shared fixtures.  ``lab``: the running lab for end-to-end tests (owned by the lab code).

    def test_something(lab):
        assert lab.run("lab-1", "true").returncode == 0
        lab.hosts, lab.ssh.known_hosts_file, lab.ca_pem, lab.cfg.name

``lab up`` runs once per session (fast when the lab is already up) and never
removes hosts other sessions may be using.  ``FLEETFORM_LAB_HOSTS`` asks for
more hosts (default 3).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fleetform.lab import RunningLab, ensure_lab

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def lab() -> RunningLab:
    return ensure_lab(int(os.environ.get("FLEETFORM_LAB_HOSTS", "3")))


@pytest.fixture(scope="session")
def lab_inventory(lab: RunningLab) -> Path:
    """inventory/lab.py, the pyinfra inventory of the running lab."""
    return ROOT / "inventory" / "lab.py"
