"""Reading and cleaning lab hosts from outside, with the docker CLI inside them."""

from __future__ import annotations

import subprocess

from fleetform.lab.config import LabConfig


def lab_host(index: int) -> str:
    """Name of lab host ``index`` (1-based) of the lab ``FLEETFORM_LAB_NAME`` names."""
    return LabConfig.from_env().host_name(index)


def sh(host: str, command: str, check: bool = True, timeout: int = 300) -> str:
    """Run ``command`` in lab host ``host`` (``docker exec``); stdout, stripped."""
    proc = subprocess.run(
        ["docker", "exec", host, "sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{host}: {command}: {proc.stderr}")
    return proc.stdout.strip()


def remove_stack(host: str, stack: str, extra: str = "") -> None:
    """Remove the containers and networks labelled with ``stack`` (and run ``extra``)."""
    label = f"label=fleetform.stack={stack}"
    sh(
        host,
        f"docker rm -f $(docker ps -aq --filter {label}) 2>/dev/null; "
        f"docker network rm $(docker network ls -q --filter {label}) 2>/dev/null; "
        # `extra or ":"`: an empty command between two `;` is a shell syntax
        # error, which made the whole cleanup a silent no-op.
        f"{extra or ':'}; true",
        check=False,
    )
