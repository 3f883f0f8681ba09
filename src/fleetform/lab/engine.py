"""The control machine's Docker engine, through the docker SDK (``docker.from_env()``).

Every SDK call the lab makes goes through :func:`calling`, which turns the
SDK's typed errors into :class:`LabError` with a message for people, so no
traceback reaches the user.  Objects are found by name (missing ones are
``None``, from ``errors.NotFound``) or by label filter.

The SDK is used on the control machine only: the scripts run on lab hosts
stay plain shell and Python's standard library, as the SDK cannot be assumed
there.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import requests.exceptions

from fleetform.lab._docker_import import Container, Image, Network, Volume, docker, errors
from fleetform.lab.config import LabError


def no_engine() -> LabError:
    """The error when no engine answers, naming where it was asked (as the CLI would)."""
    where = os.environ.get("DOCKER_HOST") or "/var/run/docker.sock"
    return LabError(f"no Docker engine answers on {where}; start one first (`make engine-local`)")


#: Seconds a single API request may wait; builds and imports wait without a limit.
REQUEST_TIMEOUT = 120

T = TypeVar("T")


@contextmanager
def calling(what: str) -> Iterator[None]:
    """Run SDK calls, turning their errors into ``LabError("docker WHAT failed: ...")``."""
    try:
        yield
    except errors.APIError as exc:
        raise LabError(f"docker {what} failed: {explain(exc)}") from exc
    except errors.DockerException as exc:
        raise LabError(f"docker {what} failed: {exc}") from exc
    except requests.exceptions.ConnectionError as exc:
        # The engine went away between two calls.
        raise no_engine() from exc
    except requests.exceptions.RequestException as exc:
        raise LabError(f"docker {what} failed: {exc}") from exc


def explain(exc: errors.APIError) -> str:
    """The engine's own message (what the docker CLI prints), else the HTTP error."""
    return str(exc.explanation or exc).strip()


@functools.cache
def client() -> docker.DockerClient:
    """The engine named by the environment (DOCKER_HOST, default the local socket)."""
    try:
        engine = docker.from_env(timeout=REQUEST_TIMEOUT, use_ssh_client=True)
        engine.ping()
    except (errors.DockerException, requests.exceptions.RequestException) as exc:
        raise no_engine() from exc
    return engine


def ensure_engine() -> None:
    """Fail clearly when no Docker engine answers."""
    client()


def _get(what: str, get: Callable[[], T]) -> T | None:
    with calling(what):
        try:
            return get()
        except errors.NotFound:
            return None


def get_container(name: str) -> Container | None:
    return _get("container inspect", lambda: client().containers.get(name))


def get_network(name: str) -> Network | None:
    return _get("network inspect", lambda: client().networks.get(name))


def get_volume(name: str) -> Volume | None:
    return _get("volume inspect", lambda: client().volumes.get(name))


def get_image(ref: str) -> Image | None:
    return _get("image inspect", lambda: client().images.get(ref))


def labels_of(obj: Container | Image | Network | Volume) -> dict[str, str]:
    """An object's labels (containers and images keep them under Config)."""
    attrs = obj.attrs
    if isinstance(obj, Container | Image):
        attrs = attrs.get("Config") or {}
    return dict(attrs.get("Labels") or {})


def label_filter(labels: Mapping[str, str]) -> dict[str, list[str]]:
    """An SDK ``filters`` argument matching objects that carry all ``labels``."""
    return {"label": [f"{k}={v}" for k, v in sorted(labels.items())]}


def list_containers(labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """Summaries (Id, Names, State, Labels) of all containers carrying ``labels``, one request."""
    with calling("ps"):
        return list(client().api.containers(all=True, filters=label_filter(labels)))


def list_volumes(labels: Mapping[str, str]) -> list[Volume]:
    with calling("volume ls"):
        return list(client().volumes.list(filters=label_filter(labels)))


def list_networks(labels: Mapping[str, str]) -> list[Network]:
    with calling("network ls"):
        return list(client().networks.list(filters=label_filter(labels)))


def follow(what: str, chunks: Iterable[dict[str, Any]], update: Callable[[str], None]) -> None:
    """Read a build/push/pull stream to its end: each line to ``update``, errors raised.

    The engine reports a failed build or push inside the stream, not as an
    HTTP error, so the stream must be read to know whether it worked.
    """
    with calling(what):
        for chunk in chunks:
            if chunk.get("error"):
                detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                raise LabError(f"docker {what} failed: {str(detail).strip()}")
            line = str(chunk.get("stream") or chunk.get("status") or "").strip()
            if line:
                progress = chunk.get("progress")
                update(f"{line} {progress}" if progress else line)


@dataclass(frozen=True)
class ContainerSpec:
    """What a lab container is created with; pure data, so it is tested without an engine."""

    image: str
    name: str
    hostname: str
    labels: dict[str, str]
    network: str
    endpoint: dict[str, Any]  # create_endpoint_config arguments: aliases, ipv4_address
    host: dict[str, Any]  # create_host_config arguments: binds, cap_add, port_bindings...
    exposed: tuple[int, ...] = ()
    stop_signal: str | None = None
    #: ``--security-opt systempaths=unconfined``: the docker CLI does not send
    #: this option to the engine but empties MaskedPaths and ReadonlyPaths.
    unmask_system_paths: bool = False


def create_container(spec: ContainerSpec) -> Container:
    """Create (not start) a container from ``spec`` on its network, address and aliases."""
    with calling("create"):
        api = client().api
        host_config = api.create_host_config(network_mode=spec.network, **spec.host)
        if spec.unmask_system_paths:
            host_config["MaskedPaths"] = []
            host_config["ReadonlyPaths"] = []
        endpoint = api.create_endpoint_config(**spec.endpoint)
        created = api.create_container(
            spec.image,
            name=spec.name,
            hostname=spec.hostname,
            labels=spec.labels,
            ports=list(spec.exposed) or None,
            stop_signal=spec.stop_signal,
            host_config=host_config,
            # What create_networking_config({network: endpoint}) builds (its
            # published type stub wrongly wants a single endpoint).
            networking_config={"EndpointsConfig": {spec.network: endpoint}},
        )
        return client().containers.get(created["Id"])
