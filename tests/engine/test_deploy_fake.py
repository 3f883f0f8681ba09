"""The whole engine deploy through pyinfra's API on @fake hosts with recorded facts."""

from __future__ import annotations

from fleetform.engine.settings import EngineSettings

from .conftest import observed as observed_state
from .conftest import run_fake

LOCAL = EngineSettings(daemon_json='{"log-driver":"local"}')
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_a_converged_host_reports_no_change_and_gathers_its_state_once_per_phase():
    run = run_fake({"h": ("debian-systemd-running", LOCAL, {})})["h"]
    assert run.changed == [] and run.commands == []
    assert run.gatherings == 2  # planning + execution, shared by all five operations


def test_given_the_state_observed_for_the_plan_a_converged_host_is_not_gathered_again():
    observed = {"h": observed_state("debian-systemd-running")}
    for check in (True, False):  # pyinfra's planning phase, then fleetform apply's way
        run = run_fake(
            {"h": ("debian-systemd-running", LOCAL, {})}, check_for_changes=check, observed=observed
        )
        assert run["h"].changed == [] and run["h"].commands == []
        assert run["h"].gatherings == 0


def test_given_the_observed_state_a_host_is_gathered_again_only_after_a_change():
    fresh = observed_state("debian-systemd-fresh")
    given = run_fake(
        {"h": ("debian-systemd-fresh", LOCAL, {})}, check_for_changes=False, observed={"h": fresh}
    )
    gathered = run_fake({"h": ("debian-systemd-fresh", LOCAL, {})}, check_for_changes=False)
    # the same commands as when every step gathers for itself...
    assert given["h"].commands == gathered["h"].commands
    # ...but no gathering before the first change (daemon.json is written first)
    assert given["h"].gatherings == gathered["h"].gatherings - 1


def test_the_operation_sequence_is_the_same_on_every_host_whatever_its_settings():
    runs = run_fake(
        {
            "a": ("debian-systemd-fresh", EngineSettings(source="docker-ce"), {}),
            "b": ("control-none-stopped", LOCAL, {}),
            "c": ("rocky9-fresh", EngineSettings(source="docker-ce", users=("ops",)), {}),
        }
    )
    assert runs["a"].op_names == runs["b"].op_names == runs["c"].op_names
    assert [n.split(" | ")[1] for n in runs["a"].op_names] == [
        "Docker daemon.json",
        "Docker registry CA certificates",
        "Docker engine packages",
        "Docker engine packages: upgrades, host by host",
        "dockerd and containerd running",
        "docker group members",
    ]


def test_a_daemon_json_change_on_a_running_host_restarts_dockerd_exactly_once():
    changed = EngineSettings(daemon_json='{"log-driver":"json-file"}')
    run = run_fake({"h": ("debian-systemd-running", changed, {})})["h"]
    # one command restarts; that it restarts once is tested by running it
    # (test_restart_script) and on the lab
    assert [c for c in run.commands if "restart" in c] == [run.commands[0]]
    assert run.changed == ["Docker engine | Docker daemon.json"]


def test_a_bare_host_without_init_gets_dockerd_started_in_the_background():
    run = run_fake({"h": ("control-none-stopped", None, {})})["h"]
    assert run.changed == ["Docker engine | dockerd and containerd running"]
    (command,) = run.commands
    assert command.startswith("start-stop-daemon --start --background --make-pidfile")
    assert "--exec /usr/sbin/dockerd" in command and "docker version" in command


def test_a_fresh_systemd_host_gets_config_before_packages_and_no_restart():
    run = run_fake({"h": ("debian-systemd-fresh", LOCAL, {})})["h"]
    assert "/etc/docker/daemon.json" in run.commands[0]
    assert "apt-get install" in run.commands[1]
    assert run.commands[2].startswith("systemctl enable --now")
    assert not any("restart" in c for c in run.commands)


def test_registry_cas_from_host_data_are_installed_even_without_stacks():
    data = {"fleetform_registries": {"registry.lab:5000": PEM}}
    run = run_fake({"h": ("debian-systemd-running", None, data)})["h"]
    assert run.changed == ["Docker engine | Docker registry CA certificates"]
    assert "/etc/docker/certs.d/registry.lab:5000/ca.crt" in run.commands[0]


def test_daemon_json_restarts_run_on_one_host_after_another(monkeypatch) -> None:
    from pyinfra.connectors.fake import FakeConnector

    events: list[str] = []
    original = FakeConnector.run_shell_command

    def recording(self, command, *args, **kwargs):  # type: ignore[no-untyped-def]
        text = command if isinstance(command, str) else command.get_masked_value()
        restarts = "systemctl restart" in text
        if restarts:
            events.append(f"start {self.host.name}")
        result = original(self, command, *args, **kwargs)
        if restarts:
            events.append(f"end {self.host.name}")
        return result

    monkeypatch.setattr(FakeConnector, "run_shell_command", recording)
    changed = EngineSettings(daemon_json='{"log-driver":"json-file"}')
    slow = {"fake_delay": 0.05}  # each command takes time, so parallel runs overlap
    run_fake(
        {
            "a": ("debian-systemd-running", changed, slow),
            "b": ("debian-systemd-running", changed, slow),
            "c": ("debian-systemd-running", changed, slow),
        }
    )
    hosts = [e.split()[1] for e in events]
    assert sorted(hosts) == ["@fake/a"] * 2 + ["@fake/b"] * 2 + ["@fake/c"] * 2
    assert [e.split()[0] for e in events] == ["start", "end"] * 3, events


def test_once_a_daemon_json_change_fails_on_a_host_the_hosts_after_it_are_left_alone() -> None:
    from fleetform.opfailure import failing_command

    changed = EngineSettings(daemon_json='{"log-driver":"json-file"}')
    refused = {"fake_responses": {"systemctl restart": {"success": False}}}
    hosts = {h: ("debian-systemd-running", changed, refused) for h in "abc"}
    runs = run_fake(hosts, allow_failures=True)
    tried = [h for h, run in runs.items() if any("systemctl restart" in c for c in run.commands)]
    assert len(tried) == 1  # the first host in pyinfra's order; which one is not fixed
    assert runs[tried[0]].failed
    reason = f"daemon.json left as it is: the change failed on @fake/{tried[0]}"
    for name, run in runs.items():
        if name not in tried:
            # (the fake connector lets every command succeed; on a host it exits 1)
            assert run.commands == [failing_command(reason).get_masked_value()]
