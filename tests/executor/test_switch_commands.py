"""Proxied replicas switched and removed, run by /bin/sh against stand-ins.

A stand-in ``docker`` and a stand-in ``socat`` (HAProxy's runtime API: it
keeps the backend's slots in a file and answers ``show servers state`` and
``show stat`` from it) log every call to one file, so each test reads the real
order of container and proxy steps, and what happens after a failure.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from fleetform.executor.rollback import SWAP_SUFFIX, swap_command
from fleetform.executor.steps import action_command
from fleetform.executor.switch import NOT_BACK, start_first_command
from fleetform.executor.switch_back import kept_switch_command, switch_back_command
from fleetform.model import RolloutConfig
from fleetform.plan import Action
from fleetform.proxy.config import SOCKET
from fleetform.revisions.rollback import ProxySwitch, Swap

NAME, KEPT, TMP = "demo-web-1", "demo-web-1.fleetform-old", "demo-web-1" + SWAP_SUFFIX
PROXY = ProxySwitch("demo-web", "demo_default", 8080, 10**9)

FAKE_DOCKER = r"""#!/bin/sh
echo "docker $*" >> "$FAKE_LOG"
# FAKE_FAIL: calls that fail, separated by ";"
call="$*"; IFS=';'; for f in ${FAKE_FAIL:-}; do
  if [ "$call" = "$f" ]; then echo "Error: boom" >&2; exit 1; fi
done; unset IFS
case "$*" in
  "create "*) echo newid ;;
  "container inspect --format {{index .Config.Labels"*"|"*" newid") echo "demo|true|10.0.0.3" ;;
  "container inspect --format {{index .Config.Labels"*"|"*" demo-web-1")
    # FAKE_STARTED_IP: the address demo-web-1 has once a container started under that name
    if [ -n "${FAKE_STARTED_IP:-}" ] && grep -qx "docker start demo-web-1" "$FAKE_LOG"
    then echo "demo|true|$FAKE_STARTED_IP"; else echo "demo|true|10.0.0.1"; fi ;;
  *'"fleetform.service"}} '*) echo demo-web ;;
  "container inspect --format {{range .NetworkSettings.Networks}}"*) echo "10.0.0.1 " ;;
  "container inspect --format {{index .Config.Labels \"fleetform.stack\"}} "*) echo demo ;;
  "container inspect --format {{.State.Running}} "*) echo "${FAKE_RUNNING:-true}" ;;
  "container inspect --format {{index .Config.Labels"*" demo-web-1.fleetform-old")
    echo "demo|true|10.0.0.2" ;;
  "container inspect --format {{index .Config.Labels"*) echo "demo|true|10.0.0.1" ;;
  "start demo-web-1.fleetform-old")
    if [ -n "${FAKE_KEPT_FAILS:-}" ]; then echo "Error: boom" >&2; exit 1; fi ;;
  "inspect --format {{.RestartCount}} "*) cat "$FAKE_RESTARTS" 2>/dev/null || echo 0 ;;
  "inspect --format {{.State.Status}} {{.RestartCount}}"*)
    echo "${FAKE_MONITOR:-running $(cat "$FAKE_RESTARTS" 2>/dev/null || echo 0) false healthy}" ;;
  "inspect --format {{.State.Status}}"*)
    # FAKE_RESTART_IN_WAIT: the restart policy restarts the container during its health wait
    [ -z "${FAKE_RESTART_IN_WAIT:-}" ] || echo 1 > "$FAKE_RESTARTS"
    echo "running healthy" ;;
