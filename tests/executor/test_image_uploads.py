"""A build uploads its context folder first, a load its archive: plan_commands, no hosts."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pyinfra.api.command import FileUploadCommand, StringCommand

from fleetform.executor.operations import plan_commands
from fleetform.executor.uploads import (
    Shell,
    Upload,
    UploadError,
    context_steps,
    image_uploads,
)
from fleetform.model import Build, Network
from fleetform.plan import Action, HostPlan
from fleetform.plan.desired import DesiredImage, DesiredNetwork

BUILD_DIR = "/var/lib/fleetform/build/airgap_app_1"
ARCHIVE_DEST = "/var/lib/fleetform/images/demo7.tar"


@pytest.fixture()
def context(tmp_path: Path) -> Path:
    ctx = tmp_path / "app"
    (ctx / "conf" / "empty").mkdir(parents=True)
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY . /app\n")
    (ctx / "conf" / "app.ini").write_text("[app]\n")
    run = ctx / "run.sh"
    run.write_text("#!/bin/sh\n")
    run.chmod(0o755)
    (ctx / "conf" / "current.ini").symlink_to("app.ini")
    return ctx


def _build(context: Path) -> Action:
    image = DesiredImage("airgap/app:1", build=Build(context))
    return Action("h", "build", image.ref, "missing: build", "missing", image=image)


def _load(archive: Path) -> Action:
    image = DesiredImage("airgap/demo:7", pull="never", archive=archive)
    return Action("h", "load", image.ref, "missing: load", "missing", image=image)


def _shown(commands: list[Any]) -> list[str]:
    out = []
    for c in commands:
        if isinstance(c, FileUploadCommand):
            src = "<bytes>" if isinstance(c.src, io.IOBase) else c.src
            out.append(f"upload {src} -> {c.dest}")
        else:
            assert isinstance(c, StringCommand)
            out.append(str(c))
    return out


def test_a_build_is_preceded_by_replacing_the_remote_folder_with_every_file(
    context: Path,
) -> None:
    shown = _shown(list(plan_commands(HostPlan("h", (_build(context),)))))
    assert shown == [
        f"rm -rf -- {BUILD_DIR} && install -d -m 700 -- {BUILD_DIR}",
        f"mkdir -p -- {BUILD_DIR}/conf {BUILD_DIR}/conf/empty",
        f"upload {context}/Dockerfile -> {BUILD_DIR}/Dockerfile",
        f"upload {context}/run.sh -> {BUILD_DIR}/run.sh",
        f"upload {context}/conf/app.ini -> {BUILD_DIR}/conf/app.ini",
        f"chmod 0755 -- {BUILD_DIR}/run.sh",
        f"ln -s -- app.ini {BUILD_DIR}/conf/current.ini",
        f"docker build --tag airgap/app:1 --file {BUILD_DIR}/Dockerfile {BUILD_DIR}",
    ]


def test_a_load_uploads_the_archive_first_and_removes_it_after(tmp_path: Path) -> None:
    archive = tmp_path / "demo7.tar"
    archive.write_bytes(b"tar")
    shown = _shown(list(plan_commands(HostPlan("h", (_load(archive),)))))
    assert shown == [
        "install -d -m 700 -- /var/lib/fleetform/images",
        f"upload {archive} -> {ARCHIVE_DEST}",
        f"docker load --input {ARCHIVE_DEST}",
        f"rm -f -- {ARCHIVE_DEST}",
    ]


def test_uploads_sit_right_around_their_own_action_in_plan_order(
    context: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "demo7.tar"
    archive.write_bytes(b"tar")
    net = DesiredNetwork("s", Network("n", "s_n"))
    actions = (
        Action("h", "create-network", "s_n", "missing", "missing", network=net),
        _load(archive),
        _build(context),
    )
    shown = _shown(list(plan_commands(HostPlan("h", actions))))
    assert shown[0].startswith("docker network create")
    assert shown[1:5] == [
        "install -d -m 700 -- /var/lib/fleetform/images",
        f"upload {archive} -> {ARCHIVE_DEST}",
        f"docker load --input {ARCHIVE_DEST}",
        f"rm -f -- {ARCHIVE_DEST}",
    ]
    assert shown[5].startswith("rm -rf -- " + BUILD_DIR)
    assert shown[-1].startswith("docker build")


def test_a_plan_with_errors_uploads_nothing(context: Path) -> None:
    plan = HostPlan("h", (_build(context),), errors=("name clash",))
    assert list(plan_commands(plan)) == []


def test_a_link_pointing_outside_the_context_fails_the_host_before_any_change(
    context: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret.key").write_text("k")
    (context / "key").symlink_to(tmp_path / "secret.key")
    net = DesiredNetwork("s", Network("n", "s_n"))
    plan = HostPlan(
        "h", (Action("h", "create-network", "s_n", "m", "missing", network=net), _build(context))
    )
    (only,) = _shown(list(plan_commands(plan)))
    assert "symbolic link key points outside the context" in only
    result = subprocess.run(["sh", "-c", only], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith("fleetform: build context ")


def test_a_link_inside_the_context_is_kept_relative_even_when_written_absolute(
    context: Path,
) -> None:
    (context / "Dockerfile.link").symlink_to(context / "Dockerfile")
    (context / "conf-link").symlink_to(context / "conf", target_is_directory=True)
    links = [s for s in context_steps(context, BUILD_DIR) if "ln -s" in getattr(s, "command", "")]
    assert links == [
        Shell(f"ln -s -- Dockerfile {BUILD_DIR}/Dockerfile.link"),
        Shell(f"ln -s -- conf {BUILD_DIR}/conf-link"),
        Shell(f"ln -s -- app.ini {BUILD_DIR}/conf/current.ini"),
    ]


def test_a_missing_context_or_archive_is_an_error_in_plain_words(tmp_path: Path) -> None:
    with pytest.raises(UploadError, match="is not a folder on this machine"):
        image_uploads(_build(tmp_path / "gone"))
    with pytest.raises(UploadError, match="is not a file on this machine"):
        image_uploads(_load(tmp_path / "gone.tar"))


def test_only_folders_under_the_fleetform_root_are_ever_emptied(context: Path) -> None:
    for remote in ("/var/lib/fleetform", "/var/lib/fleetform/build/..", "/etc/x", "/"):
        with pytest.raises(UploadError, match="refusing to use"):
            context_steps(context, remote)


def test_a_file_with_special_characters_is_quoted_in_commands_but_not_in_uploads(
    context: Path,
) -> None:
    odd = context / "it's here.sh"
    odd.write_text("x")
    os.chmod(odd, 0o700)
    steps = context_steps(context, BUILD_DIR)
    assert Upload(odd, f"{BUILD_DIR}/it's here.sh") in steps
    assert Shell(f"chmod 0700 -- '{BUILD_DIR}/it'\"'\"'s here.sh'") in steps
