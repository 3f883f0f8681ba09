"""Helpers for the GitOps tests: a local git repository and a notification endpoint."""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any


class Repo:
    """A work tree pushing to a bare repository, as a user's would."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "fleet.git"
        self.work = root / "work"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.bare)], check=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(self.work)], check=True)

    def commit(self, files: dict[str, str | bytes], message: str = "change") -> str:
        """Write ``files`` (path in the repository -> content), commit, push; the commit id."""
        for name, content in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        git = ["git", "-C", str(self.work), "-c", "user.name=t", "-c", "user.email=t@example.com"]
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", message], check=True)
        subprocess.run([*git, "push", "-q", str(self.bare), "HEAD:main"], check=True)
        done = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True)
        return done.stdout.decode().strip()


class Endpoint:
    """What a local HTTP endpoint received: Apprise's ``json://`` posts."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.url = ""


@contextlib.contextmanager
def endpoint() -> Iterator[Endpoint]:
    """A local HTTP server recording each POSTed JSON body; ``.url`` is its json:// URL."""
    got = Endpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            got.received.append(json.loads(self.rfile.read(length) or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass  # keep the test output clean

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    got.url = f"json://127.0.0.1:{server.server_address[1]}/"
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def smart_http(root: Path, user: str, password: str) -> Iterator[str]:
    """``git http-backend`` serving the repositories under ``root`` over HTTP, to a
    client sending ``user``/``password`` (Basic); yields the base URL (no credentials)."""
    import base64

    wanted = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            if self.headers.get("Authorization") != wanted:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length", "0") or 0)
            env = {
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(length),
                "REMOTE_USER": user,
                "PATH": "/usr/bin:/bin",
            }
            if self.headers.get("Content-Encoding"):
                env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
            if self.headers.get("Git-Protocol"):
                env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            body = self.rfile.read(length) if length else b""
            done = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
            )
            head, _, payload = done.stdout.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.decode().split("\r\n"):
                name, _, value = line.partition(": ")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
