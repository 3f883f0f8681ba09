"""Build contexts honour .dockerignore as the docker CLI does."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetform.executor.uploads import UploadError, context_steps, read_context

BUILD_DIR = "/var/lib/fleetform/build/app_1"

IGNORE = """\
# secrets and history never leave this machine
.env
/.git
**/*.log
secret
!secret/keep
node_modules/
Dockerfile
.dockerignore
docker
"""


@pytest.fixture()
def context(tmp_path: Path) -> Path:
    ctx = tmp_path / "app"
    for rel in (
        "Dockerfile",
        ".env",
        ".git/config",
        "src/app.py",
        "src/debug.log",
        "src/deep/trace.log",
        "secret/keep",
        "secret/drop",
        "node_modules/x/y.js",
        "docker/prod.Dockerfile",
    ):
        (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
        (ctx / rel).write_text(rel)
    (ctx / ".dockerignore").write_text(IGNORE)
    return ctx


def _files(ctx: Path, dockerfile: str | None = None) -> list[str]:
    found = read_context(ctx, dockerfile) if dockerfile else read_context(ctx)
    return [rel for _, rel, _ in found.files]


def test_listed_files_never_leave_the_machine(context: Path) -> None:
    assert _files(context) == [".dockerignore", "Dockerfile", "secret/keep", "src/app.py"]
    assert read_context(context).dirs == ("secret", "src", "src/deep")


def test_the_dockerfile_in_use_is_sent_even_when_listed(context: Path) -> None:
    files = _files(context, "docker/prod.Dockerfile")
    assert "docker/prod.Dockerfile" in files and "Dockerfile" not in files


def test_the_upload_steps_hold_no_ignored_file(context: Path) -> None:
    text = "\n".join(str(s) for s in context_steps(context, BUILD_DIR))
    for ignored in (".env", ".git", "debug.log", "trace.log", "secret/drop", "node_modules"):
        assert ignored not in text
    assert f"{BUILD_DIR}/secret/keep" in text


def test_without_a_dockerignore_everything_is_sent(context: Path) -> None:
    (context / ".dockerignore").unlink()
    assert ".env" in _files(context) and ".git/config" in _files(context)


def test_an_unreadable_dockerignore_is_an_error_in_plain_words(context: Path) -> None:
    (context / ".dockerignore").unlink()
    (context / ".dockerignore").mkdir()
    with pytest.raises(UploadError, match=r"\.dockerignore is not a small regular file"):
        read_context(context)
