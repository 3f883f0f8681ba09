"""The lab base image: Debian bookworm from debootstrap, imported into Docker.

The image is tagged with the hash of its recipe (suite, packages, mirror
sources, setup script), so it is built once and rebuilt only when the
recipe changes::

    >>> recipe = BaseRecipe.current()
    >>> recipe.tag.startswith("fleetform-lab/debian:")
    True
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fleetform.lab import engine
from fleetform.lab.config import LABEL, LABEL_RECIPE, LabError
from fleetform.lab.progress import Progress

#: Bump when the build procedure changes in a way the inputs below do not show.
RECIPE_VERSION = 1
SUITE = "bookworm"
PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "ca-certificates",
    "iproute2",
    "procps",
    "curl",
    "gnupg",
    "iputils-ping",
    "less",
)
SOURCES_FILE = Path("/etc/apt/sources.list.d/debian.sources")
IMAGE_REPO = "fleetform-lab/debian"

# systemd needs to know it runs in a container.  (`docker import` refuses
# STOPSIGNAL; the hosts get --stop-signal SIGRTMIN+3 when created.)
IMAGE_CHANGES = (
    'CMD ["/lib/systemd/systemd"]',
    "ENV container=docker",
)


@dataclass(frozen=True)
class BaseRecipe:
    suite: str
    packages: tuple[str, ...]
    sources: str  # deb822 text installed as the image's apt sources
    setup_script: str

    @classmethod
    def current(cls, sources_file: Path = SOURCES_FILE) -> BaseRecipe:
        try:
            sources = sources_file.read_text()
        except OSError as exc:
            raise LabError(f"cannot read the Debian mirror from {sources_file}: {exc}") from exc
        script = resources.files("fleetform.lab").joinpath("assets/setup-base.sh").read_text()
        return cls(SUITE, PACKAGES, sources, script)

    @property
    def mirror(self) -> str:
        """The first ``URIs:`` of the sources: the mirror debootstrap fetches from."""
        for line in self.sources.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "URIs" and value.split():
                return value.split()[0]
        raise LabError(f"no 'URIs:' line in {SOURCES_FILE}; cannot find the Debian mirror")

    @property
    def hash(self) -> str:
        payload = json.dumps(
            [RECIPE_VERSION, self.suite, self.packages, self.sources, self.setup_script]
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    @property
    def tag(self) -> str:
        return f"{IMAGE_REPO}:{self.hash}"


def image_exists(tag: str) -> bool:
    return engine.get_image(tag) is not None


def ensure_base_image(recipe: BaseRecipe, progress: Progress) -> str:
    """Build the base image unless an image for this recipe exists; return its tag."""
    if image_exists(recipe.tag):
        return recipe.tag
    with progress.step(f"building base image {recipe.tag} (debootstrap, about 60 s)"):
        build_base_image(recipe)
    return recipe.tag


def build_base_image(recipe: BaseRecipe) -> None:
    if shutil.which("debootstrap") is None:
        raise LabError("debootstrap is not installed (make apt installs it)")
    work = Path(tempfile.mkdtemp(prefix="fleetform-lab-rootfs-", dir="/var/tmp"))
    rootfs = work / "rootfs"
    try:
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(recipe.packages)}",
                recipe.suite,
                str(rootfs),
                recipe.mirror,
            ],
            "debootstrap",
        )
        apt = rootfs / "etc/apt"
        (apt / "sources.list").unlink(missing_ok=True)
        (apt / "sources.list.d/debian.sources").write_text(recipe.sources)
        # apt-get update in the chroot needs name resolution; Docker manages
        # resolv.conf at run time, so the copy is removed afterwards.
        shutil.copy("/etc/resolv.conf", rootfs / "etc/resolv.conf")
        (rootfs / "tmp/setup-base.sh").write_text(recipe.setup_script)
        _run(["chroot", str(rootfs), "/bin/sh", "/tmp/setup-base.sh"], "image setup script")
        (rootfs / "tmp/setup-base.sh").unlink()
        (rootfs / "etc/resolv.conf").unlink()
        changes = [*IMAGE_CHANGES, f"LABEL {LABEL}=1 {LABEL_RECIPE}={recipe.hash}"]
        import_rootfs(rootfs, recipe.tag, changes)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def import_rootfs(rootfs: Path, tag: str, changes: list[str]) -> None:
    """``tar -C ROOTFS -c . | docker import --change ... - TAG``, streamed to the engine.

    tar keeps numeric owners and device nodes as they are (Python's tarfile
    would need the whole tree walked by hand); the archive is sent in chunks
    as tar writes it, so it is never held in memory or on disk whole.
    """
    repository, _, name = tag.rpartition(":")
    with tempfile.TemporaryFile() as tar_errors:
        tar = subprocess.Popen(
            ["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."],
            stdout=subprocess.PIPE,
            stderr=tar_errors,
        )
        stdout = tar.stdout
        assert stdout is not None
        try:
            chunks = iter(functools.partial(stdout.read, 1 << 20), b"")
            with engine.calling("import"):
                engine.client().api.import_image_from_data(chunks, repository, name, changes)
        finally:
            stdout.close()
            code = tar.wait()
        if code != 0:
            tar_errors.seek(0)
            message = tar_errors.read().decode(errors="replace").strip()
            # The engine may have imported the truncated stream; it must not
            # pass for the finished image on the next run.
            with contextlib.suppress(LabError), engine.calling("image rm"):
                engine.client().api.remove_image(tag)
            raise LabError(f"docker import failed: tar exit {code}: {message}")


def _run(argv: list[str], what: str) -> None:
    proc = subprocess.run(argv, capture_output=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).decode(errors="replace").splitlines()[-15:])
        raise LabError(f"{what} failed (exit {proc.returncode}):\n{tail}")
