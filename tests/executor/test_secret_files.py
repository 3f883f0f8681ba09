"""Mounted secrets on the host: uploaded as files, mounted by path, never in a command."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import replace
from pathlib import Path

from pyinfra.api.command import FileUploadCommand

sys.path.insert(0, str(Path(__file__).parent.parent / "plan"))

from planbuilders import stack, svc, want

from fleetform.executor import argv as A
from fleetform.executor.observation import KEY_PART, host_command, mounts_secrets
from fleetform.executor.operations import plan_commands
from fleetform.executor.steps import secret_cleanup_command, secret_files
from fleetform.model import LABEL_SECRETS, Secret, SecretMount
from fleetform.observe.inspect import spec_from_inspect
from fleetform.plan import Action, HostPlan, plan_host
from fleetform.plan.desired import DesiredContainer, HostDesired
from fleetform.plan.observed import Observed
from fleetform.revisions.host import digest_key_script, parse_digest_key

PASSWORD = "correct-horse-battery"
KEY = "cd" * 32


def _desired() -> HostDesired:
    s = stack(
        svc(
            "web",
            secrets=(
                SecretMount("db", "/run/secrets/db"),
                SecretMount("db", "/etc/app/db.pw", uid=70, gid=71, mode=0o400),
            ),
        ),
        svc("plain"),
        secrets=(Secret("db", PASSWORD.encode(), "file ./db.enc", sops=True),),
    )
    return want([s])


def _planned() -> tuple[Action, ...]:
    return plan_host(_desired(), Observed(digest_key=KEY)).actions


def _web(actions: tuple[Action, ...]) -> Action:
    return next(a for a in actions if a.resource == "demo-web-1")


def test_docker_create_mounts_each_file_read_only_and_labels_digests_only() -> None:
    web = _web(_planned())
    assert web.container is not None
    argv = A.container_create_argv(web.container)
    mounts = [argv[i + 1] for i, word in enumerate(argv) if word == "--mount"]
    [files] = {tuple(f.path for f in secret_files(web))}
    assert mounts == [
        f"type=bind,source={files[0]},target=/etc/app/db.pw,readonly",
        f"type=bind,source={files[1]},target=/run/secrets/db,readonly",
    ]
    assert all(p.startswith("/run/fleetform/secrets/demo-web-1/") for p in files)
    label = next(w for w in argv if w.startswith(f"{LABEL_SECRETS}="))
    assert set(json.loads(label.partition("=")[2])) == {"/etc/app/db.pw", "/run/secrets/db"}
    assert PASSWORD not in " ".join(argv)


def test_the_files_are_uploaded_before_the_create_then_owned_as_the_stack_says() -> None:
    commands = list(plan_commands(HostPlan("h", _planned())))
    shown = [
        f"upload {c.dest}" if isinstance(c, FileUploadCommand) else str(c).split(" --label")[0]
        for c in commands
    ]
    web = _web(_planned())
    old, new = (f.path for f in secret_files(web))
    assert shown[shown.index("docker create --name demo-plain-1") + 1 :] == [
        "umask 077 && install -d -m 700 /run/fleetform/secrets /run/fleetform/secrets/demo-web-1",
        f"upload {old}",
        f"chown 70:71 {old} && chmod 0400 {old}",
        f"upload {new}",
        f"chown 0:0 {new} && chmod 0444 {new}",
        "docker create --name demo-web-1",
        secret_cleanup_command(),
    ]
    uploads = [c for c in commands if isinstance(c, FileUploadCommand)]
    assert all(isinstance(c.src, io.BytesIO) for c in uploads)
    assert [c.src.getvalue() for c in uploads] == [PASSWORD.encode()] * 2  # type: ignore[union-attr]
    assert not any(PASSWORD in str(c) for c in commands if not isinstance(c, FileUploadCommand))


def test_a_plan_without_secrets_or_removals_runs_no_cleanup() -> None:
    d = want([stack(svc("plain"))])
    commands = [str(c) for c in plan_commands(plan_host(d, Observed()))]
    assert secret_cleanup_command() not in commands


def test_a_secret_file_mount_is_not_taken_for_a_declared_mount() -> None:
    container = {
        "Config": {"Image": "x"},
        "HostConfig": {
            "Mounts": [
                {
                    "Type": "bind",
                    "Source": "/run/fleetform/secrets/demo-web-1/abc_run_secrets_db",
                    "Target": "/run/secrets/db",
                    "ReadOnly": True,
                },
                {"Type": "bind", "Source": "/srv/data", "Target": "/data"},
            ]
        },
    }
    assert [m.target for m in spec_from_inspect(container).mounts] == ["/data"]


def test_observation_makes_the_hosts_key_only_when_a_stack_mounts_secrets() -> None:
    with_secrets = _desired()
    without = want([stack(svc("plain"))])
    assert mounts_secrets(with_secrets) and not mounts_secrets(without)
    assert digest_key_script(True) in host_command(with_secrets)
    assert digest_key_script(False) in host_command(without)
    assert "install -d" not in digest_key_script(False)
    assert KEY_PART in host_command(without)


def test_a_key_is_64_hex_digits_or_none() -> None:
    assert parse_digest_key(f"{KEY}\n") == KEY
    assert parse_digest_key("") is None
    assert parse_digest_key("cat: no such file") is None


def test_a_container_without_a_computed_label_mounts_nothing() -> None:
    c: DesiredContainer = next(x for x in _desired().containers if x.name == "demo-web-1")
    assert replace(c, secrets=()).secrets_label == ""
    assert A.secret_mount_args(replace(c, secrets=())) == []
