"""``lab up`` and ``lab down``: bring the lab to N healthy hosts, or remove it.

``up`` is idempotent and repairing: it creates what is missing, starts what
is stopped (a lab left from an earlier run whose engine went away),
recreates what changed or does not come back, and removes hosts beyond N.
Runs are serialised per lab with a file lock, so parallel test sessions can
all call ``ensure_lab``.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fleetform.lab import engine, keys
from fleetform.lab._docker_import import IPAMConfig, IPAMPool
from fleetform.lab.config import LABEL, LABEL_NAME, MAX_HOSTS, LabConfig, LabError
from fleetform.lab.demo_images import DEMO_IMAGES, ensure_demo_images
from fleetform.lab.engine import ensure_engine
from fleetform.lab.hosts import (
    ObservedHost,
    create_host,
    host_config_hash,
    observe_hosts,
    remove_container,
    remove_host,
    start,
)
from fleetform.lab.image import BaseRecipe, ensure_base_image
from fleetform.lab.progress import Progress
from fleetform.lab.registry import ensure_registry, ensure_registry_image
from fleetform.lab.ssh import wait_ssh
from fleetform.lab.status import LabHost, lab_hosts

#: Images are shared by all labs on the engine; builds are serialised across labs.
IMAGES_LOCK = Path(tempfile.gettempdir()) / "fleetform-lab-images.lock"


@contextmanager
def locked(cfg: LabConfig) -> Iterator[None]:
    with _flock(cfg.lock_file):
        yield


@contextmanager
def _flock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_network(cfg: LabConfig) -> None:
    found = engine.get_network(cfg.network)
    if found is not None:
        if engine.labels_of(found).get(LABEL_NAME) != cfg.name:
            raise LabError(f"network {cfg.network} exists but is not this lab's; remove it")
        subnets = [c.get("Subnet") for c in (found.attrs.get("IPAM") or {}).get("Config") or []]
        if str(cfg.subnet) not in subnets:
            raise LabError(
                f"network {cfg.network} has subnet {subnets}, expected {cfg.subnet}; "
                "run `fleetform lab down` and `lab up` again"
            )
        return
    pool = IPAMPool(subnet=str(cfg.subnet), gateway=cfg.gateway)
    with engine.calling("network create"):
        engine.client().networks.create(
            cfg.network,
            driver="bridge",
            ipam=IPAMConfig(pool_configs=[pool]),
            labels=cfg.labels("network"),
        )


def up(
    cfg: LabConfig, hosts: int = 3, progress: Progress | None = None, shrink: bool = True
) -> list[LabHost]:
    """Make the lab exist with ``hosts`` hosts answering SSH; return the running hosts.

    With ``shrink=False`` hosts beyond ``hosts`` are kept (and repaired), so a
    test session asking for 3 hosts does not take away a 5th someone added.
    """
    progress = progress or Progress()
    if not 1 <= hosts <= MAX_HOSTS:
        raise LabError(f"--hosts must be between 1 and {MAX_HOSTS}, not {hosts}")
    ensure_engine()
    with locked(cfg):
        if not shrink:
            hosts = max([hosts, *observe_hosts(cfg)])
        keys.ensure_client_key(cfg)
        keys.ensure_ca(cfg)
        with _flock(IMAGES_LOCK):
            base = ensure_base_image(BaseRecipe.current(), progress)
            registry_image = ensure_registry_image(base, progress)
        ensure_network(cfg)
        port = ensure_registry(cfg, registry_image, progress)
        _converge_hosts(cfg, hosts, base, progress)
        with _flock(IMAGES_LOCK):
            ensure_demo_images(cfg, port, progress)
        _write_state(cfg, port)
    return [h for h in lab_hosts(cfg) if h.state == "running"]


def _converge_hosts(cfg: LabConfig, n: int, image: str, progress: Progress) -> None:
    wanted = range(1, n + 1)
    for i in wanted:
        keys.ensure_host_key(cfg, i)
    keys.write_known_hosts(cfg, list(wanted))
    observed = observe_hosts(cfg)
    for index, extra in sorted(observed.items()):
        if index > n:
            progress.info(f"removing {extra.name} (the lab now has {n} hosts)")
            remove_host(cfg, extra)
            shutil.rmtree(cfg.host_key_dir(index), ignore_errors=True)

    restarted: dict[int, ObservedHost] = {}
    for i in wanted:
        host: ObservedHost | None = observed.get(i)
        if host is not None and host.config != host_config_hash(cfg, i, image):
            progress.info(f"recreating {host.name}: its image or settings changed")
            remove_host(cfg, host)
            host = None
        if host is None:
            progress.info(f"creating {cfg.host_name(i)} ({cfg.host_address(i)})")
            create_host(cfg, i, image)
        elif host.state != "running":
            progress.info(f"starting {host.name} (it was {host.state})")
            if not start(host.container_id):
                remove_host(cfg, host)
                create_host(cfg, i, image)
            else:
                restarted[i] = host

    with progress.step(f"waiting for SSH on {n} host(s)"):
        failed = wait_ssh(cfg, [cfg.host_address(i) for i in wanted])
    # A host started from stale state that does not come back is recreated once.
    retry = [i for i in restarted if cfg.host_address(i) in failed]
    if retry:
        for i in retry:
            progress.info(f"recreating {cfg.host_name(i)}: it did not answer after restarting")
            remove_host(cfg, restarted[i])
            create_host(cfg, i, image)
        failed = wait_ssh(cfg, [cfg.host_address(i) for i in retry])
    if failed:
        details = "; ".join(f"{a}: {e}" for a, e in sorted(failed.items()))
        raise LabError(f"lab hosts did not answer SSH: {details}")


def _write_state(cfg: LabConfig, port: int) -> None:
    """A record for people and tools; discovery itself asks Docker."""
    state = {
        "name": cfg.name,
        "network": cfg.network,
        "subnet": str(cfg.subnet),
        "registry": {"address": cfg.registry_address, "published": f"127.0.0.1:{port}"},
        "images": [img.ref("registry.lab:5000") for img in DEMO_IMAGES],
        "hosts": [h.as_dict() for h in lab_hosts(cfg)],
    }
    (cfg.state_dir / "state.json").write_text(json.dumps(state, indent=2) + "\n")


def down(cfg: LabConfig, progress: Progress | None = None) -> dict[str, list[str]]:
    """Remove every container, volume and network carrying this lab's label, and its keys.

    Safe: objects are found by the label ``fleetform.lab.name=<name>`` only,
    so nothing the lab did not create is touched.  Images are kept as the
    build cache (they are labelled ``fleetform.lab=1``).
    """
    progress = progress or Progress()
    ensure_engine()
    labels = {LABEL: "1", LABEL_NAME: cfg.name}
    removed: dict[str, list[str]] = {}
    with locked(cfg):
        containers = engine.list_containers(labels)
        if containers:
            with progress.step(f"removing {len(containers)} container(s)"):
                for c in containers:
                    remove_container(str(c["Id"]))
            removed["containers"] = sorted(str(c["Names"][0]).lstrip("/") for c in containers)
        volumes = engine.list_volumes(labels)
        for volume in volumes:
            with engine.calling("volume rm"):
                volume.remove()
        if volumes:
            removed["volumes"] = sorted(str(v.name) for v in volumes)
        networks = engine.list_networks(labels)
        for network in networks:
            with engine.calling("network rm"):
                network.remove()
        if networks:
            removed["networks"] = sorted(str(n.name) for n in networks)
        if cfg.state_dir.exists():
            shutil.rmtree(cfg.state_dir)
            removed["state"] = [str(cfg.state_dir)]
    return removed