esac
"""

# Slots: "name address op-state admin-bits"; ready = 0, maint = 1, drain = 8.
FAKE_SOCAT = r"""#!/bin/sh
read -r line
echo "hapx $line" >> "$FAKE_LOG"
case "$line" in
  "show servers state "*)
    echo 1; echo "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state"
    while read -r s a o m; do echo "3 demo-web 1 $s $a $o $m 1 1"; done < "$FAKE_SLOTS" ;;
  "show stat") while read -r s a o m; do echo "demo-web,$s,0,0,0"; done < "$FAKE_SLOTS" ;;
  "set server demo-web/"*)
    slot=${line#set server demo-web/}; slot=${slot%% *}; rest=${line#set server demo-web/$slot }
    case "$rest" in
      "addr "*) set -- $rest; new="$2"; field=a ;;
      "state ready") new="2 0"; field=m ;;
      "state drain") new="2 8"; field=m ;;
      "state maint") new="0 1"; field=m ;;
    esac
    while read -r s a o m; do
      if [ "$s" = "$slot" ]; then
        if [ "$field" = a ]; then a=$new; else o=${new% *}; m=${new#* }; fi
      fi
      echo "$s $a $o $m"
    done < "$FAKE_SLOTS" > "$FAKE_SLOTS.new"; mv "$FAKE_SLOTS.new" "$FAKE_SLOTS"
    case "$rest" in "addr "*) echo "IP changed from '0.0.0.0' to '$new'" ;; esac ;;
esac
"""


def _run(cmd: str, tmp_path: Path, **env: str) -> tuple[int, list[str], str, str]:
    """Run ``cmd``; (exit status, calls in order, stderr, the slots at the end)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in (("docker", FAKE_DOCKER), ("socat", FAKE_SOCAT)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    log, slots = tmp_path / "calls", tmp_path / "slots"
    log.write_text("")
    (tmp_path / "restarts").unlink(missing_ok=True)
    # The running replica serves from s1; s2 waits in maintenance.
    slots.write_text("s1 10.0.0.1 2 0\ns2 0.0.0.0 0 1\n")
    proc = subprocess.run(
        ["/bin/sh", "-c", cmd],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "FAKE_LOG": str(log),
            "FAKE_SLOTS": str(slots),
            "FAKE_RESTARTS": str(tmp_path / "restarts"),
            **env,
        },
    )
    return proc.returncode, log.read_text().splitlines(), proc.stderr, slots.read_text()


def _command() -> str:
    return kept_switch_command(NAME, "demo", 1, PROXY, 0, 5, SWAP_SUFFIX)


def _index(calls: list[str], call: str) -> int:
    assert call in calls, (call, calls)
    return calls.index(call)


def test_the_kept_one_serves_before_the_running_one_drains_and_stops(tmp_path: Path) -> None:
    code, calls, err, slots = _run(_command(), tmp_path)
    assert code == 0, err
    order = [
        f"docker start {KEPT}",
        "hapx set server demo-web/s2 addr 10.0.0.2 port 8080",
        "hapx set server demo-web/s2 state ready",
        "hapx set server demo-web/s1 state drain",
        "hapx set server demo-web/s1 state maint",
        f"docker stop {NAME}",
        f"docker rename {NAME} {TMP}",
        f"docker rename {KEPT} {NAME}",
        f"docker rename {TMP} {KEPT}",
    ]
    positions = [_index(calls, c) for c in order]
    assert positions == sorted(positions), calls
    # HAProxy's check passed on s2 before s1 left the rotation
    checked = calls.index("hapx show servers state demo-web", positions[2])
    assert checked < positions[3]
    assert slots == "s1 10.0.0.1 0 1\ns2 10.0.0.2 2 0\n"


def test_a_kept_container_that_fails_to_start_leaves_the_running_one_serving(
    tmp_path: Path,
) -> None:
    code, calls, err, slots = _run(_command(), tmp_path, FAKE_KEPT_FAILS="1")
    assert code == 1
    assert "the kept container failed; the running one keeps serving" in err
    assert f"docker stop {NAME}" not in calls
    assert not any("rename" in c for c in calls), calls
    assert slots.startswith("s1 10.0.0.1 2 0\n")  # s1 never drained
    assert "s2 0.0.0.0 0 1" in slots


