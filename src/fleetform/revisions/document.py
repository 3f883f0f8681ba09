"""The revision document: one stack's desired state on one host, as an apply left it.

Pure: built from the plan the user approved, the host's desired state, what
the host reported after the apply (image ids) and who ran it.  Example::

    >>> from fleetform.plan import HostPlan
    >>> plan_hash(HostPlan("lab-1")) == plan_hash(HostPlan("lab-1"))
    True
    >>> plan_hash(HostPlan("lab-1")).startswith("sha256:")
    True

Secret values never enter it.  Each is replaced by a keyed digest
(:func:`secret_digest`, HMAC-SHA256 under a random key kept on the host, root
only): two revisions can tell whether a secret changed, but a copy of the
document (a backup, a CI log of ``history --json``) cannot confirm a guessed
password, which a plain sha256 would allow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from fleetform.plan import Action, HostPlan
from fleetform.plan.desired import DesiredContainer, HostDesired
from fleetform.plan.spec import spec_to_json
from fleetform.revisions import DIGEST_KEY, FORMAT_VERSION

#: the prefix of a secret value's digest in a revision
DIGEST_PREFIX = "hmac-sha256:"


def canonical(data: Any) -> str:
    """Canonical JSON text: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def plan_hash(host_plan: HostPlan) -> str:
    """``sha256:`` + the sha256 of the canonical JSON of the host's plan (``HostPlan.to_json``).

    The plan JSON masks secret values, so the hash carries none.
    """
    return "sha256:" + hashlib.sha256(canonical(host_plan.to_json()).encode()).hexdigest()


def secret_digest(key: bytes, name: str, value: str) -> str:
    """The digest recorded instead of a secret value: HMAC-SHA256 of ``name``, NUL, ``value``.

    >>> d = secret_digest(b"k" * 32, "DB_PASSWORD", "hunter2")
    >>> d.startswith(DIGEST_PREFIX) and "hunter2" not in d
    True
    >>> d == secret_digest(b"x" * 32, "DB_PASSWORD", "hunter2")  # another host's key
    False
    """
    mac = hmac.new(key, f"{name}\0{value}".encode(), hashlib.sha256)
    return DIGEST_PREFIX + mac.hexdigest()


def _action_stacks(action: Action, image_users: Mapping[str, set[str]]) -> set[str]:
    """The stacks an action belongs to (an image belongs to every stack that runs it)."""
    if action.container is not None:
        return {action.container.stack}
    if action.network is not None:
        return {action.network.stack}
    if action.volume is not None:
        return {action.volume.stack}
    if action.owner_stack is not None:  # an orphan container being removed
        return {action.owner_stack}
    return set(image_users.get(action.resource, set()))


def _image_users(desired: HostDesired) -> dict[str, set[str]]:
    users: dict[str, set[str]] = {}
    for c in desired.containers:
        users.setdefault(c.spec.image, set()).add(c.stack)
    return users


def stacks_changed(host_plan: HostPlan, desired: HostDesired) -> tuple[str, ...]:
    """The stacks the host's plan changes, sorted: each gets a new revision there.

    Engine changes belong to no stack: an apply that only changes the engine
    records no revision.
    """
    users = _image_users(desired)
    changed: set[str] = set()
    for action in host_plan.actions:
        changed |= _action_stacks(action, users)
    return tuple(sorted(changed & set(desired.stacks)))


def proxy_record(c: DesiredContainer) -> dict[str, Any] | None:
    """What ``fleetform rollback`` needs to switch ``c`` through the proxy (None: not proxied)."""
    p = c.service.proxy
    if p is None:
        return None
    return {
        "backend": f"{c.stack}-{c.service.name}",
        "network": c.spec.networks[0].name if c.spec.networks else "bridge",
        "target_port": p.target_port,
        "drain": p.drain,
    }


def _container(c: DesiredContainer, key: bytes) -> dict[str, Any]:
    spec = spec_to_json(c.spec)
    secret = c.secret_keys
    # Secret values are replaced here, before the document exists anywhere.
    spec["env"] = [[k, secret_digest(key, k, v) if k in secret else v] for k, v in c.spec.env]
    # Only proxied containers carry the key: other revisions read as before.
    proxied = {"proxy": proxy_record(c)} if c.service.proxy is not None else {}
    return {
        "name": c.name,
        "service": c.service.name,
        "replica": c.replica,
        "state": c.state,
        "config_hash": c.config_hash,
        "run_once": c.run_once,
        "secret_keys": sorted(k for k, _ in c.spec.env if k in secret),
        "spec": spec,
        # how `fleetform rollback` batches and watches the way back to here
        "rollback_config": dataclasses.asdict(c.service.rollback_config),
        **proxied,
    }


def _plain(obj: Any) -> Any:
    """A dataclass as JSON data (tuples as lists, paths as text)."""
    return json.loads(json.dumps(dataclasses.asdict(obj), default=str))


def desired_document(desired: HostDesired, stack: str, key: bytes) -> dict[str, Any]:
    """``stack``'s part of the host's desired state, secret values as digests."""
    containers = [c for c in desired.containers if c.stack == stack]
    refs = {c.spec.image for c in containers}
    return {
        "stack_file": desired.identity_of(stack),
        "containers": [_container(c, key) for c in containers],
        "networks": [_plain(n.network) for n in desired.networks if n.stack == stack],
        "volumes": [_plain(v.volume) for v in desired.volumes if v.stack == stack],
        # build arguments may hold secrets: only whether the image is built or loaded
        "images": [
            {
                "ref": i.ref,
                "pull": i.pull,
                "build": i.build is not None,
                "archive": str(i.archive) if i.archive is not None else None,
            }
            for i in desired.images
            if i.ref in refs
        ],
    }


@dataclasses.dataclass(frozen=True)
class Provenance:
    """Who applied, with what (the same for every host of one run)."""

    actor: str  # user@control-machine
    fleetform_version: str
    started_at: str  # ISO 8601, UTC
    #: stack name -> {"commit": ..., "dirty": ..., "path": ...} or None (not in git)
    git: Mapping[str, Mapping[str, Any] | None] = dataclasses.field(default_factory=dict)


def revision_document(
    *,
    stack: str,
    number: int,
    host_plan: HostPlan,
    desired: HostDesired,
    key: bytes,
    image_ids: Mapping[str, str],
    provenance: Provenance,
    finished_at: str,
) -> dict[str, Any]:
    """Revision ``number`` of ``stack`` on the plan's host (docs/revisions.md)."""
    doc = desired_document(desired, stack, key)
    users = _image_users(desired)
    names = [c["name"] for c in doc["containers"]]
    refs = [i["ref"] for i in doc["images"]]
    return {
        "format_version": FORMAT_VERSION,
        "stack": stack,
        "revision": number,
        "host": host_plan.host,
        "result": "applied",
        "started_at": provenance.started_at,
        "finished_at": finished_at,
        "actor": provenance.actor,
        "fleetform_version": provenance.fleetform_version,
        "git": provenance.git.get(stack),
        "plan_hash": plan_hash(host_plan),
        "actions": [a.headline() for a in host_plan.actions if stack in _action_stacks(a, users)],
        "image_ids": {
            "containers": {n: image_ids[n] for n in names if n in image_ids},
            "images": {r: image_ids[r] for r in refs if r in image_ids},
        },
        "secret_digest": f"hmac-sha256 of NAME NUL VALUE, keyed by the host's {DIGEST_KEY}",
        "desired": doc,
    }


def serialize(doc: Mapping[str, Any]) -> str:
    """A revision file's text: the document's canonical JSON on one line."""
    return canonical(doc) + "\n"
