"""Reaching lab hosts with the OpenSSH client, host key checking on.

>>> cfg = LabConfig.for_name("lab")
>>> ssh_argv(cfg, "10.213.0.11", "true")[-2:]
['root@10.213.0.11', 'true']
"""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fleetform.lab.config import LabConfig


@dataclass(frozen=True)
class SshConfig:
    """What a client needs to log in to the lab hosts."""

    user: str
    key_file: Path
    known_hosts_file: Path


def ssh_config(cfg: LabConfig) -> SshConfig:
    return SshConfig("root", cfg.ssh_key, cfg.known_hosts)


def ssh_argv(cfg: LabConfig, address: str, command: str, timeout: int = 3) -> list[str]:
    return [
        "ssh",
        "-i", str(cfg.ssh_key),
        "-o", "IdentitiesOnly=yes",
        "-o", f"UserKnownHostsFile={cfg.known_hosts}",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes",
        "-o", f"ConnectTimeout={timeout}",
        "-o", "LogLevel=ERROR",
        f"root@{address}",
        command,
    ]  # fmt: skip


def run_ssh(cfg: LabConfig, address: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ssh_argv(cfg, address, command), capture_output=True, text=True, check=False, timeout=60
    )


def answers(cfg: LabConfig, address: str) -> str | None:
    """None when the host accepts the lab key over SSH, else why not."""
    try:
        proc = run_ssh(cfg, address, "true")
    except subprocess.TimeoutExpired:
        return "timed out"
    return None if proc.returncode == 0 else (proc.stderr.strip() or f"exit {proc.returncode}")


def wait_ssh(cfg: LabConfig, addresses: list[str], timeout: float = 60.0) -> dict[str, str]:
    """Wait until every address answers; return {address: last error} of those that did not."""

    def wait_one(address: str) -> str | None:
        deadline = time.monotonic() + timeout
        while True:
            error = answers(cfg, address)
            if error is None or time.monotonic() > deadline:
                return error
            time.sleep(0.3)

    with ThreadPoolExecutor(max_workers=max(1, len(addresses))) as pool:
        results = dict(zip(addresses, pool.map(wait_one, addresses), strict=True))
    return {a: e for a, e in results.items() if e is not None}