def test_a_kept_container_that_fails_its_monitor_hands_back_to_the_running_one(
    tmp_path: Path,
) -> None:
    code, calls, err, slots = _run(_command(), tmp_path, FAKE_MONITOR="exited 0 false none")
    assert code == 1
    assert "did not stay up; putting the running one back" in err
    assert err.endswith("the running one is back\n")
    tail = calls[_index(calls, f"docker rename {KEPT} {NAME}") :]
    order = [
        f"docker rename {NAME} {KEPT}",
        f"docker rename {TMP} {NAME}",
        f"docker start {NAME}",
        "hapx set server demo-web/s1 addr 10.0.0.1 port 8080",
        "hapx set server demo-web/s1 state ready",
        "hapx set server demo-web/s2 state drain",
        "hapx set server demo-web/s2 state maint",
        f"docker stop {KEPT}",
    ]
    positions = [_index(tail, c) for c in order]
    assert positions == sorted(positions), tail
    assert slots == "s1 10.0.0.1 2 0\ns2 10.0.0.2 0 1\n"


def test_a_removed_replica_leaves_its_backend_before_it_stops(tmp_path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "admin.sock"))  # the proxy is there: a socket at its path
    remove = Action("h", "remove", NAME, "orphan", "orphan", container_id="x", owner_stack="demo")
    command = action_command(remove).replace(SOCKET, str(tmp_path / "admin.sock"))
    code, calls, err, slots = _run(command, tmp_path)
    sock.close()
    assert code == 0, err
    order = [
        "hapx set server demo-web/s1 state drain",
        "hapx set server demo-web/s1 state maint",
        "docker stop x",
        "docker rm x",
    ]
    positions = [_index(calls, c) for c in order]
    assert positions == sorted(positions), calls
    assert "demo-web/s2" not in " ".join(calls)  # in maintenance: left alone
    assert slots.startswith("s1 10.0.0.1 0 1\n")


def test_a_removal_without_a_proxy_just_stops(tmp_path: Path) -> None:
    remove = Action("h", "remove", NAME, "orphan", "orphan", container_id="x", owner_stack="demo")
    code, calls, err, _ = _run(action_command(remove), tmp_path)
    assert code == 0, err
    assert not any(c.startswith("hapx") for c in calls)
    assert calls[-2:] == ["docker stop x", "docker rm x"]


def test_only_proxied_swaps_go_through_the_proxy() -> None:
    swap = Swap("h", "demo", "web", 1, NAME, "a", "b", RolloutConfig(order="start-first"))
    assert "ff_hapx" not in swap_command(swap, 1)
    proxied = Swap("h", "demo", "web", 1, NAME, "a", "b", swap.config, proxy=PROXY)
    assert "set server demo-web/$1 $2" in swap_command(proxied, 1)


# start-first switches of a rollout (start_first_command) and its automatic
# rollback (switch_back_command): a step failing half-way never leaves the
# replica with no container serving, and says so when the old one is not back.


def _recreate() -> Action:
    from plan.planbuilders import stack, svc, want

    from fleetform.model import ProxyConfig

    c = want([stack(svc("web", proxy=ProxyConfig(8080, 8080)))]).containers[0]
    return Action(
        "h",
        "recreate",
        NAME,
        "r",
        "image_changed",
        container=c,
        container_id="oldid",
        owner_stack="demo",
    )


def test_a_rollout_switch_passes_to_the_new_one(tmp_path: Path) -> None:
    code, calls, err, slots = _run(start_first_command(_recreate(), 0), tmp_path)
    assert code == 0, err
    assert calls.index("docker rename oldid demo-web-1.fleetform-old") < calls.index(
        "docker rename newid demo-web-1"
    )
    assert slots == "s1 10.0.0.1 0 1\ns2 10.0.0.3 2 0\n"


def test_a_switch_failing_half_way_puts_the_old_one_back_before_the_new_one_goes(
    tmp_path: Path,
) -> None:
    fail = "rename oldid demo-web-1.fleetform-old"
    code, calls, err, slots = _run(start_first_command(_recreate(), 0), tmp_path, FAKE_FAIL=fail)
    assert code == 1
    assert "failed half-way" in err and "the old one is back" in err, err
    assert NOT_BACK not in err
    order = [
        "docker stop oldid",
        "docker start oldid",
        "hapx set server demo-web/s1 addr 10.0.0.1 port 8080",
        "hapx set server demo-web/s1 state ready",
        "hapx set server demo-web/s2 state maint",
        "docker rm --force newid",
    ]
    positions = [_index(calls, c) for c in order]
    assert positions == sorted(positions), calls
    assert slots == "s1 10.0.0.1 2 0\ns2 10.0.0.3 0 1\n"


