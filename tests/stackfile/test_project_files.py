"""Relative bind-mount sources and Compose ``configs``: uploaded files or data folders."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from fleetform.model import Mount
from fleetform.stackfile.projectfiles import tree_digest

from .helpers import load_text, messages, write


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "nginx.conf").write_text("worker_processes 1;\n")
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "a.conf").write_text("a\n")
    (tmp_path / "seed").mkdir()
    (tmp_path / "seed" / "x").write_text("x\n")
    return tmp_path


def web(volumes: str, extra: str = "") -> str:
    return f"name: p\nservices:\n  web:\n    image: x\n    volumes: {volumes}\n{extra}"


def test_each_relative_source_gets_its_meaning(project: Path) -> None:
    stack = load_text(
        project,
        web(
            "['./nginx.conf:/etc/nginx/nginx.conf:ro', './conf.d:/etc/nginx/conf.d:ro', "
            "'./seed:/seed', './pgdata:/var/lib/pg', '/srv/logs:/logs', 'cache:/cache']",
            "volumes: {cache: {}}\n",
        ),
    )
    [svc] = stack.services
    files = {f.target: f for f in svc.files}
    conf = files["/etc/nginx/nginx.conf"]
    assert (conf.origin, conf.name, conf.folder, conf.read_only) == (
        "./nginx.conf",
        "nginx.conf",
        False,
        True,
    )
    assert conf.digest == sha(b"worker_processes 1;\n")
    folder = files["/etc/nginx/conf.d"]
    assert (folder.origin, folder.folder, folder.digest) == (
        "./conf.d/",
        True,
        tree_digest(project / "conf.d"),
    )
    by_target = {m.target: m for m in svc.volumes}
    # A writable folder the project has seeds the host's folder; a missing one is empty.
    assert by_target["/seed"] == Mount("bind", "/seed", data="seed", seed=project / "seed")
    assert by_target["/var/lib/pg"] == Mount("bind", "/var/lib/pg", data="pgdata")
    assert by_target["/logs"] == Mount("bind", "/logs", "/srv/logs")
    assert by_target["/cache"].type == "volume"


def test_a_writable_project_file_is_still_uploaded(project: Path) -> None:
    [svc] = load_text(project, web("['./nginx.conf:/etc/nginx/nginx.conf']")).services
    [conf] = svc.files
    assert not conf.read_only and svc.volumes == ()


def test_a_folder_digest_follows_names_modes_and_content(project: Path) -> None:
    before = tree_digest(project / "conf.d")
    (project / "conf.d" / "a.conf").write_text("b\n")
    changed = tree_digest(project / "conf.d")
    os.chmod(project / "conf.d" / "a.conf", 0o600)
    moded = tree_digest(project / "conf.d")
    (project / "conf.d" / "a.conf").rename(project / "conf.d" / "b.conf")
    renamed = tree_digest(project / "conf.d")
    assert len({before, changed, moded, renamed}) == 4


@pytest.mark.parametrize(
    ("volumes", "message"),
    [
        ("['../outside:/x:ro']", "`../outside` is outside the project folder"),
        ("['~/conf:/x']", "starts with `~`, which would be this machine's home folder"),
        ("['.:/app']", "the project folder itself (`.`) cannot be a data folder"),
        ("['./link:/x:ro']", "outside the project folder"),
        ("['./conf.d:/x:ro', './conf.d/a.conf:/x/a']", None),
    ],
)
def test_bad_project_paths_are_refused(project: Path, volumes: str, message: str | None) -> None:
    (project / "link").symlink_to("/etc")
    text = web(volumes)
    if message is None:
        load_text(project, text)  # a file inside a mounted folder is fine
        return
    [problem] = messages(write(project, text))
    assert message in problem


def test_a_link_out_of_a_mounted_folder_is_refused(project: Path) -> None:
    (project / "conf.d" / "passwd").symlink_to("/etc/passwd")
    [problem] = messages(write(project, web("['./conf.d:/etc/nginx/conf.d:ro']")))
    assert "cannot upload the project path `./conf.d`" in problem
    assert "passwd is a symbolic link to /etc/passwd, outside the folder" in problem


def test_the_whole_project_mounted_read_only_is_uploaded(project: Path) -> None:
    [svc] = load_text(project, web("['.:/app:ro']")).services
    [app] = svc.files
    assert (app.origin, app.folder, app.name) == ("./", True, project.name)


def test_configs_from_file_content_and_environment(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_CONF", "from-env")
    stack = load_text(
        project,
        "name: p\n"
        "configs:\n"
        "  nginx: {file: ./nginx.conf}\n"
        "  inline: {content: 'x=1'}\n"
        "  env: {environment: APP_CONF}\n"
        "services:\n  web:\n    image: x\n    configs:\n"
        "      - nginx\n"
        "      - {source: inline, target: /etc/app.conf, uid: '1000', gid: '1000', mode: 0440}\n"
        "      - {source: env, target: rel/env.conf}\n",
    )
    [svc] = stack.services
    got = {(f.origin, f.target, f.uid, f.gid, f.mode, f.digest, f.read_only) for f in svc.files}
    assert got == {
        ("config nginx", "/nginx", 0, 0, 0o444, sha(b"worker_processes 1;\n"), True),
        ("config inline", "/etc/app.conf", 1000, 1000, 0o440, sha(b"x=1"), True),
        ("config env", "/rel/env.conf", 0, 0, 0o444, sha(b"from-env"), True),
    }


def test_config_problems_are_named(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE", raising=False)
    text = (
        "name: p\n"
        "configs:\n"
        "  gone: {file: ./missing.conf}\n"
        "  env: {environment: NOPE}\n"
        "  ok: {content: x}\n"
        "services:\n  web:\n    image: x\n    volumes: ['./nginx.conf:/ok']\n    configs:\n"
        "      - undeclared\n"
        "      - {source: ok, mode: '0999'}\n"
        "      - {source: ok, target: /ok}\n"
    )
    got = messages(write(project, text))
    assert (
        "configs.env.environment: the environment variable `NOPE` is not set on this machine" in got
    )
    assert any(
        m.startswith("configs.gone.file: cannot read config file `./missing.conf`") for m in got
    )
    assert (
        "services.web.configs[0]: config `undeclared` is not in the stack's `configs` "
        "(configs: ok)" in got
    )
    assert any("`0999` is not a file mode" in m for m in got)
    assert any("config ok is mounted at `/ok`, where something else is mounted" in m for m in got)


def test_config_prints_project_paths_relative_and_reads_back_the_same(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fleetform.cli import main
    from fleetform.stackfile import load_stacks

    text = web(
        "['./nginx.conf:/etc/nginx/nginx.conf:ro', './conf.d:/c:ro', './pgdata:/d']",
        "    configs: [motd]\nconfigs:\n  motd: {content: hi}\n",
    )
    stack = write(project, text)
    assert main(["config", str(stack)]) == 0
    out = capsys.readouterr().out
    assert "source: ./nginx.conf" in out and "source: ./pgdata" in out
    again = write(project, out, "again.yml")
    assert load_stacks([again])[0].services == load_stacks([stack])[0].services


def test_config_files_outside_the_project_are_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "sub").mkdir()
    (project / "sub" / "out").symlink_to("/etc/hostname")
    (project.parent / "secret.txt").write_text("not of the project\n")
    monkeypatch.setenv("FLEETFORM_TOKEN", "t")
    monkeypatch.setenv("SOPS_AGE_KEY", "k")
    text = (
        "name: p\n"
        "configs:\n"
        "  up: {file: ../secret.txt}\n"
        "  abs: {file: /etc/hostname}\n"
        "  home: {file: ~/.ssh/id_rsa}\n"
        "  link: {file: ./sub/out}\n"
        "  token: {environment: FLEETFORM_TOKEN}\n"
        "  sops: {environment: SOPS_AGE_KEY}\n"
        "  ok: {file: ./sub/../nginx.conf}\n"
        "services:\n  web:\n    image: x\n    configs: [ok]\n"
    )
    got = messages(write(project, text))
    for key, given in (("up", "../secret.txt"), ("abs", "/etc/hostname"), ("link", "./sub/out")):
        assert any(
            m.startswith(f"configs.{key}.file: the config file `{given}` is outside the project")
            for m in got
        ), got
    assert any(m.startswith("configs.home.file: the config file `~/.ssh/id_rsa` starts with `~`")
               for m in got)  # fmt: skip
    for key, name in (("token", "FLEETFORM_TOKEN"), ("sops", "SOPS_AGE_KEY")):
        start = f"configs.{key}.environment: `{name}` is one of fleetform's own"
        assert any(m.startswith(start) for m in got), got
    assert len(got) == 6, got


def test_git_is_never_uploaded(project: Path) -> None:
    from fleetform.stackfile.projectfiles import read_tree

    before = load_text(project, web("['.:/app:ro']")).services[0].files[0].digest
    (project / ".git").mkdir()
    (project / ".git" / "config").write_text("[remote] url = https://user:token@example\n")
    (project / "conf.d" / ".git").write_text("gitdir: ../.git/modules/x\n")
    tree = read_tree(project)
    assert not [rel for _, rel, _ in tree.files if ".git" in rel.split("/")]
    assert ".git" not in tree.dirs
    assert load_text(project, web("['.:/app:ro']")).services[0].files[0].digest == before


def test_a_seed_folder_that_cannot_be_uploaded_is_refused_at_load(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "seed" / "passwd").symlink_to("/etc/passwd")
    [problem] = messages(write(project, web("['./seed:/seed']")))
    assert problem.startswith("services.web.volumes: cannot seed the data folder `./seed`")
    assert "passwd is a symbolic link to /etc/passwd, outside the folder" in problem
    (project / "seed" / "passwd").unlink()
    os.mkfifo(project / "seed" / "pipe")
    [problem] = messages(write(project, web("['./seed:/seed']")))
    assert "pipe is not a file, a folder or a link" in problem
    (project / "seed" / "pipe").unlink()
    monkeypatch.setattr("fleetform.stackfile.projectfiles.MAX_PROJECT_BYTES", 1)
    [problem] = messages(write(project, web("['./seed:/seed']")))
    assert "project folders are limited to 64 MiB" in problem


def test_a_folder_manifest_is_what_sha256sum_checks(tmp_path: Path) -> None:
    import subprocess

    from fleetform.stackfile.projectfiles import hashed_tree

    folder = tmp_path / "f"
    (folder / "sub").mkdir(parents=True)
    for name in ("sp ace", "back\\slash", "new\nline", "sub/x"):
        (folder / name).write_text(name)
    _, digest, manifest = hashed_tree(folder)
    assert digest == tree_digest(folder)
    (tmp_path / "manifest").write_bytes(manifest)
    check = ["sha256sum", "-c", "--status", str(tmp_path / "manifest")]
    assert subprocess.run(check, cwd=folder).returncode == 0
    (folder / "new\nline").write_text("changed")
    assert subprocess.run(check, cwd=folder).returncode == 1
