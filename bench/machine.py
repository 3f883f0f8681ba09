"""The machine and the tool versions a run was measured on."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

from bench.paths import REPO


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    os_name = "unknown"
    release = Path("/etc/os-release")
    if release.exists():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count() or 0),
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "OS": os_name,
        "Python (fleetform, pyinfra)": platform.python_version(),
        "load average at start (1/5/15 min)": load_average(),
    }


def load_average() -> str:
    """Other work on the machine slows every tool; the report shows how busy it was."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def local_versions() -> dict[str, str]:
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    versions = {"fleetform": importlib.metadata.version("fleetform")}
    if commit:
        versions["fleetform"] += f" (git {commit})"
    for dist in ("pyinfra", "paramiko"):
        versions[dist] = importlib.metadata.version(dist)
    return versions
