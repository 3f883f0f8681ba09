"""Failing one host from inside a pyinfra operation, with a reason people read.

Shared by the engine and the container operations (both layers use it, so it
lives below them).

Example::

    >>> str(failing_command("no engine on this host"))
    "echo 'fleetform: no engine on this host' >&2; exit 1"
"""

from __future__ import annotations

import shlex

from pyinfra.api.command import StringCommand


def failing_command(reason: str) -> StringCommand:
    """The one way a host is failed from inside an operation.

    An exception raised while pyinfra iterates an operation's commands
    escapes ``run_ops`` and stops every host; a command that prints the
    reason and exits 1 fails only this host, and the summary shows why.
    """
    return StringCommand(f"echo {shlex.quote(f'fleetform: {reason}')} >&2; exit 1")
