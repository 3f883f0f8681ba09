"""What a host has: the observed Docker state the planner reads (plain frozen data).

Filled by :func:`fleetform.observe.parse_observed`; tests build it by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fleetform.model import (
    LABEL_CONFIG_HASH,
    LABEL_NETWORK,
    LABEL_PROJECT_FILES,
    LABEL_REPLICA,
    LABEL_SECRET_KEYS,
    LABEL_SECRETS,
    LABEL_SERVICE,
    LABEL_STACK,
    LABEL_STACK_FILE,
    LABEL_VOLUME,
    Pairs,
)
from fleetform.plan.spec import ContainerSpec, ImageConfig
from fleetform.secrets import parse_secret_keys_label


class _Labelled:
    """Ownership read from a Docker object's labels (containers, networks, volumes)."""

    labels: Pairs

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)

    @property
    def stack(self) -> str | None:
        return self.label(LABEL_STACK)

    @property
    def identity(self) -> str | None:
        """The stack file that made it; None for objects of earlier versions."""
        return self.label(LABEL_STACK_FILE)


@dataclass(frozen=True)
class ObservedContainer(_Labelled):
    name: str
    id: str
    image_id: str
    status: str  # created | running | paused | restarting | removing | exited | dead
    exit_code: int
    health: str | None  # starting | healthy | unhealthy, None without a healthcheck
    health_log: str | None  # output of the last health probe
    labels: Pairs  # every label, ownership labels included
    spec: ContainerSpec  # as Docker shows it: image defaults included
    #: (target, volume name) of the anonymous volumes it mounts: a recreate
    #: mounts them in the new container (see fleetform.plan.carry).
    anonymous_volumes: tuple[tuple[str, str], ...] = ()

    @property
    def service(self) -> str | None:
        return self.label(LABEL_SERVICE)

    @property
    def replica(self) -> str | None:
        return self.label(LABEL_REPLICA)

    @property
    def config_hash(self) -> str | None:
        return self.label(LABEL_CONFIG_HASH)

    @property
    def secret_keys(self) -> frozenset[str] | None:
        """Names of the secret keys it was created with; None if it predates the label."""
        return parse_secret_keys_label(self.label(LABEL_SECRET_KEYS))

    @property
    def secrets_label(self) -> str | None:
        """Its mounted secrets, by keyed digest (fleetform.plan.secrets); None without any."""
        return self.label(LABEL_SECRETS)

    @property
    def files_label(self) -> str | None:
        """Its uploaded project files and configs (fleetform.plan.projectfiles)."""
        return self.label(LABEL_PROJECT_FILES)


@dataclass(frozen=True)
class ObservedNetwork(_Labelled):
    name: str
    id: str
    driver: str
    internal: bool
    attachable: bool
    options: Pairs
    labels: Pairs

    @property
    def key(self) -> str | None:
        """The network's key in its stack file (``fleetform.network``)."""
        return self.label(LABEL_NETWORK)


@dataclass(frozen=True)
class ObservedVolume(_Labelled):
    name: str
    driver: str
    options: Pairs
    labels: Pairs

    @property
    def key(self) -> str | None:
        """The volume's key in its stack file (``fleetform.volume``)."""
        return self.label(LABEL_VOLUME)


@dataclass(frozen=True)
class ObservedImage:
    ref: str  # the declared reference, or "" for an image found by container id
    id: str
    config: ImageConfig
    #: ``repo@sha256:...`` of the manifests this image was pulled as (none when built or loaded)
    repo_digests: tuple[str, ...] = ()

    def has_digest(self, digest: str) -> bool:
        """True when the image was pulled as the manifest ``digest``."""
        return any(d.partition("@")[2] == digest for d in self.repo_digests)


@dataclass(frozen=True)
class RegistryAnswer:
    """What the registry serves for a reference now (asked for ``pull: always`` images).

    Only the Docker API path of observation asks; on the docker CLI path no
    answer is recorded and the digest is unknown.
    """

    ref: str
    digest: str | None  # manifest digest, as in RepoDigests; None when the question failed
    error: str | None = None  # why the registry could not answer


@dataclass(frozen=True)
class Observed:
    containers: tuple[ObservedContainer, ...] = ()  # managed: labelled fleetform.stack
    #: names of containers WITHOUT the fleetform.stack label: only used to
    #: detect name clashes, never touched.
    unmanaged: tuple[str, ...] = ()
    networks: tuple[ObservedNetwork, ...] = ()
    volumes: tuple[ObservedVolume, ...] = ()
    images: tuple[ObservedImage, ...] = ()  # declared refs present on the host
    container_images: tuple[ObservedImage, ...] = ()  # images of managed containers, by id
    server_version: str = ""
    registry: tuple[RegistryAnswer, ...] = ()  # pull: always images, Docker API path only
    #: the host's digest key (hex), for the keyed digests of mounted secrets;
    #: None when it was not read.
    digest_key: str | None = None
    #: the secret files the host holds (paths under fleetform.secrets.SECRET_FILES_DIR);
    #: None when they were not listed.
    secret_files: frozenset[str] | None = None
    #: uploaded project files and data folders the host has: path -> what is
    #: there (fleetform.plan.projectfiles.observe_script); None when not observed.
    project_paths: Mapping[str, str] | None = None

    def container(self, name: str) -> ObservedContainer | None:
        return next((c for c in self.containers if c.name == name), None)

    def network(self, name: str) -> ObservedNetwork | None:
        return next((n for n in self.networks if n.name == name), None)

    def volume(self, name: str) -> ObservedVolume | None:
        return next((v for v in self.volumes if v.name == name), None)

    def image(self, ref: str) -> ObservedImage | None:
        return next((i for i in self.images if i.ref == ref), None)

    def registry_answer(self, ref: str) -> RegistryAnswer | None:
        return next((r for r in self.registry if r.ref == ref), None)

    def image_by_id(self, image_id: str) -> ObservedImage | None:
        found = (i for i in (*self.container_images, *self.images) if i.id == image_id)
        return next(found, None)
