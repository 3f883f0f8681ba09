"""Compose's build keys beyond context/dockerfile/args/target: read, checked, and passed
to ``docker build``."""

from __future__ import annotations

from pathlib import Path

from fleetform.executor.argv import build_argv
from fleetform.executor.uploads import Upload, image_uploads
from fleetform.model import INLINE_DOCKERFILE
from fleetform.plan.actions import Action
from fleetform.plan.desired import DesiredImage
from fleetform.stackfile import load_stacks

from .helpers import messages, write


def _stack(tmp_path: Path, build: str) -> Path:
    (tmp_path / "app").mkdir(exist_ok=True)
    (tmp_path / "app" / "main.sh").write_text("echo hi\n")
    return write(tmp_path, f"name: b\nservices:\n  web:\n    image: b-web:1\n    build: {build}\n")


def test_build_extras_reach_docker_build(tmp_path: Path) -> None:
    path = _stack(
        tmp_path,
        "{context: ./app, dockerfile_inline: 'FROM busybox', labels: {team: ops},"
        " network: host, extra_hosts: ['mirror.local:10.0.0.9'], target: final}",
    )
    (stack,) = load_stacks([path])
    build = stack.service("web").build
    assert build is not None
    assert build.dockerfile_path == INLINE_DOCKERFILE
    image = DesiredImage("b-web:1", "missing", build, None, None)
    argv = build_argv(image, "/ctx")
    assert argv[:6] == [
        "docker",
        "build",
        "--tag",
        "b-web:1",
        "--file",
        f"/ctx/{INLINE_DOCKERFILE}",
    ]
    joined = " ".join(argv)
    for part in ("--target final", "--label team=ops", "--network host",
                 "--add-host mirror.local:10.0.0.9"):  # fmt: skip
        assert part in joined
    assert argv[-1] == "/ctx"
    # the inline Dockerfile travels with the uploaded context, as a file of its own
    steps = image_uploads(Action("h", "build", "b-web:1", "missing: build", "missing", image=image))
    inline = [
        s for s in steps.before if isinstance(s, Upload) and s.dest.endswith(INLINE_DOCKERFILE)
    ]
    assert [s.src for s in inline] == [b"FROM busybox"]


def test_bad_build_extras_are_named(tmp_path: Path) -> None:
    path = _stack(
        tmp_path,
        "{context: ./app, dockerfile: D, dockerfile_inline: 'FROM x', extra_hosts: ['nohost']}",
    )
    assert messages(path) == [
        "services.web.build: give only one of `dockerfile` or `dockerfile_inline`",
        "services.web.build.extra_hosts[0]: `nohost` is not `name:ip`",
    ]