def test_a_switch_whose_old_one_cannot_come_back_keeps_the_new_one(tmp_path: Path) -> None:
    fail = "rename oldid demo-web-1.fleetform-old;start oldid"
    code, calls, err, slots = _run(start_first_command(_recreate(), 0), tmp_path, FAKE_FAIL=fail)
    assert code == 1
    assert f"{NAME}: {NOT_BACK}" in err
    assert "docker rm --force newid" not in calls
    assert "s2 10.0.0.3 2 0" in slots  # the new one still serves


def test_a_failed_monitor_removes_the_new_one_only_once_the_old_one_serves(
    tmp_path: Path,
) -> None:
    command = start_first_command(_recreate(), 0)
    code, calls, err, _ = _run(command, tmp_path, FAKE_MONITOR="exited 0 false none")
    assert code == 1 and "the old one is back" in err, err
    assert calls.index("hapx set server demo-web/s1 state ready") < calls.index(
        "docker rm --force newid"
    )
    assert calls[-1] == "docker rename oldid demo-web-1"
    code, calls, err, _slots = _run(
        command, tmp_path, FAKE_MONITOR="exited 0 false none", FAKE_FAIL="start oldid"
    )
    assert code == 1 and f"{NAME}: {NOT_BACK}" in err, err
    assert "docker rm --force newid" not in calls
    assert "docker rename oldid demo-web-1" not in calls


def test_going_back_fails_when_the_current_one_cannot_be_removed(tmp_path: Path) -> None:
    command = switch_back_command(_recreate(), 0)
    code, calls, err, slots = _run(command, tmp_path, FAKE_FAIL=f"rm --force {NAME}")
    assert code == 1
    assert "failed half-way" in err
    assert f"docker rename {KEPT} {NAME}" not in calls
    code, calls, err, slots = _run(command, tmp_path, FAKE_FAIL=f"rename {KEPT} {NAME}")
    assert code == 1 and "failed half-way" in err
    code, calls, err, slots = _run(command, tmp_path)
    assert code == 0, err
    assert slots == "s1 10.0.0.1 0 1\ns2 10.0.0.2 2 0\n"


def test_a_rollback_counts_only_the_failed_units_whose_old_one_came_back() -> None:
    from fleetform.executor.rollout import RolloutResult, _roll_back
    from fleetform.plan.rollout import Unit
    from fleetform.runlog.run import new_run

    action = _recreate()
    back = Unit("a", action)
    stuck = Unit("b", action)
    result = RolloutResult()
    result.states = {back: "failed", stuck: "failed"}
    result.errors = {
        back: f"fleetform: {NAME}: the old one is back",
        stuck: f"fleetform: {NAME}: {NOT_BACK}: it did not serve again; the new one stays",
    }
    _roll_back(None, "demo", result, [], new_run())  # type: ignore[arg-type]
    assert result.states == {back: "rolled_back", stuck: "failed"}


def test_a_manual_rollback_keeps_the_kept_one_serving_when_the_running_one_cannot_come_back(
    tmp_path: Path,
) -> None:
    code, calls, err, slots = _run(
        _command(), tmp_path, FAKE_MONITOR="exited 0 false none", FAKE_FAIL=f"start {NAME}"
    )
    assert code == 1 and f"{NAME}: {NOT_BACK}" in err, err
    assert f"docker stop {KEPT}" not in calls
    assert "s2 10.0.0.2 2 0" in slots  # the kept one still serves


