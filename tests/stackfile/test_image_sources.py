"""Where images come from: `image_archive` and `build` normalise to the model (airgap.yml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetform.model import Build, Stack
from fleetform.stackfile import load_stack

from .helpers import DATA, load_text, messages, write

VALID = DATA / "valid"


@pytest.fixture(scope="module")
def airgap() -> Stack:
    return load_stack(VALID / "airgap.yml")


def test_an_image_archive_is_an_absolute_path_next_to_the_stack_file(airgap: Stack) -> None:
    loaded = airgap.service("loaded")
    assert loaded.image == "vendor/app:3"
    assert loaded.image_archive == VALID / "images" / "app-3.tar"
    assert loaded.image_archive.is_absolute()
    assert (loaded.pull, loaded.build) == ("never", None)


def test_an_archive_path_is_normalised(airgap: Stack) -> None:
    assert airgap.service("loaded-when-missing").image_archive == VALID / "images" / "app-3.tar"
    assert airgap.service("loaded-when-missing").pull == "missing"


def test_a_service_without_an_archive_has_none(airgap: Stack) -> None:
    built = airgap.service("built")
    assert built.image_archive is None
    assert built.build == Build(VALID / "app")
    assert (built.image, built.pull) == ("airgap/built:1", "never")


def test_an_archive_path_may_start_with_a_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "app.tar").write_bytes(b"")
    text = (
        "version: 1\nname: t\nservices:\n  web:\n    image: a/b:1\n    image_archive: ~/app.tar\n"
    )
    assert load_text(tmp_path, text).service("web").image_archive == tmp_path / "app.tar"


def test_an_archive_must_be_a_file_when_the_stack_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    path = write(
        tmp_path,
        "version: 1\nname: t\nservices:\n"
        "  a:\n    image: a/b:1\n    image_archive: images\n"
        "  b:\n    image: a/c:1\n    image_archive: gone.tar\n",
    )
    assert messages(path) == [
        "services.a.image_archive: the image archive `images` is not a file",
        "services.b.image_archive: the image archive `gone.tar` does not exist",
    ]


def test_pull_never_and_missing_are_fine_with_an_archive_but_always_is_not(
    tmp_path: Path,
) -> None:
    (tmp_path / "app.tar").write_bytes(b"")
    head = "version: 1\nname: t\nservices:\n  web:\n    image: a/b:1\n    image_archive: app.tar\n"
    for policy in ("never", "missing"):
        assert load_text(tmp_path, head + f"    pull: {policy}\n").service("web").pull == policy
    path = write(tmp_path, head + "    pull: always\n")
    (message,) = messages(path)
    assert message.startswith("services.web.pull: `pull: always` cannot be used with")


def test_a_plain_service_may_name_an_image_another_service_builds(tmp_path: Path) -> None:
    text = (
        "version: 1\nname: t\nservices:\n"
        "  app:\n    image: vendor/app:7\n    build: ./app\n"
        "  worker:\n    image: vendor/app:7\n"
    )
    stack = load_text(tmp_path, text)
    assert stack.service("worker").build is None
    assert stack.service("app").build == Build(tmp_path / "app")


def test_two_stacks_cannot_build_and_load_one_image_reference(tmp_path: Path) -> None:
    (tmp_path / "app.tar").write_bytes(b"")
    one = write(
        tmp_path,
        "version: 1\nname: one\nservices:\n  app:\n    image: a/b:1\n    build: ./app\n",
        "one.yml",
    )
    two = write(
        tmp_path,
        "version: 1\nname: two\nservices:\n  app:\n    image: a/b:1\n    image_archive: app.tar\n",
        "two.yml",
    )
    (message,) = messages(one, two)
    assert message.startswith("services.app.image_archive: image `a/b:1` is loaded from ")
    assert message.endswith(f"by service `app` in {one}; give one of them another tag")
