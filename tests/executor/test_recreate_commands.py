"""Recreate, removal and secret-file commands, run by /bin/sh against a stand-in docker.

The stand-in records every call and fails the one matching ``FAKE_FAIL``, so
each test reads the real order of docker calls a command makes and what it
does after a failure.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "plan"))

from planbuilders import stack, svc, want

from fleetform.executor import argv as A
from fleetform.executor.shell import if_owned, wait_exit_zero_command, wait_healthy_command
from fleetform.executor.steps import action_command, host_commands, secret_env_file
from fleetform.model import Healthcheck, Mount, Network, NetworkAttachment
from fleetform.plan import Action, HostPlan
from fleetform.plan.desired import DesiredContainer

ANON = "a" * 64
IMAGE_VOL = "b" * 64

FAKE_DOCKER = r"""#!/bin/sh
echo "$*" >> "$FAKE_LOG"
if [ -n "${FAKE_FAIL:-}" ]; then
  case "$*" in $FAKE_FAIL) echo "Error response from daemon: boom on $1" >&2; exit 1 ;; esac
fi
case "$*" in
  "container inspect --format {{index .Config.Labels \"fleetform.stack\"}} "*)
    if [ -n "${FAKE_INSPECT_ERROR:-}" ]; then echo "$FAKE_INSPECT_ERROR" >&2; exit 1; fi
    echo "${FAKE_STACK:-demo}" ;;
  "container inspect --format {{.State.Running}} "*) echo "${FAKE_RUNNING:-true}" ;;
  create*) echo newid ;;
  "inspect --format {{.State.Status}}"*) echo "${FAKE_HEALTH:-running healthy}" ;;
  "inspect --format {{\$o"*) echo "probe said no" ;;
  wait*) echo "${FAKE_WAIT:-0}" ;;