def test_a_stop_first_rollback_of_a_proxied_replica_repoints_its_slot(tmp_path: Path) -> None:
    swap = Swap("h", "demo", "web", 1, NAME, "a", "b", RolloutConfig(), repoint=PROXY)
    command = swap_command(swap, 0)
    code, calls, err, slots = _run(command, tmp_path, FAKE_STARTED_IP="10.0.0.9")
    assert code == 0, err
    order = [
        "hapx set server demo-web/s1 state drain",
        "hapx set server demo-web/s1 state maint",
        f"docker stop {NAME}",
        f"docker rename {KEPT} {NAME}",
        f"docker start {NAME}",
        "hapx set server demo-web/s1 addr 10.0.0.9 port 8080",
        "hapx set server demo-web/s1 state ready",
        f"docker rename {TMP} {KEPT}",
    ]
    positions = [_index(calls, c) for c in order]
    assert positions == sorted(positions), calls
    assert slots == "s1 10.0.0.9 2 0\ns2 0.0.0.0 0 1\n"
    # The kept one fails: the running one is back, and so is its slot.
    code, calls, err, slots = _run(
        command, tmp_path, FAKE_STARTED_IP="10.0.0.9", FAKE_MONITOR="exited 0 false none"
    )
    assert code == 1 and "the running one is put back" in err, err
    tail = calls[_index(calls, f"docker rename {NAME} {KEPT}") :]
    order = [
        f"docker rename {TMP} {NAME}",
        f"docker start {NAME}",
        "hapx set server demo-web/s1 addr 10.0.0.9 port 8080",
        "hapx set server demo-web/s1 state ready",
    ]
    positions = [_index(tail, c) for c in order]
    assert positions == sorted(positions), tail
    assert slots.startswith("s1 10.0.0.9 2 0")


# The monitor window's baseline is taken right after the container started:
# a restart during the health wait that follows fails the window, on every
# path that starts a container and then watches it.


def _healthy_recreate(**kw: object) -> Action:
    from plan.planbuilders import stack, svc, want

    from fleetform.model import Healthcheck

    check = Healthcheck(("CMD", "true"))
    c = want([stack(svc("web", healthcheck=check, **kw))]).containers[0]
    return Action(
        "h",
        "recreate",
        NAME,
        "r",
        "image_changed",
        container=c,
        container_id="oldid",
        owner_stack="demo",
    )


def _watched_commands() -> dict[str, str]:
    from fleetform.executor.rollout_steps import rollout_recreate_command, swap_back_command
    from fleetform.model import ProxyConfig

    first = RolloutConfig(order="start-first")
    proxied = _healthy_recreate(proxy=ProxyConfig(8080, 8080))
    plain = Swap("h", "demo", "web", 1, NAME, "a", "b", RolloutConfig())
    return {
        "rollout stop-first": rollout_recreate_command(_healthy_recreate(), 1),
        "rollout start-first": rollout_recreate_command(_healthy_recreate(update_config=first), 1),
        "rollout through the proxy": start_first_command(proxied, 1),
        "automatic rollback stop-first": swap_back_command(_healthy_recreate(), 1),
        "automatic rollback start-first": swap_back_command(
            _healthy_recreate(rollback_config=first), 1
        ),
        "automatic rollback through the proxy": switch_back_command(proxied, 1),
        "fleetform rollback stop-first": swap_command(plain, 1),
        "fleetform rollback stop-first, slot follows": swap_command(
            Swap("h", "demo", "web", 1, NAME, "a", "b", RolloutConfig(), repoint=PROXY), 1
        ),
        "fleetform rollback through the proxy": _command_watching(1),
    }


def _command_watching(monitor: float) -> str:
    return kept_switch_command(NAME, "demo", 1, PROXY, monitor, 5, SWAP_SUFFIX)


@pytest.mark.parametrize("path", sorted(_watched_commands()))
def test_a_restart_during_the_health_wait_fails_the_monitor_window(
    tmp_path: Path, path: str
) -> None:
    command = _watched_commands()[path]
    code, calls, err, _ = _run(command, tmp_path)
    assert code == 0, (path, err)
    code, calls, err, _ = _run(command, tmp_path, FAKE_RESTART_IN_WAIT="1")
    assert code != 0, (path, calls)
    assert "did not stay up for 1s (status restarts started oom-killed health: running 1" in err
    # The baseline was read right after the start, before the health wait.
    start = next(i for i, c in enumerate(calls) if c.startswith("docker start "))
    baseline = calls.index(next(c for c in calls if "{{.RestartCount}} {{.State.StartedAt}}" in c))
    wait = next(i for i, c in enumerate(calls) if "{{.State.Status}} {{if" in c)
    assert start < baseline < wait, calls
