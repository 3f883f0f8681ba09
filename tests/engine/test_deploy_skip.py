"""Hosts fleetform reports as errors get no engine change (``docker_engine_by_host(skip=...)``)."""

from __future__ import annotations

import pytest

from fleetform.engine.settings import EngineSettings

from .conftest import run_fake

RESTART = EngineSettings(daemon_json='{"log-driver":"json-file"}')


@pytest.mark.parametrize("check_for_changes", [False, True])
def test_a_skipped_host_gets_no_command_while_the_others_are_converged(
    check_for_changes: bool,
) -> None:
    runs = run_fake(
        {
            "ok": ("debian-systemd-running", RESTART, {}),
            "failed": ("debian-systemd-running", RESTART, {}),
            "bare": ("debian-systemd-fresh", None, {}),
        },
        skip=("failed", "bare"),
        check_for_changes=check_for_changes,
    )
    # daemon.json rewritten and dockerd restarted only where the plan was fine
    assert any("systemctl restart docker.service" in c for c in runs["ok"].commands)
    assert runs["failed"].commands == [] and runs["failed"].changed == []
    assert runs["bare"].commands == [] and runs["bare"].changed == []
    # pyinfra's API identifies operations by position: the same ones everywhere
    assert runs["ok"].op_names == runs["failed"].op_names == runs["bare"].op_names
