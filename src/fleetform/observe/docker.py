"""Observe a host's Docker state in one command (one SSH round trip).

:func:`observe_command` builds a POSIX shell command that prints ONE JSON
document; :func:`parse_observed` turns it into frozen :class:`Observed` data.
The number of round trips does not depend on the number of containers.

The document (``fleetform_observe: 1``)::

    {"fleetform_observe": 1, "server_version": "20.10.24",
     "containers": [docker inspect of every container labelled fleetform.stack],
     "names": ["every container name", ..., null],
     "networks": [docker network inspect of every network],
     "volumes": [docker volume inspect of every volume],
     "images": [{"ref": "declared ref", "inspect": [docker image inspect],
                 "registry": {"digest": "sha256:..."} or {"error": "..."}}, ..., null],
     "container_images": [docker image inspect of the managed containers' image ids]}

``registry`` is there only for ``pull: always`` images on the Docker API path
(``GET /distribution/{ref}/json``: what the registry serves now); the docker
CLI path leaves it out, and the digest is unknown.

Or ``{"fleetform_observe": 1, "engine": "missing" | "not_answering", "error":
"..."}`` when docker is missing or its daemon does not answer (exit status 0
either way, so the caller reads the reason instead of a bare failure);
:func:`parse_observed` raises :class:`~fleetform.observe.errors.EngineMissing`
or :class:`~fleetform.observe.errors.EngineNotAnswering` for them.

Example::

    >>> from fleetform.plan.desired import HostDesired
    >>> "docker inspect" in observe_command(HostDesired("host-a", ("demo",)))
    True
"""

from __future__ import annotations

import json
import shlex
from dataclasses import replace
from typing import Any

from fleetform.model import LABEL_STACK
from fleetform.observe.api import api_command
from fleetform.observe.errors import EngineMissing, EngineNotAnswering, ObserveError
from fleetform.observe.inspect import anonymous_volumes, image_config, spec_from_inspect
from fleetform.plan.desired import HostDesired
from fleetform.plan.observed import (
    Observed,
    ObservedContainer,
    ObservedImage,
    ObservedNetwork,
    ObservedVolume,
    RegistryAnswer,
)

FORMAT = 1


_PRELUDE = r"""j() { o=$("$@" 2>/dev/null); [ -n "$o" ] || o='[]'; printf '%s' "$o"; }
if ! command -v docker >/dev/null 2>&1; then
  printf '%s%s\n' '{"fleetform_observe":1,"engine":"missing",' \
    '"error":"docker is not installed (no docker command)"}'
  exit 0
fi
v=$(docker version --format '{{json .Server.Version}}' 2>/dev/null) || v=
if [ -z "$v" ]; then
  printf '%s%s\n' '{"fleetform_observe":1,"engine":"not_answering","error":' \
    '"the Docker daemon does not answer (not running, or no access to its socket)"}'
  exit 0
fi
ids=$(docker ps -aq --no-trunc --filter label=fleetform.stack)
printf '{"fleetform_observe":1,"server_version":%s,"containers":' "$v"
if [ -n "$ids" ]; then j docker inspect $ids; else printf '[]'; fi
printf ',"names":['
docker ps -a --no-trunc --format '{{json .Names}},'
printf 'null],"networks":'
n=$(docker network ls -q --no-trunc)
if [ -n "$n" ]; then j docker network inspect $n; else printf '[]'; fi
printf ',"volumes":'
n=$(docker volume ls -q)
if [ -n "$n" ]; then j docker volume inspect $n; else printf '[]'; fi
printf ',"images":['
"""

_POSTLUDE = r"""printf 'null],"container_images":'
n=
if [ -n "$ids" ]; then n=$(docker inspect --format '{{.Image}}' $ids 2>/dev/null | sort -u); fi
if [ -n "$n" ]; then j docker image inspect $n; else printf '[]'; fi
printf '}\n'
"""


def observe_command(desired: HostDesired) -> str:
    """One shell command printing the observe document for ``desired``'s host.

    The fast path reads the Docker API with one python3 process
    (:mod:`fleetform.observe.api`); without python3, or on any error there, the
    same document comes from the docker CLI (:func:`cli_observe_command`).
    """
    refs = [image.ref for image in desired.images]
    return f"{api_command(refs, registry_refs(desired))} || {{\n{cli_observe_command(desired)}}}"


def registry_refs(desired: HostDesired) -> list[str]:
    """The images whose registry digest is asked for: ``pull: always``, not built or loaded."""
    return [
        i.ref
        for i in desired.images
        if i.pull == "always" and i.build is None and i.archive is None
    ]


def cli_observe_command(desired: HostDesired) -> str:
    """The observe document from the docker CLI alone.

    Container ids, network ids and volume names are split unquoted on
    purpose: Docker restricts them to ``[a-zA-Z0-9_.-]``.  Image references
    come from stack files and are quoted with :func:`shlex.quote`.
    """
    lines = [_PRELUDE]
    for image in desired.images:
        head = '{"ref":' + json.dumps(image.ref) + ',"inspect":'
        lines.append(
            f"printf '%s' {shlex.quote(head)}; "
            f"j docker image inspect {shlex.quote(image.ref)}; printf '}},'\n"
        )
    lines.append(_POSTLUDE)
    return "".join(lines)


