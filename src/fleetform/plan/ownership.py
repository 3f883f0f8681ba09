"""Whose is a Docker object?  Decided by its fleetform labels only.

An object belongs to a stack *file*, not just a stack name: ``fleetform.stack``
(stack name), ``fleetform.stack-file`` (the file's identity, see
:mod:`fleetform.stackfile.identity`) and, for networks and volumes, their key
(``fleetform.network`` / ``fleetform.volume``), or for containers their service
(``fleetform.service``).  Docker names are unique on a host, so a name the
stack wants that is held by an object labelled for another stack, key,
service or file is a plan error: using it would share it, recreating or
removing it would destroy another stack's object.

Objects made before the ``fleetform.stack-file`` label existed carry none;
they are taken as the current file's, so an upgrade strands nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from fleetform.plan.desired import HostDesired
from fleetform.plan.observed import Observed, ObservedContainer


def same_file(have: str | None, want: str) -> bool:
    """True when an object labelled ``have`` belongs to the file ``want`` (unlabelled: yes)."""
    return have is None or have == want


def foreign_owner(
    have: tuple[str | None, str | None, str | None],
    want: tuple[str, str, str],
    what: str,
) -> str | None:
    """Why an object labelled ``have`` is not the stack's, or None when it is.

    Both are ``(stack, key or service, stack file)``; a missing key label on
    the host is not held against it (it says nothing about another owner).
    """
    stack, key, identity = have
    want_stack, want_key, want_identity = want
    unique = "Docker names are unique on a host, so one of the two needs another name"
    if stack != want_stack:
        return f"belongs to stack {stack}, not {want_stack}; {unique}"
    if key is not None and key != want_key:
        return f"belongs to {what} {key} of stack {stack}, not to {what} {want_key}; {unique}"
    if not same_file(identity, want_identity):
        return (
            f"was made by stack file {identity}, not {want_identity}: two stack files declare "
            f"stack {stack}; give one of them another name (or, if the file was moved, remove "
            "what the old path made by hand)"
        )
    return None


def _names(containers: Iterable[ObservedContainer]) -> str:
    return ", ".join(sorted(c.name for c in containers))


def stack_file_warnings(desired: HostDesired, observed: Observed) -> list[str]:
    """Same-name stacks from other files, and containers a renamed stack left behind."""
    files = dict(desired.stack_files)
    stacks_of_file = {identity: stack for stack, identity in desired.stack_files}
    elsewhere: dict[tuple[str, str], list[ObservedContainer]] = {}
    leftovers: dict[tuple[str, str], list[ObservedContainer]] = {}
    for obs in observed.containers:
        identity, stack = obs.identity, obs.stack or ""
        if identity is None:
            continue
        if stack in files and identity != files[stack]:
            elsewhere.setdefault((stack, identity), []).append(obs)
        elif identity in stacks_of_file and stack != stacks_of_file[identity]:
            leftovers.setdefault((stack, identity), []).append(obs)
    warnings = [
        f"stack {stack} is also applied from another stack file, {identity}; its containers "
        f"here ({_names(found)}) are left alone; give one of the two stacks another name"
        for (stack, identity), found in sorted(elsewhere.items())
    ]
    warnings += [
        f"containers {_names(found)} were made by {identity} as stack {stack}, which it no "
        f"longer declares (it declares {stacks_of_file[identity]}); they are left alone: "
        "remove them by hand when they are no longer needed"
        for (stack, identity), found in sorted(leftovers.items())
    ]
    return warnings
