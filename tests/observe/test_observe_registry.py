"""Observation asks the registry, through dockerd, what a `pull: always` image is now.

The Docker API script (fleetform.observe.api.SCRIPT) runs here for real,
against a small fake of dockerd's API on a unix socket, so the registry
question, its failures and the credentials it sends are tested without a
daemon.  The lab test (tests/e2e/test_idempotence_e2e.py) asks a real one.
"""

from __future__ import annotations

import base64
import json
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest

from fleetform.model import Build
from fleetform.observe import cli_observe_command, observe_command, parse_observed
from fleetform.observe.api import SCRIPT, SOCKET, api_command
from fleetform.plan.desired import DesiredImage, HostDesired

FRESH = "registry.lab:5000/fleetform/fresh:1"
GONE = "registry.lab:5000/fleetform/gone:1"
DOWN = "down.example:5000/app:1"
DIGEST = "sha256:" + "5d" * 32

_ANSWERS: dict[str, tuple[int, dict[str, Any]]] = {
    FRESH: (200, {"Descriptor": {"digest": DIGEST, "size": 528}, "Platforms": []}),
    GONE: (404, {"message": "manifest unknown: manifest unknown"}),
    DOWN: (500, {"message": 'Get "https://down.example:5000/v2/": connection refused'}),
}


class _FakeDockerd(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        _FakeDockerd.seen.append((path, self.headers.get("X-Registry-Auth")))
        status, body = 200, {}
        if path == "/version":
            body = {"Version": "20.10.24"}
        elif path in ("/containers/json", "/networks"):
            body = []  # type: ignore[assignment]
        elif path == "/volumes":
            body = {"Volumes": []}
        elif path.startswith("/images/"):
            ref = path[len("/images/") : -len("/json")]
            body = {"Id": "sha256:" + "a1" * 32, "RepoDigests": [f"x@{DIGEST}"], "Config": {}}
            status = 200 if ref != GONE else 404
        elif path.startswith("/distribution/"):
            status, body = _ANSWERS[path[len("/distribution/") : -len("/json")]]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def dockerd() -> Iterator[Path]:
    # A short folder: a unix socket path must fit in 108 bytes.
    folder = Path(tempfile.mkdtemp(prefix="ffsock"))
    sock = folder / "docker.sock"
    server = _Server(str(sock), _FakeDockerd)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _FakeDockerd.seen = []
    yield sock
    server.shutdown()
    server.server_close()
    shutil.rmtree(folder)


def _run_script(sock: Path, home: Path, *args: str) -> dict[str, Any]:
    script = SCRIPT.replace(SOCKET, str(sock))
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env={"HOME": str(home)},
        timeout=30,
        check=True,
    )
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def test_the_api_script_records_the_registry_digest_or_why_it_has_none(
    dockerd: Path, tmp_path: Path
) -> None:
    doc = _run_script(
        dockerd, tmp_path, "plain:1", FRESH, GONE, DOWN, "--registry", FRESH, GONE, DOWN
    )
    by_ref = {e["ref"]: e for e in doc["images"]}
    assert "registry" not in by_ref["plain:1"]  # pull: missing is never asked about
    assert by_ref[FRESH]["registry"] == {"digest": DIGEST}
    assert by_ref[GONE]["registry"] == {"error": "manifest unknown: manifest unknown"}
    assert "connection refused" in by_ref[DOWN]["registry"]["error"]

    observed = parse_observed(json.dumps(doc))
    fresh = observed.registry_answer(FRESH)
    assert fresh is not None and fresh.digest == DIGEST and fresh.error is None
    down = observed.registry_answer(DOWN)
    assert down is not None and down.digest is None and "connection refused" in str(down.error)
    assert observed.registry_answer("plain:1") is None
    image = observed.image(FRESH)
    assert image is not None and image.has_digest(DIGEST)


def test_the_api_script_sends_the_credentials_docker_login_stored(
    dockerd: Path, tmp_path: Path
) -> None:
    auth = base64.b64encode(b"ci:hunter2").decode()
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text(
        json.dumps({"auths": {"registry.lab:5000": {"auth": auth}}})
    )
    _run_script(dockerd, tmp_path, FRESH, DOWN, "--registry", FRESH, DOWN)
    sent = dict(_FakeDockerd.seen)
    header = sent[f"/distribution/{FRESH}/json"]
    assert header is not None
    cred = json.loads(base64.urlsafe_b64decode(header))
    assert cred == {"username": "ci", "password": "hunter2", "serveraddress": "registry.lab:5000"}
    assert sent[f"/distribution/{DOWN}/json"] is None  # another registry: no credentials


def test_only_pull_always_registry_images_are_asked_about() -> None:
    desired = HostDesired(
        "h",
        ("demo",),
        images=(
            DesiredImage("plain:1"),
            DesiredImage(FRESH, pull="always"),
            DesiredImage("built:1", pull="always", build=Build(Path("/src"))),
        ),
    )
    assert api_command(["plain:1", FRESH, "built:1"], [FRESH]) in observe_command(desired)
    # The docker CLI path cannot ask dockerd: it records no answer (unknown).
    assert "distribution" not in cli_observe_command(desired)


def test_an_observation_without_registry_entries_has_no_answers() -> None:
    doc = {"fleetform_observe": 1, "images": [{"ref": FRESH, "inspect": []}, None]}
    assert parse_observed(json.dumps(doc)).registry == ()
