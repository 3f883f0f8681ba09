"""Compose's `extends` (same file and other files) and top-level `include`."""

from __future__ import annotations

from pathlib import Path

from fleetform.stackfile import load_stacks

from .helpers import messages, write


def _project(tmp_path: Path) -> Path:
    common = tmp_path / "common"
    (common / "jobsrc").mkdir(parents=True)
    write(common, "K=v\n", "job.env")
    write(common, "PGV=15\n", ".env")
    write(
        common,
        "services:\n  job:\n    image: x:2\n    env_file: job.env\n"
        "    build: {context: ./jobsrc}\n    environment: {J: '${JV:-jj}'}\n",
        "shared.yaml",
    )
    write(
        common,
        "services:\n  db:\n    image: 'postgres:${PGV:-16}'\n"
        "    volumes: ['dbdata:/var/lib/postgresql/data']\nvolumes:\n  dbdata: {}\n",
        "db.yaml",
    )
    return write(
        tmp_path,
        "name: p\ninclude:\n  - common/db.yaml\nservices:\n"
        "  base: {image: 'x:1', environment: {A: '1'}, cap_add: [NET_ADMIN]}\n"
        "  web:\n    extends: base\n    environment: {B: '2'}\n    depends_on: [db]\n"
        "  worker:\n    extends: {file: common/shared.yaml, service: job}\n"
        "    command: [work]\n",
        "compose.yaml",
    )


def test_extends_and_include_build_one_stack(tmp_path: Path) -> None:
    (stack,) = load_stacks([_project(tmp_path)])
    assert [s.name for s in stack.services] == ["base", "db", "web", "worker"]
    web = stack.service("web")
    assert (web.image, dict(web.environment), web.cap_add) == (
        "x:1",
        {"A": "1", "B": "2"},
        ("NET_ADMIN",),
    )
    worker = stack.service("worker")
    # The other file's relative paths keep pointing at its own folder.
    assert worker.build is not None
    assert worker.build.context == tmp_path / "common" / "jobsrc"
    assert dict(worker.environment) == {"J": "jj", "K": "v"}
    assert worker.command == ("work",)
    # An included file is interpolated with its own folder's .env, as Compose does.
    assert stack.service("db").image == "postgres:15"
    assert [v.name for v in stack.volumes] == ["dbdata"]


def test_extends_and_include_problems_are_named(tmp_path: Path) -> None:
    _project(tmp_path)
    bad = write(
        tmp_path,
        "name: b\ninclude: [common/missing.yaml, common/db.yaml]\nservices:\n"
        "  db: {image: x}\n  a: {extends: b}\n  b: {extends: a}\n"
        "  c: {extends: {service: nope, file: common/shared.yaml}}\n",
        "bad.yaml",
    )
    missing = tmp_path / "common" / "missing.yaml"
    assert messages(bad) == [
        f"include[0]: in {missing}: cannot read the file: No such file or directory",
        "include[1]: common/db.yaml declares service `db`, which the stack declares too; "
        "Compose refuses this, and so does fleetform",
        "services.a.extends: `extends` loops back to `a`",
        "services.b.extends: `extends` loops back to `b`",
        "services.c.extends.service: `nope` is not a service in common/shared.yaml",
    ]


def test_relative_bind_sources_of_another_file_stay_that_files_paths(tmp_path: Path) -> None:
    common = tmp_path / "common"
    common.mkdir()
    write(common, "listen 80;\n", "nginx.conf")
    write(
        common,
        "services:\n  web:\n    image: x:1\n"
        "    volumes: ['./nginx.conf:/etc/nginx/nginx.conf:ro', './cache:/cache']\n",
        "base.yaml",
    )
    stack_file = write(
        tmp_path,
        "name: p\nservices:\n  web:\n    extends: {file: common/base.yaml, service: web}\n",
        "compose.yaml",
    )
    (stack,) = load_stacks([stack_file])
    web = stack.service("web")
    (conf,) = web.files
    assert conf.local == common / "nginx.conf"  # not ./nginx.conf of the project root
    (data,) = [m for m in web.volumes if m.data]
    assert data.data == "common/cache"


def test_a_relative_bind_source_leaving_the_project_through_extends_is_refused(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    write(
        tmp_path, "services:\n  web:\n    image: x:1\n    volumes: ['./x.conf:/x:ro']\n", "up.yaml"
    )
    write(tmp_path, "x\n", "x.conf")
    stack_file = write(
        project,
        "name: p\nservices:\n  web:\n    extends: {file: ../up.yaml, service: web}\n",
        "compose.yaml",
    )
    assert any("../x.conf" in m for m in messages(stack_file)), messages(stack_file)
