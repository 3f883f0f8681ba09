from __future__ import annotations

from fleetform.engine.state import detect_init, parse_engine_state

from .conftest import observed


def test_the_control_machine_recording_parses_to_no_init_and_a_running_docker_io():
    state = observed("control-none-running")
    assert state.os.id == "debian" and state.os.codename == "bookworm"
    assert state.os.family == "debian"
    assert state.init == "none"
    assert state.packages == {
        "containerd": "1.6.20~ds1-1+deb12u3",
        "docker.io": "20.10.24+dfsg1-1+deb12u1+b6",
        "runc": "1.1.5+ds1-1+deb12u1",
    }
    assert "docker-ce" not in state.packages  # dpkg's "un" (known, not installed)
    assert state.dockerd_pid == 2839 and state.containerd_pid == 2847 and state.socket
    assert state.daemon_json_sha256 is None
    assert state.docker_group == ()


def test_init_comes_from_pid_1_not_from_installed_tools():
    assert detect_init({"comm": "systemd"}) == "systemd"
    assert detect_init({"comm": "init", "systemd_dir": "1"}) == "systemd"
    assert detect_init({"comm": "init", "inittab": "1"}) == "sysvinit"
    assert detect_init({"comm": "process_api"}) == "none"
    assert detect_init({"comm": "bash", "inittab": "1"}) == "none"


def test_a_systemd_host_reports_units_daemon_json_and_group_members():
    state = observed("debian-systemd-running")
    assert state.init == "systemd"
    assert state.enabled == {"docker": True, "containerd": True}
    assert state.daemon_json_sha256 is not None
    assert state.docker_group == ("alice",)


def test_rpm_hosts_parse_os_release_and_packages():
    rocky = observed("rocky9-fresh")
    assert (rocky.os.id, rocky.os.version_id, rocky.os.family) == ("rocky", "9.4", "rhel")
    assert rocky.packages == {} and rocky.enabled == {"docker": False, "containerd": False}
    alma = observed("alma9-docker-ce")
    assert alma.os.id_like == ("rhel", "centos", "fedora")
    assert alma.packages["docker-ce"] == "27.3.1-1.el9"


def test_certs_are_keyed_by_registry_and_other_files_by_path():
    output = (
        "@@fleetform-section files\n"
        "aa  /etc/docker/daemon.json\n"
        "bb  /etc/docker/certs.d/registry.lab:5000/ca.crt\n"
        "@@fleetform-rc 0\n"
        "@@fleetform-section group\n"
        "@@fleetform-rc 2\n"
    )
    state = parse_engine_state(output)
    assert state.files == {"/etc/docker/daemon.json": "aa"}
    assert state.certs == {"registry.lab:5000": "bb"}
    assert state.docker_group is None  # no docker group at all


def test_real_lab_host_recordings_show_systemd_and_the_lab_ca():
    fresh = observed("lab-fresh")
    assert fresh.init == "systemd" and fresh.packages == {} and fresh.dockerd_pid is None
    assert set(fresh.certs) == {"registry.lab:5000"}
    running = observed("lab-running")
    assert running.packages["docker.io"].startswith("20.10.24")
    assert running.enabled == {"docker": True, "containerd": True}
    assert running.dockerd_pid is not None and running.socket


def test_a_container_whose_pid_1_is_sleep_has_no_init_system():
    state = observed("container-none-running")
    assert state.init == "none" and state.dockerd_pid is not None


def test_the_record_of_what_fleetform_added_is_read_in_the_same_gathering():
    state = observed("debian-systemd-added")
    assert state.added_users == ("bob", "carol")
    assert state.added_registries == ("gone.lab", "old.lab:5000")
    assert observed("debian-systemd-running").added_users == ()
