"""SELinux relabelling (`z`/`Z`): the bind is given with `--volume`, which can relabel
(`--mount` cannot); it is read back from `HostConfig.Binds`; uploaded project files
carry the option in their label."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "plan"))

from planbuilders import stack, svc, want

from fleetform.executor.argv import container_create_argv
from fleetform.model import Mount, ProjectFile
from fleetform.observe.inspect import spec_from_inspect
from fleetform.plan.parts import MountSpec
from fleetform.plan.projectfiles import file_changes, files_label


def _argv(**service: object) -> list[str]:
    return container_create_argv(want([stack(svc("web", **service))]).containers[0])


def test_a_relabelled_bind_is_a_volume_option_and_others_stay_mounts() -> None:
    argv = _argv(
        volumes=(
            Mount("bind", "/conf", "/srv/conf", True, selinux="z"),
            Mount("bind", "/own", "/srv/own", selinux="Z"),
            Mount("bind", "/plain", "/srv/plain"),
        )
    )
    assert argv[argv.index("/srv/conf:/conf:ro,z") - 1] == "--volume"
    assert "/srv/own:/own:Z" in argv
    assert "type=bind,source=/srv/plain,target=/plain" in argv


def test_an_uploaded_project_file_with_a_relabel_is_a_volume_option(tmp_path: Path) -> None:
    conf = tmp_path / "app.conf"
    conf.write_text("x\n")
    f = ProjectFile("./app.conf", "/etc/app.conf", "sha256:00", "app.conf", conf, selinux="Z")
    argv = _argv(files=(f,))
    [volume] = [argv[i + 1] for i, a in enumerate(argv) if a == "--volume"]
    assert volume.endswith("/app.conf:/etc/app.conf:ro,Z")


def test_a_colon_in_a_relabelled_path_is_refused_even_from_a_hand_made_model() -> None:
    with pytest.raises(ValueError, match="holds `:`"):
        _argv(volumes=(Mount("bind", "/conf", "/srv/a:b", selinux="z"),))


def test_binds_are_read_back_with_their_relabel_option() -> None:
    container = {
        "Config": {},
        "HostConfig": {
            "Binds": ["/srv/conf:/conf:ro,z", "/srv/own:/own:Z", "named:/data:rw"],
            "Mounts": [{"Type": "bind", "Source": "/srv/plain", "Target": "/plain"}],
        },
    }
    assert spec_from_inspect(container).mounts == (
        MountSpec("bind", "/conf", "/srv/conf", True, selinux="z"),
        MountSpec("volume", "/data", "named"),
        MountSpec("bind", "/own", "/srv/own", selinux="Z"),
        MountSpec("bind", "/plain", "/srv/plain"),
    )


def test_a_changed_relabel_of_an_uploaded_file_is_a_change() -> None:
    plain = ProjectFile("./app.conf", "/etc/app.conf", "sha256:00", "app.conf")
    relabelled = ProjectFile("./app.conf", "/etc/app.conf", "sha256:00", "app.conf", selinux="z")
    assert '"selinux"' not in files_label((plain,))  # older labels stay equal
    assert file_changes((plain,), files_label((plain,))) == []
    [change] = file_changes((relabelled,), files_label((plain,)))
    assert str(change) == (
        "project file ./app.conf: /etc/app.conf (read-only) -> "
        "/etc/app.conf (read-only, SELinux :z)"
    )
