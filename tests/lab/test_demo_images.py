"""Demo images are written as deterministic tars from the static busybox."""

from __future__ import annotations

import io
import tarfile

from fleetform.lab.demo_images import DEMO_IMAGES, import_changes, rootfs_tar

APPLETS = ["httpd", "sh", "sleep", "wget"]


def members(tag: str, repo: str = "fleetform/demo") -> dict[str, tarfile.TarInfo]:
    image = next(i for i in DEMO_IMAGES if i.tag == tag and i.repository == repo)
    with tarfile.open(fileobj=io.BytesIO(rootfs_tar(image, b"\x7fELF", APPLETS))) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_the_registry_gets_the_four_documented_images() -> None:
    assert [i.ref("registry.lab:5000") for i in DEMO_IMAGES] == [
        "registry.lab:5000/fleetform/demo:1",
        "registry.lab:5000/fleetform/demo:2",
        "registry.lab:5000/fleetform/demo:broken",
        "registry.lab:5000/fleetform/busybox:1",
    ]


def test_the_same_image_gives_the_same_tar_bytes() -> None:
    image = DEMO_IMAGES[0]
    assert rootfs_tar(image, b"x", APPLETS) == rootfs_tar(image, b"x", APPLETS)


def test_demo_versions_answer_their_version_and_have_a_health_page() -> None:
    demo1, demo2 = members("1"), members("2")
    assert "www/healthz" in demo1 and "www/healthz" in demo2
    assert demo1["www/index.html"].size == len("demo 1\n")


def test_the_broken_demo_has_no_health_page_so_healthz_is_a_404() -> None:
    broken = members("broken")
    assert "www/index.html" in broken and "www/healthz" not in broken


def test_every_applet_is_a_link_to_busybox() -> None:
    links = {n: m.linkname for n, m in members("1", "fleetform/busybox").items() if m.issym()}
    assert links == {f"bin/{a}": "busybox" for a in APPLETS}


def test_demo_images_serve_on_8080_and_busybox_sleeps() -> None:
    demo, busybox = DEMO_IMAGES[0], DEMO_IMAGES[3]
    changes = import_changes(demo, "r")
    assert "EXPOSE 8080" in changes
    assert any(c.startswith('CMD ["/bin/httpd"') and '"8080"' in c for c in changes)
    assert import_changes(busybox, "r")[0] == 'CMD ["/bin/sleep", "infinity"]'
    assert "LABEL fleetform.lab=1 fleetform.lab.recipe=r" in changes
