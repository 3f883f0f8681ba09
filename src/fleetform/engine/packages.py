"""Which packages and package repository give a host its Docker engine.

Pure: decided from the engine settings and the host's /etc/os-release.

Example::

    >>> plan = package_plan("docker-ce", "27.3.1", OsInfo("debian", (), "12", "bookworm"))
    >>> plan.install_specs[0]
    'docker-ce=5:27.3.1-1~debian.12~bookworm'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fleetform.engine.settings import EngineSettingsError
from fleetform.model import SourceKind

Manager = Literal["apt", "dnf"]

APT_KEYRING = "/etc/apt/keyrings/docker.asc"
APT_SOURCES = "/etc/apt/sources.list.d/docker.sources"
DNF_REPO = "/etc/yum.repos.d/docker-ce.repo"
DOCKER_DOWNLOAD = "https://download.docker.com/linux"

_RHEL_IDS = {"rhel", "centos", "rocky", "almalinux", "fedora", "ol"}


@dataclass(frozen=True)
class OsInfo:
    """The parts of /etc/os-release that decide packages."""

    id: str
    id_like: tuple[str, ...] = ()
    version_id: str = ""
    codename: str = ""

    @property
    def family(self) -> Literal["debian", "rhel"] | None:
        ids = {self.id, *self.id_like}
        if ids & {"debian", "ubuntu"}:
            return "debian"
        if ids & _RHEL_IDS:
            return "rhel"
        return None


@dataclass(frozen=True)
class RepoFile:
    """A package repository definition fleetform writes itself."""

    path: str
    content: str
    #: (url, path) of a signing key to fetch when missing (apt only; dnf
    #: imports the gpgkey named in the .repo file itself).
    key: tuple[str, str] | None = None


@dataclass(frozen=True)
class PackagePlan:
    manager: Manager
    #: package -> wanted version (None: any version).
    packages: tuple[tuple[str, str | None], ...]
    repo: RepoFile | None = None
    #: packages the repository setup itself needs (e.g. curl for the key).
    repo_prerequisites: tuple[str, ...] = ()

    @property
    def install_specs(self) -> tuple[str, ...]:
        """Arguments for ``apt-get install`` / ``dnf install``, with pins."""
        sep = "=" if self.manager == "apt" else "-"
        return tuple(f"{name}{sep}{ver}" if ver else name for name, ver in self.packages)

    def missing(self, installed: dict[str, str]) -> tuple[str, ...]:
        """Install specs of packages not installed, or installed at another version."""
        wanted = []
        for (name, version), spec in zip(self.packages, self.install_specs, strict=True):
            have = installed.get(name)
            if have is None or (version and not version_satisfied(self.manager, have, version)):
                wanted.append(spec)
        return tuple(wanted)


def version_satisfied(manager: Manager, installed: str, wanted: str) -> bool:
    """apt pins are full versions; dnf pins may leave out the release (``27.3.1``)."""
    if manager == "apt":
        return installed == wanted
    plain = installed.split(":", 1)[-1]
    return plain == wanted or plain.startswith(wanted + "-")


def apt_docker_ce_version(version: str, os: OsInfo) -> str:
    """Expand ``27.3.1`` to Docker's apt version ``5:27.3.1-1~debian.12~bookworm``.

    A version that already has an epoch or a Debian revision is used as given.
    """
    if ":" in version or "-" in version:
        return version
    return f"5:{version}-1~{_apt_dist(os)}.{os.version_id}~{os.codename}"


def _apt_dist(os: OsInfo) -> str:
    return "ubuntu" if "ubuntu" in {os.id, *os.id_like} else "debian"


def package_plan(source: SourceKind, version: str | None, os: OsInfo) -> PackagePlan:
    """The packages (and repository) that give this OS the wanted engine."""
    family = os.family
    if family == "debian":
        return _debian_plan(source, version, os)
    if family == "rhel":
        return _rhel_plan(source, version, os)
    raise EngineSettingsError(
        f"fleetform installs Docker on Debian/Ubuntu (apt) and RHEL-family (dnf) hosts; "
        f"this host runs {os.id or 'an unknown OS'}"
    )


def _debian_plan(source: SourceKind, version: str | None, os: OsInfo) -> PackagePlan:
    if source == "distro":
        return PackagePlan("apt", (("docker.io", version), ("containerd", None), ("runc", None)))
    if not os.codename:
        raise EngineSettingsError("docker-ce needs VERSION_CODENAME in /etc/os-release")
    pin = apt_docker_ce_version(version, os) if version else None
    repo = RepoFile(
        path=APT_SOURCES,
        content=(
            "Types: deb\n"
            f"URIs: {DOCKER_DOWNLOAD}/{_apt_dist(os)}\n"
            f"Suites: {os.codename}\n"
            "Components: stable\n"
            f"Signed-By: {APT_KEYRING}\n"
        ),
        key=(f"{DOCKER_DOWNLOAD}/{_apt_dist(os)}/gpg", APT_KEYRING),
    )
    return PackagePlan(
        "apt",
        (("docker-ce", pin), ("docker-ce-cli", pin), ("containerd.io", None)),
        repo=repo,
        repo_prerequisites=("ca-certificates", "curl"),
    )


def _rhel_plan(source: SourceKind, version: str | None, os: OsInfo) -> PackagePlan:
    if source == "distro":
        if os.id != "fedora":
            # RHEL, Rocky and Alma ship podman, not Docker; guessing a third
            # party repository for the user would be worse than saying so.
            raise EngineSettingsError(
                f"{os.id} {os.version_id} has no Docker engine in its own repositories; "
                "use engine.source: docker-ce"
            )
        return PackagePlan("dnf", (("moby-engine", version), ("containerd", None), ("runc", None)))
    dist = "fedora" if os.id == "fedora" else "centos"
    repo = RepoFile(
        path=DNF_REPO,
        content=(
            "[docker-ce-stable]\n"
            "name=Docker CE Stable - $basearch\n"
            f"baseurl={DOCKER_DOWNLOAD}/{dist}/$releasever/$basearch/stable\n"
            "enabled=1\n"
            "gpgcheck=1\n"
            f"gpgkey={DOCKER_DOWNLOAD}/{dist}/gpg\n"
        ),
    )
    return PackagePlan(
        "dnf",
        (("docker-ce", version), ("docker-ce-cli", version), ("containerd.io", None)),
        repo=repo,
    )


def dockerd_path(source: SourceKind, os: OsInfo) -> str:
    """Where the package puts dockerd (Debian's docker.io uses /usr/sbin)."""
    if source == "distro" and os.family == "debian":
        return "/usr/sbin/dockerd"
    return "/usr/bin/dockerd"
