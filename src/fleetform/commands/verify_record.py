"""Keep each stack's verify result on its hosts, whoever ran the checks.

``fleetform verify``, ``apply --verify`` and ``reconcile`` all write
``verify.json`` next to each stack's revisions (``fleetform.revisions.verified``),
in one round trip per host, so ``fleetform status`` shows the last verify and
the commit it checked: the reconcile's commit, else the commit of the git
work tree holding the stack file (``fleetform.revisions.provenance``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fleetform.commands.common import Output
from fleetform.inventory import LoadedInventory
from fleetform.model import Stack
from fleetform.verify.runner import HostReport


def stack_commits(stacks: Iterable[Stack], commit: str | None = None) -> dict[str, str | None]:
    """stack -> the commit its checks verified: ``commit`` when given, else its file's."""
    from fleetform.revisions.provenance import git_source

    if commit is not None:
        return {s.name: commit for s in stacks}
    return {s.name: (git_source(s.source) or {}).get("commit") for s in stacks}


def record_verified(
    out: Output,
    stacks: Sequence[Stack],
    loaded: LoadedInventory,
    reports: Sequence[HostReport],
    commits: dict[str, str | None],
) -> None:
    """Write each host's per-stack results; a note names the hosts not written.

    A host not reached by the checks is left as it is: its last result stays.
    """
    from fleetform.executor.session import Session
    from fleetform.inventory import check_host_keys
    from fleetform.revisions.provenance import actor, now
    from fleetform.revisions.verified import verified_documents, write_verified_script

    at, by = now(), actor()
    scripts = {}
    for rep in reports:
        if rep.error is not None:
            continue
        groups = loaded.target(rep.host).groups
        mine = [s.name for s in stacks if _runs_on(s, groups, rep.host)]
        if not mine:
            continue
        checks = rep.as_dict()["checks"]
        docs = {
            name: {**doc, "commit": commits.get(name), "by": by}
            for name, doc in verified_documents(checks, mine, at, None).items()
        }
        scripts[rep.host] = write_verified_script(docs)
    if not scripts:
        return
    check_host_keys(loaded.hosts)  # as strict as the checks' own connections
    session = Session(loaded)
    try:
        session.connect()
        chosen = [h for h in session.hosts if h.name in scripts]
        results = session.run_everywhere(lambda h: scripts[h.name], chosen)
    finally:
        session.disconnect()
    failed = sorted(h for h, r in results.items() if not r.ok)
    failed += sorted(h for h in session.failures if h in scripts)
    if failed:
        out.note(f"could not keep the verify result on {', '.join(failed)}")


def _runs_on(stack: Any, groups: frozenset[str] | set[str], host: str) -> bool:
    """Whether ``stack`` targets ``host`` (no ``hosts``: every host)."""
    return not stack.hosts or bool(set(stack.hosts) & (set(groups) | {host}))
