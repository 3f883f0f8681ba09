from __future__ import annotations

import shlex
from dataclasses import replace

from fleetform.engine.settings import EngineSettings
from fleetform.engine.steps import (
    daemon_json_steps,
    docker_group_steps,
    guarded_restart,
    install_steps,
    package_steps,
    registry_cert_steps,
    restart_steps,
    service_steps,
    sha256_text,
    upgrade_steps,
    validate_daemon_json,
    wait_for_socket,
    write_file,
)
from fleetform.model import RegistryCA

from .conftest import observed

LOCAL = EngineSettings(daemon_json='{"log-driver":"local"}')  # what debian-systemd-running has
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_a_fresh_debian_host_gets_docker_io_with_one_apt_update():
    steps = package_steps(EngineSettings(), observed("debian-systemd-fresh"))
    assert steps == [
        "apt-get update -qq",
        "env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
        "--allow-downgrades docker.io containerd runc",
    ]


def test_installed_distro_packages_need_nothing():
    assert package_steps(EngineSettings(), observed("debian-systemd-running")) == []


def test_docker_ce_with_a_pin_fetches_the_key_writes_the_source_and_installs_pinned():
    settings = EngineSettings(source="docker-ce", version="27.3.1")
    steps = package_steps(settings, observed("debian-systemd-fresh"))
    joined = " && ".join(steps)
    assert (
        "curl -fsSL https://download.docker.com/linux/debian/gpg -o /etc/apt/keyrings/docker.asc"
        in joined
    )
    assert "/etc/apt/sources.list.d/docker.sources" in joined
    assert shlex.split(steps[-1])[-3:] == [
        "docker-ce=5:27.3.1-1~debian.12~bookworm",
        "docker-ce-cli=5:27.3.1-1~debian.12~bookworm",
        "containerd.io",
    ]
    # the source must exist before the update that precedes the install
    assert joined.index("docker.sources") < joined.rindex("apt-get update")


def test_rocky_docker_ce_writes_the_repo_file_and_installs_with_dnf():
    settings = EngineSettings(source="docker-ce")
    steps = package_steps(settings, observed("rocky9-fresh"))
    assert "/etc/yum.repos.d/docker-ce.repo" in steps[0]
    assert steps[-1] == "dnf -y -q install docker-ce docker-ce-cli containerd.io"


def test_alma_with_docker_ce_at_the_pinned_version_needs_nothing_but_the_repo_file():
    settings = EngineSettings(source="docker-ce", version="27.3.1")
    steps = package_steps(settings, observed("alma9-docker-ce"))
    assert len(steps) == 1 and "docker-ce.repo" in steps[0]


def test_unmanaged_daemon_json_is_left_alone():
    assert daemon_json_steps(EngineSettings(), observed("debian-systemd-running")) == []


def test_unchanged_daemon_json_writes_nothing_and_does_not_restart():
    assert daemon_json_steps(LOCAL, observed("debian-systemd-running")) == []


def test_changed_daemon_json_is_written_aside_checked_backed_up_then_dockerd_restarted():
    settings = replace(LOCAL, daemon_json='{"log-driver":"json-file"}')
    state = observed("debian-systemd-running")
    steps = daemon_json_steps(settings, state)
    assert "> /etc/docker/daemon.json.fleetform-new.fleetform-tmp" in steps[0]
    assert shlex.quote('{"log-driver":"json-file"}\n') in steps[0]
    assert steps[1] == validate_daemon_json(settings, state)
    assert (
        "/usr/sbin/dockerd --validate --config-file /etc/docker/daemon.json.fleetform-new"
        in (steps[1])
    )
    install = "mv -f /etc/docker/daemon.json.fleetform-new /etc/docker/daemon.json"
    assert steps[2:] == guarded_restart(settings, state, install)
    assert "cp -p /etc/docker/daemon.json /etc/docker/daemon.json.fleetform-backup" in steps[3]
    assert "systemctl restart docker.service; } && ( " + wait_for_socket() in steps[5]


def test_emptied_daemon_settings_remove_the_file_and_restart():
    settings, state = replace(LOCAL, daemon_json="{}"), observed("debian-systemd-running")
    steps = daemon_json_steps(settings, state)
    assert steps == guarded_restart(settings, state, "rm -f /etc/docker/daemon.json")
    assert (
        daemon_json_steps(replace(LOCAL, daemon_json="{}"), observed("debian-systemd-fresh")) == []
    )


