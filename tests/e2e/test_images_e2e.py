"""End to end: images built on a host from an uploaded context, and loaded from an archive.

The archive scenario is an air-gapped host's: the image `airgap/demo:7`
exists nowhere but in a `docker save` tar on the control machine, and the
stack says `pull: never`.  Assertions read the hosts' real state with the
docker CLI inside the lab hosts (``docker exec lab-N docker ...``).

Everything made here is ours by label (stack `imgt`) or by tag (`imgt/*`,
`airgap/demo:7`), and only that is removed, before and after.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .onhost import remove_stack, sh

pytestmark = pytest.mark.e2e

STACK = "imgt"
BUSYBOX = "registry.lab:5000/fleetform/busybox:1"
BUILT = "imgt/built:1"
INLINE = "imgt/inline:1"
AIRGAP = "airgap/demo:7"
REMOTE_ROOT = "/var/lib/fleetform"


def cleanup(hosts: list[str]) -> None:
    """Remove our containers, networks, images and uploads; nothing else."""
    for host in hosts:
        remove_stack(
            host,
            STACK,
            f"docker image rm {BUILT} {INLINE} {AIRGAP} 2>/dev/null; "
            f"rm -rf {REMOTE_ROOT}/build/imgt_built_1 {REMOTE_ROOT}/build/imgt_inline_1 "
            f"{REMOTE_ROOT}/images/demo7.tar "
            "/tmp/imgt-demo7.tar /tmp/imgt-airgap",
        )


@pytest.fixture(scope="module")
def hosts(lab: Any) -> list[str]:
    names = [h.name for h in lab.hosts][:2]
    assert len(names) == 2, "the image scenarios need lab-1 and lab-2"
    return names


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, hosts: list[str]) -> Iterator[Path]:
    """The stack files' folder, with a build context and the archive next to them."""
    cleanup(hosts)  # an interrupted run may have left our objects behind
    path = tmp_path_factory.mktemp("imgt")
    ctx = path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f'FROM {BUSYBOX}\nCOPY . /srv/ctx/\nCMD ["sleep", "100000"]\n')
    (ctx / "hello.txt").write_text("built from an uploaded context\n")
    (ctx / "run.sh").write_text("#!/bin/sh\necho run\n")
    (ctx / "run.sh").chmod(0o755)
    (ctx / "current.txt").symlink_to("hello.txt")
    yield path
    cleanup(hosts)


def built_service() -> dict[str, Any]:
    return {"image": BUILT, "build": "./ctx", "stop_grace_period": "1s"}