esac
"""


def _run(cmd: str, tmp_path: Path, **env: str) -> tuple[int, list[str], str]:
    """Run ``cmd``; (exit status, docker calls, stderr)."""
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text(FAKE_DOCKER)
    fake.chmod(0o755)
    log = tmp_path / "calls"
    log.write_text("")
    proc = subprocess.run(
        ["/bin/sh", "-c", cmd],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": f"{fake.parent}:/usr/bin:/bin", "FAKE_LOG": str(log), **env},
    )
    return proc.returncode, log.read_text().splitlines(), proc.stderr


def _web(**kw: object) -> DesiredContainer:
    (c,) = want([stack(svc("web", **kw))]).containers
    return c


def _recreate(c: DesiredContainer, **kw: object) -> Action:
    return Action(
        "h",
        "recreate",
        c.name,
        "drift",
        "field_changed",
        container=c,
        container_id="old",
        owner_stack="demo",
        **kw,
    )


def test_no_command_ever_removes_a_volume_with_a_container() -> None:
    c = _web(volumes=(Mount("volume", "/data"),))
    remove = Action(
        "h", "remove", "demo-old-1", "orphan", "orphan", container_id="x", owner_stack="demo"
    )
    for action in (_recreate(c, carried_volumes=(("/data", ANON),)), remove):
        cmd = action_command(action)
        assert "--volumes" not in cmd and " -v " not in cmd
    assert A.rm_argv("x") == ["docker", "rm", "x"]


def test_the_new_container_mounts_the_old_ones_anonymous_volumes() -> None:
    c = _web(volumes=(Mount("volume", "/data", read_only=True), Mount("tmpfs", "/tmp")))
    argv = A.container_create_argv(
        c, name="demo-web-1.fleetform-new", carried=(("/data", ANON), ("/var/lib/db", IMAGE_VOL))
    )
    assert argv[:4] == ["docker", "create", "--name", "demo-web-1.fleetform-new"]
    mounts = [argv[i + 1] for i, a in enumerate(argv) if a == "--mount"]
    assert mounts == [
        f"type=volume,source={ANON},target=/data,readonly",
        "type=tmpfs,target=/tmp",
        f"type=volume,source={IMAGE_VOL},target=/var/lib/db",
    ]


def test_a_recreate_creates_the_new_container_before_it_touches_the_old_one(
    tmp_path: Path,
) -> None:
    c = _web(healthcheck=Healthcheck(("CMD-SHELL", "true")))
    rc, calls, err = _run(action_command(_recreate(c)), tmp_path)
    assert rc == 0, err
    assert [call.split(" --label")[0].split(" --format")[0] for call in calls] == [
        "container inspect",
        "create --name demo-web-1.fleetform-new",
        "container inspect",
        "stop old",
        "rename old demo-web-1.fleetform-old",
        "rename newid demo-web-1",
        "start newid",
        "inspect",
        "rm old",
    ]


@pytest.mark.parametrize(
    ("fail", "after"),
    [
        ("create*", []),
        ("network connect*", ["rm --force newid"]),
        ("start newid", ["rm --force newid", "rename old demo-web-1", "start old"]),
        ("rename newid*", ["rm --force newid", "rename old demo-web-1", "start old"]),
        ("stop old", ["rm --force newid", "start old"]),
    ],
)
def test_a_failed_recreate_puts_the_old_container_back_running(
    tmp_path: Path, fail: str, after: list[str]
) -> None:
    c = want(
        [
            stack(
                svc("web", networks=(NetworkAttachment("a"), NetworkAttachment("b"))),
                networks=(Network("a", "demo_a"), Network("b", "demo_b")),
            )
        ]
    ).containers[0]
    rc, calls, err = _run(action_command(_recreate(c)), tmp_path, FAKE_FAIL=fail)
    assert rc == 1
    assert "boom" in err
    failed = next(i for i, call in enumerate(calls) if call.startswith(fail.rstrip("*")))
    assert calls[failed + 1 :] == after
    assert not any(call in ("rm old", "rm --force old") for call in calls)
    if "stop old" in calls:  # the old container was touched
        assert "fleetform: demo-web-1: the new container failed; the old one is put back" in err


def test_a_stopped_old_container_is_not_started_again_after_a_failure(tmp_path: Path) -> None:
    rc, calls, _ = _run(
        action_command(_recreate(_web())), tmp_path, FAKE_FAIL="start newid", FAKE_RUNNING="false"
    )
    assert rc == 1
    assert calls[-2:] == ["rm --force newid", "rename old demo-web-1"]


def test_an_unhealthy_new_container_is_replaced_by_the_old_one(tmp_path: Path) -> None:
    c = _web(healthcheck=Healthcheck(("CMD-SHELL", "false"), retries=1))
    rc, calls, err = _run(action_command(_recreate(c)), tmp_path, FAKE_HEALTH="running unhealthy")
    assert rc == 1
    assert "probe said no" in err
    assert calls[-3:] == ["rm --force newid", "rename old demo-web-1", "start old"]


def test_a_container_gone_since_the_plan_is_simply_created(tmp_path: Path) -> None:
    rc, calls, err = _run(
        action_command(_recreate(_web())),
        tmp_path,
        FAKE_INSPECT_ERROR="Error: No such container: old",
    )
    assert rc == 0, err
    assert [call.split(" --")[0] for call in calls] == [
        "container inspect",
        "create",
        "start demo-web-1",
    ]
    assert "--name demo-web-1 " in calls[1]


def test_the_ownership_check_fails_closed(tmp_path: Path) -> None:
    cmd = if_owned("abc", "demo", "docker rm abc")
    rc, calls, err = _run(
        cmd, tmp_path, FAKE_INSPECT_ERROR="Cannot connect to the Docker daemon at unix:///x"
    )
    assert rc == 1
    assert "rm abc" not in calls
    assert "fleetform: cannot check who owns abc, nothing done: Cannot connect" in err
    rc, calls, _ = _run(cmd, tmp_path, FAKE_INSPECT_ERROR="Error: No such container: abc")
    assert (rc, calls[-1:]) == (0, [calls[0]])
    rc, calls, err = _run(cmd, tmp_path, FAKE_STACK="other")
    assert rc == 1 and "refusing to touch abc" in err and "rm abc" not in calls
    rc, calls, _ = _run(cmd, tmp_path)
    assert (rc, calls[-1]) == (0, "rm abc")


@pytest.mark.parametrize("fail", ["", "create*", "start*"])
def test_the_secret_env_file_is_removed_on_every_path(tmp_path: Path, fail: str) -> None:
    c = _web(environment=(("TOKEN", "t0k"),), secret_keys=frozenset({"TOKEN"}))
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    for action in (Action("h", "create", c.name, "m", "missing", container=c), _recreate(c)):
        found = secret_env_file(action, str(env_dir))
        assert found is not None
        path, content = found
        assert content == "TOKEN=t0k\n"
        Path(path).write_text(content)
        cmd = action_command(action, env_dir=str(env_dir))
        assert "t0k" not in cmd
        assert f"--env-file {path}" in cmd
        rc, _, _ = _run(cmd, tmp_path, FAKE_FAIL=fail or "none")
        assert rc == (1 if fail else 0)
        assert not Path(path).exists()


def test_there_is_one_way_to_deliver_secret_values() -> None:
    c = _web(environment=(("TOKEN", "t0k"),), secret_keys=frozenset({"TOKEN"}))
    (cmd,) = host_commands(
        HostPlan("h", (Action("h", "create", c.name, "m", "missing", container=c),))
    )
    assert "t0k" not in cmd and "printf" not in cmd and "mktemp" not in cmd
    assert "--env-file /run/fleetform/env/demo-web-1.env" in cmd


NASTY = "web'; touch pwned; echo $HOME `id` \"x"


def test_names_in_health_wait_messages_are_quoted(tmp_path: Path) -> None:
    rc, _, err = _run(wait_healthy_command(NASTY, 0), tmp_path, FAKE_HEALTH="running starting")
    assert rc == 1
    assert f"fleetform: container {NASTY} is not healthy after 0s" in err
    assert not (tmp_path / "pwned").exists()


def test_names_in_one_shot_wait_messages_are_quoted(tmp_path: Path) -> None:
    rc, _, err = _run(wait_exit_zero_command(NASTY, 5), tmp_path, FAKE_WAIT="3")
    assert rc == 1
    assert f"fleetform: {NASTY} did not complete successfully (exit code: 3)" in err
    assert not (tmp_path / "pwned").exists()


def test_each_env_file_is_uploaded_right_before_the_command_that_removes_it() -> None:
    from pyinfra.api.command import FileUploadCommand

    from fleetform.executor.operations import plan_commands

    s = stack(
        svc("a", environment=(("TOKEN", "1"),), secret_keys=frozenset({"TOKEN"})),
        svc("b"),
        svc("c", environment=(("TOKEN", "2"),), secret_keys=frozenset({"TOKEN"})),
    )
    actions = tuple(
        Action("h", "create", c.name, "m", "missing", container=c) for c in want([s]).containers
    )
    shown = [
        f"upload {c.dest}" if isinstance(c, FileUploadCommand) else str(c).split(" --label")[0]
        for c in plan_commands(HostPlan("h", actions))
    ]
    assert shown == [
        "install -d -m 700 /run/fleetform/env",
        "upload /run/fleetform/env/demo-a-1.env",
        "trap 'rm -f -- /run/fleetform/env/demo-a-1.env' EXIT; trap 'exit 1' HUP INT TERM; "
        "docker create --name demo-a-1",
        "docker create --name demo-b-1",
        "upload /run/fleetform/env/demo-c-1.env",
        "trap 'rm -f -- /run/fleetform/env/demo-c-1.env' EXIT; trap 'exit 1' HUP INT TERM; "
        "docker create --name demo-c-1",
    ]
