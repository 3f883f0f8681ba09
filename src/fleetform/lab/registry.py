"""The lab registry: ``registry.lab:5000`` on the lab network, TLS from the lab CA.

Lab hosts reach it by its network alias.  The control machine reaches it on
a port published on 127.0.0.1, which dockerd treats as an insecure registry
by default, so pushing needs no change to the control engine's config.
"""

from __future__ import annotations

import hashlib
import json
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from importlib import resources
from pathlib import Path

from fleetform.lab.config import (
    LABEL,
    LABEL_CONFIG,
    LABEL_NAME,
    LABEL_RECIPE,
    LABEL_ROLE,
    REGISTRY_ALIAS,
    REGISTRY_PORT,
    LabConfig,
    LabError,
)
from fleetform.lab.docker_cli import docker, docker_text, inspect, label_args
from fleetform.lab.hosts import ensure_volume, refuse_foreign_container
from fleetform.lab.payload import File, build_tar
from fleetform.lab.progress import Progress

ROLE_REGISTRY = "registry"
IMAGE_REPO = "fleetform-lab/registry"
TLS_DIR = "/etc/docker/registry/tls"


def _asset(name: str) -> str:
    return resources.files("fleetform.lab").joinpath(f"assets/{name}").read_text()


def registry_image_tag(base_tag: str) -> str:
    digest = hashlib.sha256(json.dumps([base_tag, _asset("registry.Dockerfile")]).encode())
    return f"{IMAGE_REPO}:{digest.hexdigest()[:12]}"


def ensure_registry_image(base_tag: str, progress: Progress) -> str:
    tag = registry_image_tag(base_tag)
    if inspect("image", [tag]):
        return tag
    with (
        progress.step(f"building registry image {tag} (apt-get install docker-registry)"),
        tempfile.TemporaryDirectory(prefix="fleetform-lab-registry-") as ctx,
    ):
        (Path(ctx) / "Dockerfile").write_text(_asset("registry.Dockerfile"))
        labels = {LABEL: "1", LABEL_RECIPE: tag.rsplit(":", 1)[1]}
        # The legacy builder: this client has no buildx plugin.
        docker(
            "build", "-q", "--build-arg", f"BASE={base_tag}", *label_args(labels), "-t", tag, ctx,
            env={"DOCKER_BUILDKIT": "0"},
        )  # fmt: skip
    return tag


def registry_files(cfg: LabConfig) -> list[File]:
    ca_dir = cfg.ca_cert.parent
    return [
        File("/etc/docker/registry/config.yml", _asset("registry-config.yml").encode()),
        File(f"{TLS_DIR}/registry.crt", (ca_dir / "registry.crt").read_bytes()),
        File(f"{TLS_DIR}/registry.key", (ca_dir / "registry.key").read_bytes(), 0o600),
    ]


def ensure_registry(cfg: LabConfig, image: str, progress: Progress) -> int:
    """Create, start or recreate the registry container; return its port on 127.0.0.1."""
    name = cfg.registry_container
    files = registry_files(cfg)
    config_hash = hashlib.sha256(
        json.dumps(
            [image, cfg.network, cfg.registry_address, [(f.path, f.content.hex()) for f in files]]
        ).encode()
    ).hexdigest()[:16]
    refuse_foreign_container(cfg, name)
    found = inspect("container", [name])
    stale = found and (found[0]["Config"]["Labels"] or {}).get(LABEL_CONFIG) != config_hash
    if found and not stale and found[0]["State"]["Status"] != "running":
        progress.info(f"starting {name} (it was {found[0]['State']['Status']})")
        stale = docker("start", name, check=False).returncode != 0
    if stale:
        # Safe: refuse_foreign_container proved the container is this lab's.
        # The data volume is kept; the images in it stay valid.
        docker("rm", "-f", name)
        found = []
    if not found:
        with progress.step("starting the registry"):
            ensure_volume(cfg, cfg.registry_volume)
            labels = cfg.labels(ROLE_REGISTRY, **{LABEL_CONFIG: config_hash})
            docker(
                "create", "--name", name, "--hostname", "registry", *label_args(labels),
                "--network", cfg.network, "--ip", cfg.registry_address,
                "--network-alias", REGISTRY_ALIAS,
                "--publish", f"127.0.0.1::{REGISTRY_PORT}",
                "--volume", f"{cfg.registry_volume}:/var/lib/docker-registry",
                image,
            )  # fmt: skip
            docker("cp", "-", f"{name}:/", input=build_tar(files))
            docker("start", name)
    port = published_port(name)
    wait_registry(cfg, port)
    return port


def published_port(container: str) -> int:
    out = docker_text("port", container, f"{REGISTRY_PORT}/tcp")
    for line in out.splitlines():
        host, _, port = line.rpartition(":")
        if host == "127.0.0.1":
            return int(port)
    raise LabError(f"the registry container {container} publishes no port on 127.0.0.1")


def ssl_context(cfg: LabConfig) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cfg.ca_cert))


def registry_get(cfg: LabConfig, port: int, path: str, accept: str = "") -> tuple[int, bytes]:
    """GET https://127.0.0.1:PORT/PATH with the lab CA; (status, body), 0 if unreachable."""
    req = urllib.request.Request(f"https://127.0.0.1:{port}{path}")
    if accept:
        req.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(req, context=ssl_context(cfg), timeout=5) as resp:
            return int(resp.status), bytes(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, b""
    except (urllib.error.URLError, OSError):
        return 0, b""


def wait_registry(cfg: LabConfig, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status, _ = registry_get(cfg, port, "/v2/")
        if status == 200:
            return
        if time.monotonic() > deadline:
            logs = docker("logs", "--tail", "20", cfg.registry_container, check=False)
            raise LabError(
                f"the registry did not answer on https://127.0.0.1:{port}/v2/ within "
                f"{timeout:.0f} s (last status {status}):\n"
                + (logs.stdout + logs.stderr).decode(errors="replace")
            )
        time.sleep(0.3)


def observe_registry(cfg: LabConfig) -> dict[str, str] | None:
    found = inspect("container", [cfg.registry_container])
    if not found:
        return None
    labels = found[0]["Config"]["Labels"] or {}
    if labels.get(LABEL_NAME) != cfg.name or labels.get(LABEL_ROLE) != ROLE_REGISTRY:
        return None
    return {"container": cfg.registry_container, "state": found[0]["State"]["Status"]}
