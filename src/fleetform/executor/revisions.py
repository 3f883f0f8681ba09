"""The pyinfra operation that records revisions, after a host's containers were applied.

It is added after the containers operation, on every host (pyinfra's API
identifies operations by position), and pyinfra runs it only on hosts where
every earlier operation succeeded: a host that failed records nothing.  A
host whose plan changes no stack records nothing either.

Example (what ``fleetform apply`` adds)::

    session.add_op(revisions, plans=plans, desired=desired, provenance=provenance(stacks))
"""

from __future__ import annotations

import io
from collections.abc import Generator, Mapping
from typing import Any

from pyinfra.api.command import FileUploadCommand, StringCommand
from pyinfra.api.operation import operation
from pyinfra.context import host

from fleetform.opfailure import failing_command
from fleetform.plan import HostPlan
from fleetform.plan.desired import HostDesired
from fleetform.revisions.document import (
    Provenance,
    revision_document,
    serialize,
    stacks_changed,
)
from fleetform.revisions.host import (
    RevisionHostError,
    parse_prepared,
    prepare_script,
    upload_path,
    write_command,
)
from fleetform.revisions.provenance import now


@operation()
def revisions(
    plans: Mapping[str, HostPlan],
    desired: Mapping[str, HostDesired],
    provenance: Provenance,
) -> Generator[Any, None, None]:
    """Record a new revision of each stack this host's plan changed (docs/revisions.md)."""
    host_plan = plans.get(host.name)
    want = desired.get(host.name)
    if host_plan is None or want is None:
        return
    stacks = stacks_changed(host_plan, want)
    if not stacks:
        return
    mine = [c for c in want.containers if c.stack in stacks]
    script = prepare_script(stacks, [c.name for c in mine], sorted({c.spec.image for c in mine}))
    # Runs when the operation executes, after this host's containers were applied:
    # the image ids are those the containers now run.
    _, output = host.run_shell_command(StringCommand(script))
    try:
        prepared = parse_prepared(output.stdout)
    except RevisionHostError as exc:
        yield failing_command(f"the containers were applied, but no revision was recorded: {exc}")
        return
    finished = now()
    for stack in stacks:
        number = prepared.numbers.get(stack, 0) + 1
        doc = revision_document(
            stack=stack,
            number=number,
            host_plan=host_plan,
            desired=want,
            key=prepared.key,
            image_ids=prepared.image_ids,
            provenance=provenance,
            finished_at=finished,
        )
        yield FileUploadCommand(io.BytesIO(serialize(doc).encode()), upload_path(stack, number))
        yield StringCommand(write_command(stack, number))
