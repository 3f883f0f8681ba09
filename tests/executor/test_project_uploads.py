"""Project files, configs and data folders on the host: the upload steps, run for real.

The steps are run here with a shell, under a temporary folder standing for
the host's /var/lib/fleetform/projects, with uploads done by copying.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from pyinfra.api.command import FileUploadCommand, StringCommand

sys.path.insert(0, str(Path(__file__).parent.parent / "plan"))

from planbuilders import host_state, stack, svc, want

from fleetform.executor import argv as A
from fleetform.executor.operations import plan_commands
from fleetform.executor.project_uploads import project_steps
from fleetform.executor.uploads import Shell, Upload
from fleetform.model import LABEL_PROJECT_FILES, PROJECTS_DIR, Mount, ProjectFile
from fleetform.plan import Action, HostPlan, plan_host
from fleetform.plan.desired import HostDesired
from fleetform.plan.projectfiles import CHANGED, FOLDER, observe_script, parse_observed_paths
from fleetform.stackfile.projectfiles import file_digest, tree_digest

SECRET_LOOKING = "content-that-must-not-be-in-a-command"
APP_DIGEST = "sha256:" + hashlib.sha256(SECRET_LOOKING.encode()).hexdigest()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "project"
    (p / "conf.d" / "sub").mkdir(parents=True)
    (p / "nginx.conf").write_text("worker_processes 1;\n")
    (p / "conf.d" / "sub" / "a.conf").write_text("a\n")
    (p / "conf.d" / "run.sh").write_text("#!/bin/sh\n")
    (p / "conf.d" / "run.sh").chmod(0o755)
    (p / "conf.d" / "link").symlink_to("sub/a.conf")
    (p / "seed").mkdir()
    (p / "seed" / "x").write_text("seeded\n")
    return p


def desired(p: Path) -> HostDesired:
    files = (
        ProjectFile("./nginx.conf", "/etc/nginx/nginx.conf", file_digest(p / "nginx.conf"),
                    "nginx.conf", p / "nginx.conf"),
        ProjectFile("./conf.d/", "/etc/nginx/conf.d", tree_digest(p / "conf.d"), "conf.d",
                    p / "conf.d", folder=True),
        ProjectFile("config app", "/app", APP_DIGEST, "app",
                    content=SECRET_LOOKING.encode(), uid=0, gid=0, mode=0o440),
    )  # fmt: skip
    volumes = (
        Mount("bind", "/seed", data="seed", seed=p / "seed"),
        Mount("bind", "/data", data="pg/data"),
    )
    return want([stack(svc("web", files=files, volumes=volumes))])


def create_action(d: HostDesired, present: dict[str, str] | None = None) -> Action:
    [action] = [a for a in plan_host(d, host_state(d, project_paths=present)).actions]
    assert action.kind == "create"
    return action


def run_steps(action: Action, host_root: Path) -> None:
    """Run the steps with ``host_root`` standing for the host's projects folder."""
    run_steps_of(list(project_steps(action)), host_root)


