"""Planning networks, volumes and images (what containers need before they start).

Each function adds what it finds to the host's :class:`Findings`.
"""

from __future__ import annotations

from fleetform.plan.actions import Action
from fleetform.plan.desired import DesiredImage, HostDesired
from fleetform.plan.findings import Findings
from fleetform.plan.observed import Observed
from fleetform.plan.ownership import foreign_owner, same_file


def plan_networks(desired: HostDesired, observed: Observed, found: Findings) -> None:
    """Creates of missing networks.  Networks are never removed or recreated."""
    for dn in desired.networks:
        net = dn.network
        have = observed.network(dn.name)
        if have is None:
            if net.external:
                found.error(f"external network {dn.name} does not exist on {desired.host}")
            else:
                create = Action(
                    desired.host, "create-network", dn.name, "missing", "missing", network=dn
                )
                found.add("prepare", create)
            continue
        if net.external:
            continue
        if have.stack is None:
            found.warn(f"network {dn.name} exists without fleetform's labels; it is used as it is")
            continue
        # The stack file is left out here: a network is never removed or
        # recreated, so a same-name stack from another file sharing it (its
        # implicit `default` network, say) destroys nothing; the plan warns.
        foreign = foreign_owner((have.stack, have.key, None), (dn.stack, net.name, ""), "network")
        if foreign is not None:
            # Docker names are unique on a host: using it would join another
            # stack's network.
            found.error(f"network {dn.name} on {desired.host} {foreign}")
            continue
        if not same_file(have.identity, dn.identity):
            found.warn(
                f"network {dn.name} was made by stack file {have.identity}, which also declares "
                f"stack {dn.stack}; it is shared with that stack's containers"
            )
        drift = []
        if have.driver != net.driver:
            drift.append(f"driver {have.driver} (declared {net.driver})")
        if have.internal != net.internal:
            drift.append(f"internal {have.internal} (declared {net.internal})")
        wrong_opts = [k for k, v in net.driver_opts if dict(have.options).get(k) != v]
        if wrong_opts:
            drift.append(f"options {', '.join(wrong_opts)}")
        if drift:
            # Recreating a network would cut every container on it, including
            # other stacks'; v1 reports and leaves it to a person.
            found.warn(
                f"network {dn.name} differs from the stack: {'; '.join(drift)}; "
                "networks are not recreated (remove it by hand to have it recreated)"
            )


def plan_volumes(desired: HostDesired, observed: Observed, found: Findings) -> None:
    """Creates of missing volumes; removals (last) of those declared absent."""
    for dv in desired.volumes:
        vol = dv.volume
        have = observed.volume(dv.name)
        foreign = (
            foreign_owner(
                (have.stack, have.key, have.identity), (dv.stack, vol.name, dv.identity), "volume"
            )
            if have is not None and have.stack is not None
            else None
        )
        if vol.state == "absent":
            if have is None:
                continue
            if vol.external or have.stack != dv.stack or foreign is not None:
                found.warn(
                    f"volume {dv.name} is declared absent but is not stack {dv.stack}'s "
                    f"({foreign or 'no matching fleetform.stack label'}); it is not removed"
                )
                continue
            # The only way a named volume is ever removed: the stack asks for it.
            removal = Action(
                desired.host, "remove-volume", dv.name, "state: absent", "state_absent", volume=dv
            )
            found.add("cleanup", removal)
            continue
        if have is None:
            if vol.external:
                found.error(f"external volume {dv.name} does not exist on {desired.host}")
            else:
                create = Action(
                    desired.host, "create-volume", dv.name, "missing", "missing", volume=dv
                )
                found.add("prepare", create)
        elif not vol.external and foreign is not None:
            # Mounting it would hand another stack's data to this one.
            found.error(f"volume {dv.name} on {desired.host} {foreign}")
        elif not vol.external and have.driver != vol.driver:
            found.warn(
                f"volume {dv.name} uses driver {have.driver}, the stack declares {vol.driver}; "
                "volumes are never recreated"
            )


def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


def _pulled_always(image: DesiredImage) -> bool:
    # A built or loaded image lives on the host only: it is never pulled,
    # whatever the pull policy says (the loader rejects `pull: always` with
    # them; this keeps hand-made models safe).
    return image.pull == "always" and image.build is None and image.archive is None


def new_registry_digest(image: DesiredImage, observed: Observed) -> str | None:
    """The registry's digest of a ``pull: always`` image when the host's copy is another one.

    None when the image is missing (a plain pull), when the host has what the
    registry serves, or when the registry's answer is unknown or failed.
    """
    have = observed.image(image.ref)
    answer = observed.registry_answer(image.ref)
    if not _pulled_always(image) or have is None or answer is None or answer.digest is None:
        return None
    return None if have.has_digest(answer.digest) else answer.digest


def _pull_always(
    di: DesiredImage, observed: Observed, host: str
) -> tuple[Action | None, str | None]:
    """(pull action or None, warning or None) for a present ``pull: always`` image."""
    answer = observed.registry_answer(di.ref)
    if answer is None:
        # The docker CLI path cannot ask the registry through dockerd: the
        # pull is planned, and counted as a change, as the reason says.
        reason = "pull: always (registry digest unknown: observed without the Docker API)"
        return Action(host, "pull", di.ref, reason, "pull_always_unverified", image=di), None
    if answer.digest is None:
        # Safe: without an answer nothing is pulled, and the containers keep
        # running the image the host has.
        return None, (
            f"pull: always: could not ask the registry for {di.ref} ({answer.error}); "
            "the image on the host is kept, not pulled"
        )
    digest = new_registry_digest(di, observed)
    if digest is None:
        return None, None  # the host has what the registry serves
    reason = f"pull: always: the registry serves another image (digest {_short(digest)})"
    return Action(host, "pull", di.ref, reason, "pull_always_digest", image=di), None


def plan_images(desired: HostDesired, observed: Observed, found: Findings) -> None:
    """Load / build / pull actions: loads first, then builds, then pulls.

    A missing image is loaded from its archive, else built, else pulled
    (``pull: never``: an error).  A present image is pulled again only with
    ``pull: always``, and only when the registry serves another digest than
    the host's copy (see :func:`_pull_always`); it is never built or loaded
    again, so new content needs a new tag.
    """
    actions: list[Action] = []
    for di in desired.images:
        present = observed.image(di.ref) is not None
        if present and _pulled_always(di):
            action, warning = _pull_always(di, observed, desired.host)
            actions += [action] if action else []
            found.warn(*([warning] if warning else []))
            continue
        if present:
            continue
        if di.archive is not None:
            reason = f"missing: load {di.archive.name}"
            actions.append(Action(desired.host, "load", di.ref, reason, "missing", image=di))
        elif di.build is not None:
            actions.append(
                Action(desired.host, "build", di.ref, "missing: build", "missing", image=di)
            )
        elif di.pull == "never":
            found.error(f"image {di.ref} is not on {desired.host} and its pull policy is never")
        else:
            actions.append(
                Action(desired.host, "pull", di.ref, "missing: pull", "missing", image=di)
            )
    rank = {"load": 0, "build": 1, "pull": 2}
    found.add("prepare", *sorted(actions, key=lambda a: (rank[a.kind], a.resource)))
