"""Which stack file a Docker object came from: the ``fleetform.stack-file`` label.

Two teams can both write a stack named ``web``; the stack name alone cannot
tell their containers apart, and applying one file would remove the other's
containers as orphans.  So every object fleetform creates also carries the
identity of the stack file that declared it.

The identity is the file's path relative to the root of the git work tree
that holds it (``deploy/web.yml``), else its absolute path.  A repository
path is the same on every clone: a laptop with the repository in
``~/src/infra`` and a CI runner with it in ``/builds/infra`` both see
``deploy/web.yml``, whatever folder the command runs from and however the
file is named on the command line.  An absolute path (no git work tree) is
only stable on one machine.

    >>> from pathlib import Path
    >>> stack_file_identity(Path("stacks/demo.yml")).endswith("stacks/demo.yml")
    True
"""

from __future__ import annotations

from pathlib import Path


def stack_file_identity(source: Path) -> str:
    """``source``'s path inside its git work tree (posix form), else its absolute path."""
    path = source.resolve()
    for folder in path.parents:
        # `.git` is a folder in a clone and a file in a linked worktree or submodule.
        if (folder / ".git").exists():
            return path.relative_to(folder).as_posix()
    return path.as_posix()