def write_stack(folder: Path, services: dict[str, Any]) -> Path:
    path = folder / "imgt.yml"
    doc = {"version": 1, "name": STACK, "services": services}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def apply_and_replan(fleetform: Any, path: Path, target: str) -> str:
    args = ("-i", "inventory/lab.py", str(path), "--limit", target)
    result = fleetform("apply", *args, "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    again = fleetform("plan", *args, "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes" in again.stdout
    return str(result.stdout)


def test_a_build_context_is_uploaded_and_built_on_the_host(
    fleetform: Any, folder: Path, hosts: list[str]
) -> None:
    target = hosts[1]
    path = write_stack(folder, {"built": built_service()})
    plan = fleetform("plan", "-i", "inventory/lab.py", str(path), "--limit", target)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert f"+ build image {BUILT}" in plan.stdout

    apply_and_replan(fleetform, path, target)

    name = f"{STACK}-built-1"
    assert sh(target, f"docker inspect -f '{{{{.State.Status}}}}' {name}") == "running"
    assert sh(target, f"docker inspect -f '{{{{.Config.Image}}}}' {name}") == BUILT
    inside = f"docker exec {name}"
    assert sh(target, f"{inside} cat /srv/ctx/hello.txt") == "built from an uploaded context"
    assert sh(target, f"{inside} /srv/ctx/run.sh") == "run"  # the mode survived the upload
    assert sh(target, f"{inside} readlink /srv/ctx/current.txt") == "hello.txt"


def test_an_inline_dockerfile_labels_and_extra_hosts_reach_the_build(
    fleetform: Any, folder: Path, hosts: list[str]
) -> None:
    target = hosts[1]
    inline = {
        "image": INLINE,
        "build": {
            "context": "./ctx",
            # RUN sees the extra host only if --add-host reached the build
            "dockerfile_inline": f"FROM {BUSYBOX}\nRUN grep -q mirror.build /etc/hosts\n"
            'CMD ["sleep", "100000"]\n',
            "labels": {"org.example.team": "ops"},
            "extra_hosts": ["mirror.build:10.0.0.9"],
        },
        "stop_grace_period": "1s",
    }
    path = write_stack(folder, {"inline": inline})
    apply_and_replan(fleetform, path, target)
    label = sh(
        target,
        f"docker image inspect -f '{{{{index .Config.Labels \"org.example.team\"}}}}' {INLINE}",
    )
    assert label == "ops"
    assert sh(target, f"docker inspect -f '{{{{.State.Status}}}}' {STACK}-inline-1") == "running"


def test_an_archive_loads_an_image_no_registry_has_on_an_air_gapped_host(
    fleetform: Any, folder: Path, hosts: list[str]
) -> None:
    maker, target = hosts
    # Make an image that exists nowhere else, save it, and bring the tar here.
    sh(
        maker,
        "mkdir -p /tmp/imgt-airgap && cd /tmp/imgt-airgap && "
        "echo 'loaded from an archive' > note.txt && "
        f'printf \'FROM {BUSYBOX}\\nCOPY note.txt /note.txt\\nCMD ["sleep", "100000"]\\n\''
        " > Dockerfile && "
        f"docker build -q -t {AIRGAP} . >/dev/null && "
        f"docker save {AIRGAP} -o /tmp/imgt-demo7.tar && docker image rm {AIRGAP} >/dev/null",
    )
    archive = folder / "demo7.tar"
    copied = subprocess.run(
        ["docker", "cp", f"{maker}:/tmp/imgt-demo7.tar", str(archive)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert copied.returncode == 0, copied.stderr
    sh(maker, "rm -rf /tmp/imgt-demo7.tar /tmp/imgt-airgap")
    assert sh(target, f"docker image inspect {AIRGAP} >/dev/null 2>&1 || echo none") == "none"

    airgap = {
        "image": AIRGAP,
        "pull": "never",
        "image_archive": "./demo7.tar",
        "stop_grace_period": "1s",
    }
    path = write_stack(folder, {"built": built_service(), "airgap": airgap})
    plan = fleetform("plan", "-i", "inventory/lab.py", str(path), "--limit", target)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert f"+ load image {AIRGAP}" in plan.stdout
    assert "build image" not in plan.stdout  # already on the host: not built again

    apply_and_replan(fleetform, path, target)

    name = f"{STACK}-airgap-1"
    assert sh(target, f"docker inspect -f '{{{{.State.Status}}}}' {name}") == "running"
    assert sh(target, f"docker exec {name} cat /note.txt") == "loaded from an archive"
    # The uploaded archive is removed after the load, to give the disk back.
    assert sh(target, f"ls {REMOTE_ROOT}/images/ 2>/dev/null | grep -c demo7 || true") == "0"


def test_a_context_linking_outside_itself_fails_the_host_with_the_reason_and_no_change(
    fleetform: Any, folder: Path, hosts: list[str]
) -> None:
    target = hosts[1]
    leaky = folder / "leaky"
    leaky.mkdir()
    (leaky / "Dockerfile").write_text(f"FROM {BUSYBOX}\nCOPY . /srv/\n")
    (folder / "outside.key").write_text("not for the host\n")
    (leaky / "key").symlink_to(folder / "outside.key")
    services = {"leaky": {"image": "imgt/leaky:1", "build": "./leaky"}}
    path = write_stack(folder, services)
    args = ("-i", "inventory/lab.py", str(path), "--limit", target)
    result = fleetform("apply", *args, "--yes")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "symbolic link key points outside the context" in out
    assert "Traceback" not in out
    assert sh(target, "docker image inspect imgt/leaky:1 >/dev/null 2>&1 || echo none") == "none"
    assert sh(target, f"ls {REMOTE_ROOT}/build/ | grep -c leaky || true") == "0"
    # The host failed before any change: the earlier services are still there.
    assert sh(target, f"docker inspect -f '{{{{.State.Status}}}}' {STACK}-built-1") == "running"