def test_daemon_json_written_while_dockerd_is_stopped_needs_no_restart():
    steps = daemon_json_steps(LOCAL, observed("debian-systemd-fresh"))
    assert steps[-1] == "mv -f /etc/docker/daemon.json.fleetform-new /etc/docker/daemon.json"
    assert len(steps) == 3 and not any("restart" in step for step in steps)


def test_restart_without_init_stops_this_hosts_dockerd_by_its_pidfile_and_starts_it_again():
    state = observed("control-none-running")
    assert restart_steps(LOCAL, state)[0] == (
        "start-stop-daemon --stop --quiet --oknodo --retry TERM/30/KILL/5 "
        "--pidfile /var/run/docker.pid --exec /usr/sbin/dockerd"
    )
    assert restart_steps(LOCAL, state)[1].startswith("start-stop-daemon --start --background")
    guarded = daemon_json_steps(LOCAL, state)[5]
    assert " && ".join(restart_steps(LOCAL, state)[:2]) in guarded
    assert "journalctl" not in guarded and "systemctl" not in guarded


def test_sysvinit_restart_goes_through_the_init_script():
    state = replace(observed("debian-sysvinit-fresh"), dockerd_pid=10)
    assert "{ service docker restart; } && ( " in daemon_json_steps(LOCAL, state)[5]


def test_systemd_enables_and_starts_both_units_when_not_running():
    assert service_steps(EngineSettings(), observed("debian-systemd-fresh")) == [
        "systemctl enable --now containerd.service docker.service",
        wait_for_socket(),
    ]
    assert service_steps(EngineSettings(), observed("debian-systemd-running")) == []


def test_systemd_enables_a_running_but_disabled_engine():
    state = observed("debian-systemd-running")
    state = replace(state, enabled={"docker": True, "containerd": False})
    assert service_steps(EngineSettings(), state)[0].startswith("systemctl enable --now")


def test_sysvinit_links_rc_scripts_and_starts_the_service():
    assert service_steps(EngineSettings(), observed("debian-sysvinit-fresh")) == [
        "update-rc.d docker defaults",
        "service docker start",
        wait_for_socket(),
    ]


def test_without_init_dockerd_is_started_in_the_background_under_start_stop_daemon():
    steps = service_steps(EngineSettings(), observed("control-none-stopped"))
    assert steps == [
        "start-stop-daemon --start --background --make-pidfile --pidfile /run/dockerd.pid "
        "--output /var/log/fleetform-dockerd.log --exec /usr/sbin/dockerd",
        wait_for_socket(),
    ]
    assert service_steps(EngineSettings(), observed("control-none-running")) == []


def test_the_socket_wait_is_one_shell_command_that_fails_after_a_timeout():
    wait = wait_for_socket()
    assert wait.startswith("{ ") and wait.endswith("; }")
    assert "docker version" in wait and "exit 1" in wait


def test_registry_certificates_are_written_only_when_their_digest_differs():
    settings = EngineSettings(registries=(RegistryCA("registry.lab:5000", PEM),))
    state = observed("debian-systemd-running")
    step = registry_cert_steps(settings, state)[0]
    assert "/etc/docker/certs.d/registry.lab:5000/ca.crt" in step
    same = replace(state, certs={"registry.lab:5000": sha256_text(PEM)})
    assert registry_cert_steps(settings, same) == []


def test_only_users_missing_from_the_docker_group_are_added_and_recorded_as_added():
    settings = EngineSettings(users=("alice", "bob"))
    steps = docker_group_steps(settings, observed("debian-systemd-running"))
    assert steps[0] == "usermod -aG docker bob"
    # alice was a member before: not fleetform's, so not recorded
    assert steps[1:] == [write_file("/var/lib/fleetform/engine/docker-group-users", "bob\n")]


def test_users_fleetform_added_are_removed_when_no_longer_declared_and_only_those():
    state = observed("debian-systemd-added")  # members alice, bob, carol; added bob, carol
    assert docker_group_steps(EngineSettings(users=("bob",)), state) == [
        "gpasswd -d carol docker",
        write_file("/var/lib/fleetform/engine/docker-group-users", "bob\n"),
    ]
    steps = docker_group_steps(EngineSettings(), state)
    assert steps[:2] == ["gpasswd -d bob docker", "gpasswd -d carol docker"]
    assert not any("alice" in step for step in steps)  # added by someone else: stays


