"""The host side of the proxy as shell text: observing and ensuring HAProxy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fleetform.proxy.config import render_config
from fleetform.proxy.host import POLICY_RC, ensure_script, held_apt, parse_observed_proxy


def test_the_observed_section_gives_package_service_and_the_whole_file() -> None:
    text = render_config([])
    seen = parse_observed_proxy("installed 1\nactive active\nupgrade\n" + text.rstrip("\n"))
    assert (seen.installed, seen.active, seen.config, seen.upgrade) == (True, True, text, None)
    newer = parse_observed_proxy("installed 1\nactive active\nupgrade 2.6.1-1 2.6.2-1\n# x")
    assert (newer.upgrade, newer.config) == (("2.6.1-1", "2.6.2-1"), "# x\n")
    assert parse_observed_proxy("installed 0\nactive inactive\n") == parse_observed_proxy("")


def test_the_new_file_is_checked_before_it_replaces_the_old_one() -> None:
    script = ensure_script(render_config([]))
    check = script.index("haproxy -c -q -f /etc/haproxy/haproxy.cfg.fleetform-new")
    assert check < script.index("mv -f /etc/haproxy/haproxy.cfg.fleetform-new")
    assert "systemctl reload haproxy" in script


def test_a_file_cannot_end_the_here_document_early() -> None:
    with pytest.raises(ValueError):
        ensure_script("global\nFLEETFORM_HAPROXY_CFG_END\nrm -rf /\n")


# A stand-in apt-get logs what a package script asking policy-rc.d would hear.
FAKE_APT = r"""#!/bin/sh
echo "apt-get $*" >> "$FAKE_LOG"
if [ -x "$POLICY" ]; then "$POLICY" haproxy restart; echo "policy says $?" >> "$FAKE_LOG"
else echo "no policy" >> "$FAKE_LOG"; fi
exit "${FAKE_APT_EXIT:-0}"
"""


def _held(tmp_path: Path, before: str | None = None, **env: str) -> tuple[int, list[str], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "apt-get").write_text(FAKE_APT)
    (bin_dir / "apt-get").chmod(0o755)
    policy, log = tmp_path / "policy-rc.d", tmp_path / "calls"
    log.write_text("")
    if before is not None:
        policy.write_text(before)
        policy.chmod(0o755)
    proc = subprocess.run(
        ["/bin/sh", "-c", held_apt("--reinstall haproxy").replace(POLICY_RC, str(policy))],
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "FAKE_LOG": str(log),
            "POLICY": str(policy),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    return proc.returncode, log.read_text().splitlines(), policy


def test_package_scripts_may_not_restart_haproxy_during_the_apt_run_only(tmp_path: Path) -> None:
    code, calls, policy = _held(tmp_path)
    assert code == 0
    assert calls[0].startswith("apt-get install -y -q -o Dpkg::Options::=--force-confold")
    assert calls[0].endswith(" --reinstall haproxy")
    assert calls[1] == "policy says 101"  # forbidden while apt runs
    assert not policy.exists()  # and gone after


def test_the_hold_goes_on_failure_and_a_policy_the_host_had_comes_back(tmp_path: Path) -> None:
    code, calls, policy = _held(tmp_path, FAKE_APT_EXIT="100")
    assert code == 100 and calls[1] == "policy says 101"
    assert not policy.exists()
    theirs = "#!/bin/sh\nexit 0\n"
    code, calls, policy = _held(tmp_path, before=theirs, FAKE_APT_EXIT="1")
    assert calls[1] == "policy says 101"
    assert policy.read_text() == theirs
    assert not (tmp_path / "policy-rc.d.fleetform-saved").exists()


def test_runtime_lines_run_when_the_file_is_unchanged(tmp_path: Path) -> None:
    # A slot put in maintenance by hand: the file is as rendered, the slot is not.
    from fleetform.proxy.config import CONFIG_FILE, SOCKET

    bin_dir, log, cfg = tmp_path / "bin", tmp_path / "calls", tmp_path / "haproxy.cfg"
    bin_dir.mkdir()
    for name, text in {
        "systemctl": 'echo "systemctl $*" >> "$FAKE_LOG"',
        "haproxy": 'echo "haproxy $*" >> "$FAKE_LOG"',
        "socat": 'read -r line; echo "socat $line" >> "$FAKE_LOG"; echo "Pid: 7"',
    }.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{text}\n")
        (bin_dir / name).chmod(0o755)
    config = render_config([])
    sock = str(tmp_path / "sock")
    # as the here-document writes it (with the same socket path)
    cfg.write_text(config.replace(SOCKET, sock).rstrip("\n") + "\n")
    script = "\n".join(
        [ensure_script(config), "echo fleetform-proxy-set", "ff_hapx 'set server b/s1 state ready'"]
    )
    script = script.replace(CONFIG_FILE, str(cfg)).replace(SOCKET, sock)
    proc = subprocess.run(
        ["/bin/sh", "-c", script],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_LOG": str(log)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    calls = log.read_text().splitlines()
    assert proc.returncode == 0, proc.stderr
    assert "fleetform-proxy-set" in proc.stdout
    assert "socat set server b/s1 state ready" in calls
    assert not any("reload" in c or "restart" in c for c in calls), calls


def _observe_with(tmp_path: Path, status: str) -> str:
    """OBSERVE_SCRIPT with dpkg, apt-cache and systemctl stubbed: 2.6.13-1 is offered."""
    import subprocess

    from fleetform.proxy.host import OBSERVE_SCRIPT

    bin_ = tmp_path / "bin"
    bin_.mkdir(exist_ok=True)
    stubs = {
        "dpkg-query": f'case "$*" in *Status*) printf %s {status!r} ;; *) printf 2.6.12-1 ;; esac',
        "apt-cache": "echo '  Installed: 2.6.12-1'; echo '  Candidate: 2.6.13-1'",
        "dpkg": "exit 0",  # --compare-versions 2.6.13-1 gt 2.6.12-1
        "systemctl": "echo active",
    }
    for name, body in stubs.items():
        (bin_ / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_ / name).chmod(0o755)
    env = {"PATH": f"{bin_}:/usr/bin:/bin"}
    return subprocess.run(
        ["sh", "-c", OBSERVE_SCRIPT], capture_output=True, text=True, env=env, check=True
    ).stdout


def test_the_observation_reads_a_held_package_as_installed_and_held(tmp_path: Path) -> None:
    held = parse_observed_proxy(_observe_with(tmp_path, "hold ok installed"))
    assert (held.installed, held.held, held.upgrade) == (True, True, ("2.6.12-1", "2.6.13-1"))
    plain = parse_observed_proxy(_observe_with(tmp_path, "install ok installed"))
    assert (plain.installed, plain.held) == (True, False)
    gone = parse_observed_proxy(_observe_with(tmp_path, "deinstall ok config-files"))
    assert (gone.installed, gone.held) == (False, False)
