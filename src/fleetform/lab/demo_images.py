"""Demo images built offline from the static busybox, pushed to the lab registry.

Each image is a ``FROM scratch``-style root (busybox and its applet links)
written as a tar here, with fixed mtimes and owners, and imported with
``docker import``.  Images in the registry (``registry.lab:5000/...``):

- ``fleetform/demo:1`` / ``:2``: busybox httpd on port 8080; ``/`` answers
  ``demo 1`` / ``demo 2``, ``/healthz`` answers 200;
- ``fleetform/demo:broken``: serves ``/`` but ``/healthz`` is a 404;
- ``fleetform/busybox:1``: /bin/sh, sleep, wget, httpd...; sleeps forever.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fleetform.lab import engine
from fleetform.lab.config import LABEL, LABEL_RECIPE, LabConfig, LabError
from fleetform.lab.progress import Progress
from fleetform.lab.registry import registry_get

BUSYBOX = Path("/bin/busybox")
LOCAL_REPO = "fleetform-lab"
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
HTTPD = ["/bin/httpd", "-f", "-v", "-p", "8080", "-h", "/www"]


@dataclass(frozen=True)
class DemoImage:
    repository: str  # path in the registry, e.g. fleetform/demo
    tag: str
    files: tuple[tuple[str, str], ...]  # extra (path, text) files
    cmd: tuple[str, ...]
    expose: int | None = None

    @property
    def local(self) -> str:
        """The tag on the control engine: fleetform-lab/demo:1."""
        return f"{LOCAL_REPO}/{self.repository.split('/')[-1]}:{self.tag}"

    def ref(self, registry: str) -> str:
        return f"{registry}/{self.repository}:{self.tag}"


def _demo(version: str, healthz: bool) -> DemoImage:
    files = [("www/index.html", f"demo {version}\n")]
    if healthz:
        files.append(("www/healthz", "ok\n"))
    return DemoImage("fleetform/demo", version, tuple(files), tuple(HTTPD), expose=8080)


DEMO_IMAGES = (
    _demo("1", healthz=True),
    _demo("2", healthz=True),
    _demo("broken", healthz=False),
    DemoImage("fleetform/busybox", "1", (), ("/bin/sleep", "infinity")),
)


def busybox_applets(busybox: Path = BUSYBOX) -> list[str]:
    if not busybox.exists():
        raise LabError(f"{busybox} is missing (make apt installs busybox-static)")
    out = subprocess.run([str(busybox), "--list"], capture_output=True, check=True).stdout
    return sorted(set(out.decode().split()) - {"busybox"})


def rootfs_tar(image: DemoImage, busybox: bytes, applets: list[str]) -> bytes:
    """The image's whole root filesystem as a deterministic tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:

        def add(name: str, kind: bytes, mode: int, data: bytes = b"", link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.linkname, info.size = kind, mode, link, len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)

        for directory in ("bin", "etc", "www", "root"):
            add(directory, tarfile.DIRTYPE, 0o755)
        add("tmp", tarfile.DIRTYPE, 0o1777)
        add("bin/busybox", tarfile.REGTYPE, 0o755, busybox)
        for applet in applets:
            add(f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox")
        add("etc/passwd", tarfile.REGTYPE, 0o644, b"root:x:0:0:root:/root:/bin/sh\n")
        add("etc/group", tarfile.REGTYPE, 0o644, b"root:x:0:\n")
        for path, text in image.files:
            add(path, tarfile.REGTYPE, 0o644, text.encode())
    return buf.getvalue()


def import_changes(image: DemoImage, recipe: str) -> list[str]:
    changes = [f"CMD {json.dumps(list(image.cmd))}", f"LABEL {LABEL}=1 {LABEL_RECIPE}={recipe}"]
    if image.expose:
        changes.append(f"EXPOSE {image.expose}")
    return changes


def ensure_local_image(image: DemoImage, busybox: bytes, applets: list[str]) -> str:
    """Import the image unless one from the same recipe exists; return its id."""
    tar = rootfs_tar(image, busybox, applets)
    recipe = hashlib.sha256(tar + json.dumps(import_changes(image, "")).encode()).hexdigest()[:12]
    found = engine.get_image(image.local)
    if found is not None and engine.labels_of(found).get(LABEL_RECIPE) == recipe:
        return str(found.id)
    repository, _, tag = image.local.rpartition(":")
    with engine.calling("import"):
        engine.client().api.import_image_from_data(
            tar, repository, tag, import_changes(image, recipe)
        )
    imported = engine.get_image(image.local)
    if imported is None:
        raise LabError(f"docker import failed: {image.local} is missing after the import")
    return str(imported.id)


def pushed_config_digest(cfg: LabConfig, port: int, image: DemoImage) -> str | None:
    """The config digest (= image id) the registry holds for the tag, if any."""
    status, body = registry_get(
        cfg, port, f"/v2/{image.repository}/manifests/{image.tag}", accept=MANIFEST_V2
    )
    if status != 200:
        return None
    return str(json.loads(body).get("config", {}).get("digest"))


def ensure_demo_images(cfg: LabConfig, port: int, progress: Progress) -> list[str]:
    """Build and push the demo images; skip pushes the registry already holds."""
    busybox = BUSYBOX.read_bytes() if BUSYBOX.exists() else b""
    applets = busybox_applets()
    pushed = []
    for image in DEMO_IMAGES:
        image_id = ensure_local_image(image, busybox, applets)
        if pushed_config_digest(cfg, port, image) == image_id:
            continue
        # 127.0.0.0/8 registries are insecure by default in dockerd, so the
        # control engine pushes without trusting the lab CA.
        via = image.ref(f"127.0.0.1:{port}")
        with progress.step(f"pushing {image.ref('registry.lab:5000')}") as detail:
            push(image.local, via, detail)
        pushed.append(image.ref("registry.lab:5000"))
    return pushed


def push(local: str, via: str, detail: Callable[[str], None]) -> None:
    """Push ``local`` as ``via`` through a temporary tag, streaming progress to ``detail``."""
    repository, _, tag = via.rpartition(":")
    with engine.calling("tag"):
        engine.client().api.tag(local, repository, tag)
    try:
        with engine.calling("push"):
            stream = engine.client().api.push(repository, tag, stream=True, decode=True)
        engine.follow("push", stream, detail)
    finally:
        # Only the temporary tag goes; the image keeps its local name.
        with contextlib.suppress(LabError), engine.calling("image rm"):
            engine.client().api.remove_image(via)
