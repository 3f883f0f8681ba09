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
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from fleetform.lab import engine
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
from fleetform.lab.engine import ContainerSpec
from fleetform.lab.hosts import (
    create_started,
    ensure_volume,
    refuse_foreign_container,
    remove_container,
    start,
)
from fleetform.lab.payload import File
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
    if engine.get_image(tag) is not None:
        return tag
    with (
        progress.step(f"building registry image {tag} (apt-get install docker-registry)") as detail,
        tempfile.TemporaryDirectory(prefix="fleetform-lab-registry-") as ctx,
    ):
        (Path(ctx) / "Dockerfile").write_text(_asset("registry.Dockerfile"))
        labels = {LABEL: "1", LABEL_RECIPE: tag.rsplit(":", 1)[1]}
        build_image(ctx, tag, {"BASE": base_tag}, labels, detail)
    return tag


def build_image(
    context: str,
    tag: str,
    buildargs: dict[str, str],
    labels: dict[str, str],
    detail: Callable[[str], None],
) -> None:
    """Build ``context`` with the engine's classic builder, streaming each step to ``detail``.

    The classic builder is what the engine's build API runs (no BuildKit
    session), the same builder the lab used with ``DOCKER_BUILDKIT=0``.
    """
    with engine.calling("build"):
        stream = engine.client().api.build(
            path=context, tag=tag, buildargs=buildargs, labels=labels, rm=True, decode=True
        )
    engine.follow("build", stream, detail)


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
    found = refuse_foreign_container(cfg, name)
    stale = found is not None and engine.labels_of(found).get(LABEL_CONFIG) != config_hash
    if found is not None and not stale and found.status != "running":
        progress.info(f"starting {name} (it was {found.status})")
        stale = not start(found.id or name)
    if found is not None and stale:
        # Safe: refuse_foreign_container proved the container is this lab's.
        # The data volume is kept; the images in it stay valid.
        remove_container(found.id or name, volumes=False)
        found = None
    if found is None:
        with progress.step("starting the registry"):
            ensure_volume(cfg, cfg.registry_volume)
            labels = cfg.labels(ROLE_REGISTRY, **{LABEL_CONFIG: config_hash})
            spec = ContainerSpec(
                image=image,
                name=name,
                hostname="registry",
                labels=labels,
                network=cfg.network,
                endpoint={"aliases": [REGISTRY_ALIAS], "ipv4_address": cfg.registry_address},
                host={
                    "binds": [f"{cfg.registry_volume}:/var/lib/docker-registry"],
                    # A free port on 127.0.0.1, chosen by dockerd.
                    "port_bindings": {REGISTRY_PORT: ("127.0.0.1",)},
                },
                exposed=(REGISTRY_PORT,),
            )
            create_started(spec, files)
    port = published_port(name)
    wait_registry(cfg, port)
    return port


def published_port(container: str) -> int:
    found = engine.get_container(container)
    ports = (found.attrs.get("NetworkSettings") or {}).get("Ports") or {} if found else {}
    for binding in ports.get(f"{REGISTRY_PORT}/tcp") or []:
        if binding.get("HostIp") == "127.0.0.1":
            return int(binding["HostPort"])
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
            raise LabError(
                f"the registry did not answer on https://127.0.0.1:{port}/v2/ within "
                f"{timeout:.0f} s (last status {status}):\n" + registry_logs(cfg)
            )
        time.sleep(0.3)


def registry_logs(cfg: LabConfig, lines: int = 20) -> str:
    """The registry's last log lines (stdout and stderr), or why there are none."""
    found = engine.get_container(cfg.registry_container)
    if found is None:
        return "(the registry container is gone)"
    try:
        with engine.calling("logs"):
            return bytes(found.logs(tail=lines)).decode(errors="replace")
    except LabError as exc:
        return str(exc)


def observe_registry(cfg: LabConfig) -> dict[str, str] | None:
    found = engine.get_container(cfg.registry_container)
    if found is None:
        return None
    labels = engine.labels_of(found)
    if labels.get(LABEL_NAME) != cfg.name or labels.get(LABEL_ROLE) != ROLE_REGISTRY:
        return None
    return {"container": cfg.registry_container, "state": str(found.status)}