def test_first_apply_uploads_files_and_creates_data_folders(project: Path, tmp_path: Path) -> None:
    host = tmp_path / "host"
    run_steps(create_action(desired(project)), host)
    files = host / "demo" / "files"
    [conf] = files.glob("*/nginx.conf")
    assert conf.read_text() == "worker_processes 1;\n"
    [folder] = [p for p in files.glob("*/conf.d")]
    assert (folder / "sub" / "a.conf").read_text() == "a\n"
    assert (folder / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (folder / "link").is_symlink() and (folder / "link").read_text() == "a\n"
    assert (folder.parent.parent / f"{folder.parent.name}.done").exists()
    [app] = files.glob("[!.]*-0-0-440/app")
    assert app.read_text() == SECRET_LOOKING and app.stat().st_mode & 0o777 == 0o440
    assert (host / "demo" / "data" / "seed" / "x").read_text() == "seeded\n"
    assert (host / "demo" / "data" / "pg" / "data").is_dir()
    assert not list(files.glob(".staging-*")) and not list((host / "demo").glob(".seed-*"))


def test_data_is_never_overwritten_and_present_files_are_kept(
    project: Path, tmp_path: Path
) -> None:
    host = tmp_path / "host"
    d = desired(project)
    run_steps(create_action(d), host)
    data = host / "demo" / "data"
    (data / "seed" / "x").write_text("written by the container\n")
    [conf] = (host / "demo" / "files").glob("*/nginx.conf")
    inode = conf.stat().st_ino
    # Not observed (None): every data folder may be missing, and the steps still keep it.
    run_steps(create_action(d), host)
    assert (data / "seed" / "x").read_text() == "written by the container\n"
    assert conf.stat().st_ino == inode  # a running container's file is not replaced
    # A file changed on the host is replaced.
    conf.write_text("tampered\n")
    run_steps(create_action(d), host)
    [conf] = (host / "demo" / "files").glob("*/nginx.conf")
    assert conf.read_text() == "worker_processes 1;\n"


def test_data_folders_the_host_has_get_no_steps(project: Path) -> None:
    d = desired(project)
    present = {
        f"{PROJECTS_DIR}/demo/data/seed": "data",
        f"{PROJECTS_DIR}/demo/data/pg/data": "data",
    }
    steps = project_steps(create_action(d, present))
    assert not [s for s in steps if isinstance(s, Shell) and "/data/" in s.command]
    assert not [s for s in steps if isinstance(s, Upload) and str(s.src).endswith("/seed/x")]


def test_uploads_come_before_the_container_and_content_never_in_a_command(
    project: Path,
) -> None:
    action = create_action(desired(project))
    commands = list(plan_commands(replace_plan(action)))
    texts = [c.get_raw_value() if isinstance(c, StringCommand) else "" for c in commands]
    create = next(i for i, t in enumerate(texts) if "docker create" in t)
    uploads = [i for i, c in enumerate(commands) if isinstance(c, FileUploadCommand)]
    assert uploads and max(uploads) < create
    assert not any(SECRET_LOOKING in t for t in texts)


def replace_plan(action: Action) -> HostPlan:
    return HostPlan(host="host-a", actions=(action,))


def test_the_container_mounts_the_uploaded_paths_and_records_digests(project: Path) -> None:
    c = create_action(desired(project)).container
    assert c is not None
    argv = A.container_create_argv(c)
    mounts = [argv[i + 1] for i, a in enumerate(argv) if a == "--mount"]
    assert any(
        m.startswith(f"type=bind,source={PROJECTS_DIR}/demo/files/") and "target=/app" in m
        for m in mounts
    )
    assert f"type=bind,source={PROJECTS_DIR}/demo/data/pg/data,target=/data" in mounts
    label = next(argv[i + 1] for i, a in enumerate(argv) if a == "--label" and
                 argv[i + 1].startswith(LABEL_PROJECT_FILES))  # fmt: skip
    assert file_digest(project / "nginx.conf") in label and SECRET_LOOKING not in label


def test_an_unreadable_folder_fails_before_anything_runs(project: Path) -> None:
    d = desired(project)
    action = create_action(d)
    shutil.rmtree(project / "conf.d")
    [failing] = list(plan_commands(replace_plan(action)))
    assert "conf.d is not a folder on this machine" in failing.get_raw_value()


def test_a_file_edited_after_the_plan_is_refused_on_the_host(project: Path, tmp_path: Path) -> None:
    action = create_action(desired(project))
    (project / "nginx.conf").write_text("edited after the plan\n")
    with pytest.raises(subprocess.CalledProcessError):
        run_steps(action, tmp_path / "host")
    assert not list((tmp_path / "host" / "demo" / "files").glob("[!.]*/nginx.conf"))


def test_a_writable_file_keeps_what_the_container_wrote(project: Path, tmp_path: Path) -> None:
    (project / "app.db").write_text("v1\n")
    db = ProjectFile("./app.db", "/data/app.db", file_digest(project / "app.db"), "app.db",
                     project / "app.db", read_only=False)  # fmt: skip
    host = tmp_path / "host"
    run_steps(create_action(want([stack(svc("web", files=(db,)))])), host)
    [copy] = (host / "demo" / "files").glob("*/app.db")
    copy.write_text("written by the container\n")
    # A recreate for another reason (not observed: None) keeps the container's data.
    run_steps(create_action(want([stack(svc("web", files=(db,)))])), host)
    assert copy.read_text() == "written by the container\n"
    # A new version of the project's file goes to its own folder; the old one stays.
    (project / "app.db").write_text("v2\n")
    db2 = replace(db, digest=file_digest(project / "app.db"))
    run_steps(create_action(want([stack(svc("web", files=(db2,)))])), host)
    assert copy.read_text() == "written by the container\n"
    assert sorted(p.read_text() for p in (host / "demo" / "files").glob("*/app.db")) == [
        "v2\n",
        "written by the container\n",
    ]


def test_a_folder_edited_after_the_plan_is_never_uploaded(project: Path) -> None:
    action = create_action(desired(project))
    (project / "conf.d" / "sub" / "a.conf").write_text("edited after the plan\n")
    failing = [c.get_raw_value() for c in plan_commands(replace_plan(action))]
    assert len(failing) == 1 and "./conf.d/ changed since the plan; plan again" in failing[0]


def test_a_folder_file_changed_while_uploading_is_refused_on_the_host(
    project: Path, tmp_path: Path
) -> None:
    steps = project_steps(create_action(desired(project)))  # read as planned
    (project / "conf.d" / "sub" / "a.conf").write_text("changed before its upload\n")
    host = tmp_path / "host"
    with pytest.raises(subprocess.CalledProcessError):
        run_steps_of(list(steps), host)
    assert not list((host / "demo" / "files").glob("[!.]*/conf.d"))


def run_steps_of(steps: list[Upload | Shell], host_root: Path) -> None:
    """Run ``steps`` with ``host_root`` standing for the host's projects folder."""
    for step in steps:
        if isinstance(step, Upload):
            dest = Path(step.dest.replace(PROJECTS_DIR, str(host_root)))
            if isinstance(step.src, bytes):
                dest.write_bytes(step.src)
            else:
                shutil.copyfile(step.src, dest)
        else:
            command = step.command.replace(PROJECTS_DIR, str(host_root))
            subprocess.run(["sh", "-c", command.replace("chown 0:0", "true 0:0")], check=True)


def test_a_folder_changed_on_the_host_is_seen_and_uploaded_again(
    project: Path, tmp_path: Path
) -> None:
    host = tmp_path / "host"
    d = desired(project)
    run_steps(create_action(d), host)
    [folder] = (host / "demo" / "files").glob("*/conf.d")
    done = folder.parent.parent / f"{folder.parent.name}.done"
    assert b"./sub/a.conf" in done.read_bytes()  # the manifest is the done marker
    remote = str(folder).replace(str(host), PROJECTS_DIR)
    script = observe_script([("folder", remote)]).replace(PROJECTS_DIR, str(host))

    def observed() -> str:
        out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
        return parse_observed_paths(out.stdout.replace(str(host), PROJECTS_DIR))[remote]

    assert observed() == FOLDER
    (folder / "sub" / "a.conf").write_text("tampered\n")
    assert observed() == CHANGED
    run_steps(create_action(d), host)  # the apply puts the planned content back
    assert (folder / "sub" / "a.conf").read_text() == "a\n" and observed() == FOLDER
