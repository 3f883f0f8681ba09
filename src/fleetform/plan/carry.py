"""Which anonymous volumes a recreate carries over to the new container.

A recreate replaces a container.  Its anonymous volumes (``volumes:
[/data]`` in a stack, and the volumes Docker makes for an image's ``VOLUME``
targets: postgres, mysql, redis...) hold data that the new container must
see, so, as Compose does, the new container mounts the old one's anonymous
volume, by name, at the same target when

- the stack declares an anonymous volume there (``- /data``), or
- the stack declares nothing there and the new image declares ``VOLUME``
  there.

Otherwise (the stack now mounts a named volume, a bind or a tmpfs at that
target, or nothing, and the image no longer declares it) the new container
does not mount it: the service no longer sees that data.  fleetform never
deletes the volume (``docker rm`` runs without ``--volumes``), and the plan
warns.  That is what "a recreate discards data" means here.  Not warned
about, because every recreate (``-/+``) or even restart loses them by
design: the container's writable layer and its tmpfs mounts.

When the new image is not on the host yet (it will be pulled), its
``VOLUME`` targets are not known: the old image's are used, and with no image
known at all every anonymous volume the stack does not mount otherwise is
carried, so a volume is rather kept than left.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleetform.plan.observed import ObservedContainer
from fleetform.plan.spec import ContainerSpec, ImageConfig


@dataclass(frozen=True)
class Carry:
    #: (target, volume name) mounted in the new container
    carried: tuple[tuple[str, str], ...] = ()
    #: one sentence per anonymous volume the new container no longer mounts
    left: tuple[str, ...] = ()


def _mount_text(kind: str, source: str) -> str:
    if kind == "tmpfs":
        return "a tmpfs"
    if kind == "bind":
        return f"the host folder {source}"
    return f"volume {source}" if source else "a new anonymous volume"


def carry_volumes(spec: ContainerSpec, old: ObservedContainer, image: ImageConfig | None) -> Carry:
    """What a recreate of ``old`` as ``spec`` (on ``image``) does with its anonymous volumes."""
    declared = {m.target: m for m in spec.mounts}
    image_volumes = image.volumes if image is not None else None
    carried: list[tuple[str, str]] = []
    left: list[str] = []
    for target, name in old.anonymous_volumes:
        mount = declared.get(target)
        if mount is None and (image_volumes is None or target in image_volumes):
            carried.append((target, name))
            continue
        if mount is not None and mount.type == "volume" and not mount.source:
            carried.append((target, name))
            continue
        why = (
            f"the stack mounts {_mount_text(mount.type, mount.source)} there now"
            if mount is not None
            else "neither the stack nor the image declares that target any more"
        )
        left.append(
            f"recreating {old.name} leaves anonymous volume {name} (at {target}) "
            f"unmounted: {why}; its data stays in that volume, which fleetform never removes"
        )
    return Carry(tuple(carried), tuple(left))
