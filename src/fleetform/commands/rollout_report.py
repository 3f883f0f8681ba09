"""The rollout part of ``apply``'s result: per host and service states, and one sentence.

A (host, service) is ``updated`` when all its replaced containers passed and
stayed, ``rolled_back`` when any went back to its old container, ``failed``
when one could not be brought back (or failed under ``pause``/``continue``),
and ``untouched`` when none of its containers was replaced before the
rollout stopped.  ``from_revision`` is the stack's current revision on the
host when the apply started (null: none yet); ``to_revision`` the one it is
on afterwards: the new revision the apply records when the service was
updated, else the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fleetform.executor.rollout import RolloutResult
    from fleetform.plan.rollout import Rollout

_RANK = {"untouched": 0, "updated": 1, "rolled_back": 2, "failed": 3}


def rollout_json(rollout: Rollout, result: RolloutResult) -> dict[str, Any]:
    states: dict[tuple[str, str, str], str] = {}
    for svc in rollout.services:
        for unit in svc.units:
            key = (unit.host, svc.stack, svc.service)
            state = result.states.get(unit, "untouched")
            if _RANK[state] >= _RANK[states.get(key, "untouched")]:
                states[key] = state
    services = [
        {
            "host": host,
            "stack": stack,
            "service": service,
            "state": state,
            **_revisions(result, host, stack, state),
        }
        for (host, stack, service), state in sorted(states.items())
    ]
    errors = [{"host": u.host, "container": u.name, "error": e} for u, e in result.errors.items()]
    batches = [
        {
            "stack": b.stack,
            "service": b.service,
            "batch": b.number,
            "containers": [f"{u.host}/{u.name}" for u in b.units],
            "seconds": round(b.seconds, 2),
            "failed": b.failed,
        }
        for b in result.batches
    ]
    return {
        "outcome": result.outcome,
        "sentence": sentence(result, states),
        "services": services,
        "batches": batches,
        "errors": errors,
        "problems": result.problems,
    }


def _revisions(result: RolloutResult, host: str, stack: str, state: str) -> dict[str, Any]:
    """The revision a (host, service) went from, and the one it is on now.

    An updated service of a stack the apply recorded is on the new revision
    (the highest + 1); anything else stayed on the current one.
    """
    got = result.numbers.get(host, {}).get(stack)
    if got is None:
        return {"from_revision": None, "to_revision": None}
    stopped = result.stopped_at is not None and result.stopped_at[0] == stack
    recorded = state == "updated" and not stopped
    return {
        "from_revision": got.current,
        "to_revision": got.highest + 1 if recorded else got.current,
    }


def sentence(result: RolloutResult, states: dict[tuple[str, str, str], str]) -> str:
    """What happened, for the last line of the human output."""
    hosts = sorted({h for h, _, _ in states})
    back = sorted({h for (h, _, _), s in states.items() if s == "rolled_back"})
    untouched = sorted({h for (h, _, _), s in states.items() if s == "untouched"} - set(back))
    failed = sorted({f"{u.host}/{u.name}" for u in result.errors})
    where = f"{result.stopped_at[0]}/{result.stopped_at[1]}" if result.stopped_at else ""
    trouble = "" if not result.problems else " Some steps failed: see `problems`."
    if result.outcome == "rolled_back":
        return (
            f"Rolled back: {', '.join(failed)} failed the health gate of {where}; every "
            f"container this run replaced in that stack is back on its old container "
            f"(rolled back on {', '.join(back) or 'no host'}; untouched: "
            f"{', '.join(untouched) or 'none'}), so the fleet is on the old revision.{trouble}"
        )
    if result.outcome == "paused":
        return (
            f"Paused: {', '.join(failed)} failed the health gate of {where}; the batches "
            f"before it stay updated and the rest was not touched.{trouble}"
        )
    done = sum(1 for s in result.states.values() if s == "updated")
    note = f" ({', '.join(failed)} failed and kept the old container)" if failed else ""
    return (
        f"Rolled out {done} container(s) in {len(result.batches)} batch(es) on "
        f"{len(hosts)} host(s){note}.{trouble}"
    )