def test_declared_users_already_recorded_need_nothing():
    state = observed("debian-systemd-added")
    assert docker_group_steps(EngineSettings(users=("alice", "bob", "carol")), state) == []


def test_cas_fleetform_installed_are_removed_when_no_longer_declared_and_only_those():
    state = observed("debian-systemd-added")
    # old.lab:5000 is fleetform's; own.lab is the host's own; gone.lab is already gone;
    # the record's line that is not a registry name is ignored
    assert state.added_registries == ("gone.lab", "old.lab:5000")
    assert registry_cert_steps(EngineSettings(), state) == [
        "rm -f /etc/docker/certs.d/old.lab:5000/ca.crt && "
        "{ rmdir /etc/docker/certs.d/old.lab:5000 2>/dev/null || true; }",
        write_file("/var/lib/fleetform/engine/registry-cas", ""),
    ]
    declared = EngineSettings(registries=(RegistryCA("old.lab:5000", PEM),))
    steps = registry_cert_steps(declared, state)
    assert "/etc/docker/certs.d/old.lab:5000/ca.crt" in steps[0] and "rm -f" not in steps[0]
    assert steps[1:] == [write_file("/var/lib/fleetform/engine/registry-cas", "old.lab:5000\n")]


def test_a_ca_fleetform_writes_is_recorded():
    settings = EngineSettings(registries=(RegistryCA("registry.lab:5000", PEM),))
    steps = registry_cert_steps(settings, observed("debian-systemd-running"))
    assert steps[1:] == [
        write_file("/var/lib/fleetform/engine/registry-cas", "registry.lab:5000\n")
    ]


def test_values_with_shell_metacharacters_are_quoted_once():
    settings = EngineSettings(daemon_json='{"labels":["a=$(reboot)"]}')
    step = daemon_json_steps(settings, observed("debian-systemd-fresh"))[0]
    assert shlex.quote('{"labels":["a=$(reboot)"]}\n') in step


def test_a_fresh_host_installs_with_the_others_and_a_running_engine_upgrades_guarded():
    fresh, running = observed("debian-systemd-fresh"), observed("debian-systemd-running")
    assert install_steps(EngineSettings(), fresh) == package_steps(EngineSettings(), fresh)
    assert upgrade_steps(EngineSettings(), fresh) == []
    pinned = EngineSettings(source="docker-ce", version="27.3.1")
    assert install_steps(pinned, running) == []
    steps = upgrade_steps(pinned, running)
    installs = package_steps(pinned, running)
    assert installs and steps[1:-2] == installs
    assert steps[0].startswith("{ running=$(docker ps -q --no-trunc)")
    assert "dockerd does not answer after the package upgrade" in steps[-2]
    assert 'docker start "$c"' in steps[-1] and steps[-1].endswith('[ -z "$failed" ]; }')


def test_an_upgrade_waits_for_the_containers_and_fails_on_one_that_does_not_come_back(
    tmp_path,
):
    # the health gate of a package upgrade, run in sh with a stand-in docker:
    # container b never becomes healthy again
    import subprocess

    docker = tmp_path / "docker"
    docker.write_text(
        "#!/bin/sh\n"
        'case "$1" in\n'
        "  ps) echo a; echo b ;;\n"
        "  version) exit 0 ;;\n"
        '  inspect) case "$4" in a) echo "running healthy" ;; *) echo "exited (1)" ;; esac ;;\n'
        "  start) exit 0 ;;\n"
        "esac\n"
    )
    docker.chmod(0o755)
    pinned = EngineSettings(source="docker-ce", version="27.3.1")
    steps = upgrade_steps(pinned, observed("debian-systemd-running"))
    script = " && ".join([steps[0], "true", *steps[-2:]])  # the install itself stubbed
    done = subprocess.run(
        ["sh", "-c", script],
        capture_output=True,
        text=True,
        env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
        timeout=60,
    )
    assert done.returncode != 0
    assert "container b is not healthy again after the restart" in done.stderr
