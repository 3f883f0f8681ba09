"""The lab's image steps on the real engine: streamed import and build, with their errors.

Images are tagged ``fleetform-lab/sdktest:<random>`` and removed afterwards;
no container, network or volume is created.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetform.lab import engine
from fleetform.lab.config import LabError
from fleetform.lab.image import import_rootfs
from fleetform.lab.registry import build_image

pytestmark = pytest.mark.e2e


@pytest.fixture
def tag() -> Iterator[str]:
    engine.ensure_engine()
    tag = f"fleetform-lab/sdktest:{uuid.uuid4().hex[:10]}"
    yield tag
    for ref in (tag, f"{tag}-built"):
        if engine.get_image(ref) is not None:
            engine.client().api.remove_image(ref)


def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc/hello").write_text("hello\n")
    return root


def test_a_rootfs_streams_into_an_image_with_its_changes(tmp_path: Path, tag: str) -> None:
    import_rootfs(rootfs(tmp_path), tag, ['CMD ["/bin/true"]', "LABEL fleetform.lab=1 x=y"])
    image = engine.get_image(tag)
    assert image is not None
    assert engine.labels_of(image) == {"fleetform.lab": "1", "x": "y"}
    assert image.attrs["Config"]["Cmd"] == ["/bin/true"]


def test_a_rootfs_that_cannot_be_read_gives_a_lab_error_and_no_image(
    tmp_path: Path, tag: str
) -> None:
    with pytest.raises(LabError, match=r"^docker import failed: "):
        import_rootfs(tmp_path / "missing", tag, [])
    assert engine.get_image(tag) is None


def test_a_build_streams_its_steps_and_labels_the_image(tmp_path: Path, tag: str) -> None:
    import_rootfs(rootfs(tmp_path), tag, [])
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("ARG BASE\nFROM $BASE\nENV built=1\n")
    seen: list[str] = []
    build_image(str(context), f"{tag}-built", {"BASE": tag}, {"fleetform.lab": "1"}, seen.append)
    assert any(line.startswith("Step 1/") for line in seen), seen
    built = engine.get_image(f"{tag}-built")
    assert built is not None and engine.labels_of(built) == {"fleetform.lab": "1"}


def test_a_failing_build_says_why_in_plain_words(tmp_path: Path, tag: str) -> None:
    import_rootfs(rootfs(tmp_path), tag, [])
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("ARG BASE\nFROM $BASE\nCOPY missing.txt /\n")
    with pytest.raises(LabError, match=r"^docker build failed: .*missing\.txt"):
        build_image(str(context), f"{tag}-built", {"BASE": tag}, {}, lambda _: None)
    assert engine.get_image(f"{tag}-built") is None
