"""End to end: lab up repairs, grows and shrinks a lab, and lab down leaves nothing behind.

Runs on its own lab (``FLEETFORM_LAB_NAME=labt``: containers labt-N, network
fleetform-labt, its own subnet and state dir), so the shared lab other
engineers' tests use is never touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fleetform.lab.config import LabConfig
from fleetform.lab.ssh import answers

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
NAME = "labt"
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("labt") / "state"


@pytest.fixture(scope="module")
def cfg(state_dir: Path) -> LabConfig:
    return LabConfig.for_name(NAME, state_dir)


@pytest.fixture(scope="module")
def lab_cli(state_dir: Path) -> Iterator[Run]:
    env = {**os.environ, "FLEETFORM_LAB_NAME": NAME, "FLEETFORM_LAB_DIR": str(state_dir)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "fleetform.cli", "lab", *args],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr + proc.stdout
        return proc

    yield run
    run("down")  # whatever happened, the test lab goes away


def labelled(kind: str) -> list[str]:
    """Names of containers/volumes/networks labelled as the test lab's."""
    if kind == "container":
        argv = ["docker", "ps", "-a", "--format", "{{.Names}}"]
    else:
        argv = ["docker", kind, "ls", "--format", "{{.Name}}"]
    argv += ["--filter", f"label=fleetform.lab.name={NAME}"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return sorted(out.split())


def container_ids(*names: str) -> list[str]:
    return [
        subprocess.run(
            ["docker", "inspect", "-f", "{{.Id}}", n], capture_output=True, text=True, check=True
        ).stdout.strip()
        for n in names
    ]


def status(lab_cli: Run) -> list[dict[str, object]]:
    return list(json.loads(lab_cli("status", "--json").stdout))


def test_up_creates_the_hosts_and_a_second_up_changes_nothing_quickly(
    lab_cli: Run, cfg: LabConfig
) -> None:
    lab_cli("up", "--hosts", "2")
    before = container_ids("labt-1", "labt-2", "labt-registry")
    start = time.monotonic()
    lab_cli("up", "--hosts", "2")
    assert time.monotonic() - start < 5
    assert container_ids("labt-1", "labt-2", "labt-registry") == before
    assert [h["name"] for h in status(lab_cli)] == ["labt-1", "labt-2"]
    assert all(answers(cfg, cfg.host_address(i)) is None for i in (1, 2))
    assert labelled("network") == ["fleetform-labt"]
    assert labelled("volume") == ["labt-1-docker", "labt-2-docker", "labt-registry-data"]


def test_a_stopped_lab_is_started_again_as_after_a_machine_restart(
    lab_cli: Run, cfg: LabConfig
) -> None:
    lab_cli("up", "--hosts", "2")
    before = container_ids("labt-1", "labt-2", "labt-registry")
    subprocess.run(["docker", "stop", "-t", "2", *before], check=True, capture_output=True)
    assert {h["state"] for h in status(lab_cli)} == {"exited"}
    out = lab_cli("up", "--hosts", "2").stderr
    assert "starting labt-1 (it was exited)" in out
    assert container_ids("labt-1", "labt-2", "labt-registry") == before
    assert {h["state"] for h in status(lab_cli)} == {"running"}
    assert all(answers(cfg, cfg.host_address(i)) is None for i in (1, 2))


def test_a_removed_host_comes_back_with_the_same_host_key(lab_cli: Run, cfg: LabConfig) -> None:
    lab_cli("up", "--hosts", "2")
    known_hosts = cfg.known_hosts.read_text()
    subprocess.run(["docker", "rm", "-f", "labt-2"], check=True, capture_output=True)
    assert "creating labt-2" in lab_cli("up", "--hosts", "2").stderr
    assert cfg.known_hosts.read_text() == known_hosts
    assert answers(cfg, cfg.host_address(2)) is None


def test_a_larger_count_adds_hosts_and_a_smaller_one_removes_them(
    lab_cli: Run, cfg: LabConfig
) -> None:
    lab_cli("up", "--hosts", "3")
    assert [h["name"] for h in status(lab_cli)] == ["labt-1", "labt-2", "labt-3"]
    assert status(lab_cli)[-1]["groups"] == ["web", "db"]
    lab_cli("up", "--hosts", "1")
    assert [h["name"] for h in status(lab_cli)] == ["labt-1"]
    assert status(lab_cli)[0]["groups"] == ["web", "db"]
    assert "labt-2-docker" not in labelled("volume")
    assert len(cfg.known_hosts.read_text().splitlines()) == 1


def test_down_removes_every_labelled_object_and_the_keys_but_keeps_images(
    lab_cli: Run, cfg: LabConfig
) -> None:
    lab_cli("up", "--hosts", "1")
    out = lab_cli("down").stdout
    assert "kept the cached images" in out
    assert labelled("container") == labelled("volume") == labelled("network") == []
    assert not cfg.state_dir.exists()
    images = subprocess.run(
        ["docker", "image", "ls", "-q", "fleetform-lab/debian"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert images.strip()
    assert status(lab_cli) == []
