from __future__ import annotations

import pytest

from fleetform.engine.packages import (
    APT_KEYRING,
    APT_SOURCES,
    DNF_REPO,
    OsInfo,
    apt_docker_ce_version,
    dockerd_path,
    package_plan,
    version_satisfied,
)
from fleetform.engine.settings import EngineSettingsError

BOOKWORM = OsInfo("debian", (), "12", "bookworm")
NOBLE = OsInfo("ubuntu", ("debian",), "24.04", "noble")
ROCKY = OsInfo("rocky", ("rhel", "centos", "fedora"), "9.4")
FEDORA = OsInfo("fedora", (), "40")


def test_distro_source_on_debian_installs_docker_io_containerd_and_runc_with_apt():
    plan = package_plan("distro", None, BOOKWORM)
    assert plan.manager == "apt" and plan.repo is None
    assert plan.install_specs == ("docker.io", "containerd", "runc")
    assert dockerd_path("distro", BOOKWORM) == "/usr/sbin/dockerd"


def test_docker_ce_on_debian_uses_a_deb822_source_signed_by_dockers_key():
    plan = package_plan("docker-ce", None, BOOKWORM)
    assert plan.install_specs == ("docker-ce", "docker-ce-cli", "containerd.io")
    assert plan.repo is not None and plan.repo.path == APT_SOURCES
    assert plan.repo.content == (
        "Types: deb\n"
        "URIs: https://download.docker.com/linux/debian\n"
        "Suites: bookworm\n"
        "Components: stable\n"
        f"Signed-By: {APT_KEYRING}\n"
    )
    assert plan.repo.key == ("https://download.docker.com/linux/debian/gpg", APT_KEYRING)
    assert dockerd_path("docker-ce", BOOKWORM) == "/usr/bin/dockerd"


def test_a_short_docker_ce_version_expands_to_dockers_apt_version_for_the_release():
    plan = package_plan("docker-ce", "27.3.1", BOOKWORM)
    assert plan.install_specs == (
        "docker-ce=5:27.3.1-1~debian.12~bookworm",
        "docker-ce-cli=5:27.3.1-1~debian.12~bookworm",
        "containerd.io",
    )
    assert apt_docker_ce_version("27.3.1", NOBLE) == "5:27.3.1-1~ubuntu.24.04~noble"


def test_a_full_apt_version_is_used_as_given():
    assert apt_docker_ce_version("5:27.3.1-1~debian.12~bookworm", BOOKWORM) == (
        "5:27.3.1-1~debian.12~bookworm"
    )


def test_missing_lists_packages_absent_or_at_another_pinned_version():
    plan = package_plan("docker-ce", "27.3.1", BOOKWORM)
    installed = {
        "docker-ce": "5:27.3.1-1~debian.12~bookworm",
        "docker-ce-cli": "5:27.2.0-1~debian.12~bookworm",
    }
    assert plan.missing(installed) == (
        "docker-ce-cli=5:27.3.1-1~debian.12~bookworm",
        "containerd.io",
    )


def test_ubuntu_docker_ce_points_at_dockers_ubuntu_repository():
    plan = package_plan("docker-ce", None, NOBLE)
    assert plan.repo is not None
    assert "URIs: https://download.docker.com/linux/ubuntu\nSuites: noble\n" in plan.repo.content


def test_rocky_docker_ce_uses_dnf_and_the_centos_repo_file():
    plan = package_plan("docker-ce", "27.3.1", ROCKY)
    assert plan.manager == "dnf"
    assert plan.install_specs == ("docker-ce-27.3.1", "docker-ce-cli-27.3.1", "containerd.io")
    assert plan.repo is not None and plan.repo.path == DNF_REPO and plan.repo.key is None
    assert "baseurl=https://download.docker.com/linux/centos/$releasever/$basearch/stable" in (
        plan.repo.content
    )


def test_rocky_distro_source_is_refused_because_el9_ships_no_docker():
    with pytest.raises(EngineSettingsError, match=r"rocky 9\.4 has no Docker engine.*docker-ce"):
        package_plan("distro", None, ROCKY)


def test_fedora_distro_source_installs_moby_engine():
    assert package_plan("distro", None, FEDORA).install_specs == (
        "moby-engine",
        "containerd",
        "runc",
    )


def test_an_os_outside_both_families_gets_a_clear_error():
    with pytest.raises(EngineSettingsError, match="this host runs alpine"):
        package_plan("distro", None, OsInfo("alpine"))


def test_dnf_pins_may_leave_out_the_release_apt_pins_may_not():
    assert version_satisfied("dnf", "27.3.1-1.el9", "27.3.1")
    assert not version_satisfied("dnf", "27.3.10-1.el9", "27.3.1")
    assert version_satisfied(
        "apt", "5:27.3.1-1~debian.12~bookworm", "5:27.3.1-1~debian.12~bookworm"
    )
    assert not version_satisfied("apt", "5:27.3.1-1~debian.12~bookworm", "27.3.1")