def _container(raw: dict[str, Any]) -> ObservedContainer:
    state = raw.get("State") or {}
    health = state.get("Health") or {}
    log = health.get("Log") or []
    return ObservedContainer(
        name=(raw.get("Name") or "").lstrip("/"),
        id=raw.get("Id", ""),
        image_id=raw.get("Image", ""),
        status=state.get("Status", "unknown"),
        exit_code=int(state.get("ExitCode") or 0),
        health=health.get("Status") or None,
        health_log=(log[-1].get("Output") or "").strip() if log else None,
        labels=tuple(sorted(((raw.get("Config") or {}).get("Labels") or {}).items())),
        spec=spec_from_inspect(raw),
        anonymous_volumes=anonymous_volumes(raw),
    )


def _shared_stacks_by_name(
    containers: tuple[ObservedContainer, ...],
) -> tuple[ObservedContainer, ...]:
    """``network_mode: container:<id>`` as ``container:<name>``, the form a stack declares.

    Docker keeps the id it resolved the name to.  An id no observed container
    has (its container was replaced) stays an id, so it differs from the
    declared name and the container is recreated onto the new one.
    """
    names = {c.id: c.name for c in containers}
    out = []
    for c in containers:
        mode = c.spec.network_mode or ""
        peer = names.get(mode.removeprefix("container:")) if mode.startswith("container:") else None
        if peer is not None:
            c = replace(c, spec=replace(c.spec, network_mode=f"container:{peer}"))
        out.append(c)
    return tuple(out)


def _network(raw: dict[str, Any]) -> ObservedNetwork:
    return ObservedNetwork(
        name=raw["Name"],
        id=raw.get("Id", ""),
        driver=raw.get("Driver", ""),
        internal=bool(raw.get("Internal")),
        attachable=bool(raw.get("Attachable")),
        options=tuple(sorted((raw.get("Options") or {}).items())),
        labels=tuple(sorted((raw.get("Labels") or {}).items())),
    )


def _volume(raw: dict[str, Any]) -> ObservedVolume:
    return ObservedVolume(
        name=raw["Name"],
        driver=raw.get("Driver", ""),
        options=tuple(sorted((raw.get("Options") or {}).items())),
        labels=tuple(sorted((raw.get("Labels") or {}).items())),
    )


def _image(ref: str, raw: dict[str, Any]) -> ObservedImage:
    return ObservedImage(ref, raw["Id"], image_config(raw), tuple(raw.get("RepoDigests") or ()))


def _registry(entry: dict[str, Any]) -> RegistryAnswer | None:
    answer = entry.get("registry")
    if not isinstance(answer, dict):
        return None  # not asked, or the docker CLI path: unknown
    digest = answer.get("digest")
    if isinstance(digest, str) and digest:
        return RegistryAnswer(entry["ref"], digest)
    return RegistryAnswer(entry["ref"], None, str(answer.get("error") or "no digest in the answer"))


def parse_observed(stdout: str) -> Observed:
    """Parse :func:`observe_command`'s output.

    Raises :class:`EngineMissing` or :class:`EngineNotAnswering` when the
    document says so, :class:`ObserveError` for anything else unreadable.
    """
    try:
        doc = json.loads(stdout)
    except json.JSONDecodeError as exc:
        head = stdout.strip()[:200] or "(no output)"
        raise ObserveError(f"unreadable observation output ({exc.msg}): {head}") from None
    if not isinstance(doc, dict) or doc.get("fleetform_observe") != FORMAT:
        raise ObserveError("unexpected observation output (not a fleetform observe document)")
    if doc.get("error"):
        error = _ENGINE_ERRORS.get(str(doc.get("engine")), ObserveError)
        raise error(str(doc["error"]))
    containers = tuple(
        sorted(
            (_container(c) for c in doc.get("containers") or () if LABEL_STACK in _labels(c)),
            key=lambda c: c.name,
        )
    )
    containers = _shared_stacks_by_name(containers)
    managed = {c.name for c in containers}
    names: set[str] = set()
    for entry in doc.get("names") or ():
        if entry:
            names.update(n.lstrip("/") for n in entry.split(","))
    images = tuple(
        _image(entry["ref"], raw)
        for entry in doc.get("images") or ()
        if entry
        for raw in (entry.get("inspect") or ())[:1]
    )
    return Observed(
        containers=containers,
        unmanaged=tuple(sorted(names - managed)),
        networks=tuple(sorted((_network(n) for n in doc.get("networks") or ()), key=_by_name)),
        volumes=tuple(sorted((_volume(v) for v in doc.get("volumes") or ()), key=_by_name)),
        images=images,
        container_images=tuple(_image("", raw) for raw in doc.get("container_images") or ()),
        server_version=str(doc.get("server_version") or ""),
        registry=tuple(
            answer
            for entry in doc.get("images") or ()
            if entry
            for answer in (_registry(entry),)
            if answer is not None
        ),
    )


_ENGINE_ERRORS: dict[str, type[ObserveError]] = {
    "missing": EngineMissing,
    "not_answering": EngineNotAnswering,
}


def _labels(raw: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = (raw.get("Config") or {}).get("Labels") or {}
    return labels


def _by_name(obj: ObservedNetwork | ObservedVolume) -> str:
    return obj.name
