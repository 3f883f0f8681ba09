"""``fleetform rollback``'s plan: which containers go back to which revision (pure).

A rollback needs no stack file: it goes back to a revision recorded on each
host (docs/revisions.md) by starting the containers a rollout kept there,
stopped, as ``<name>.fleetform-old`` (docs/rollouts.md).  From what each host
reported (its revisions of the stack and the stack's containers) this module
decides, per host and stack:

- the target: ``--to N``, or by default the newest earlier revision that
  differs from the current one and was not itself rolled back from;
- one :class:`Swap` per container of the target whose config hash differs
  from the running container's, when the kept container has the target's
  config hash;
- errors, when the target cannot be reached from what the host keeps (a
  container only an older apply ran, a service added or removed since): the
  message says to apply the stack file of the target's commit instead.

Nothing runs when any host has an error.  Example::

    plan = plan_rollback(reports, stacks=["demo"], to=None)
    print("\\n".join(plan.lines()))
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fleetform.model import KEPT_SUFFIX, RolloutConfig
from fleetform.revisions.host import HostRevisions


@dataclass(frozen=True)
class HostContainer:
    """One container of the stack on the host, as the rollback script saw it."""

    name: str
    id: str
    running: bool
    stack: str | None
    config_hash: str | None


@dataclass(frozen=True)
class HostReport:
    """What one host reported: its revisions and the containers of the stacks."""

    revisions: HostRevisions
    containers: tuple[HostContainer, ...] = ()

    def container(self, name: str) -> HostContainer | None:
        return next((c for c in self.containers if c.name == name), None)


@dataclass(frozen=True)
class ProxySwitch:
    """How a swap goes through the host's proxy (docs/proxy.md): the backend, the
    network and port it reaches the kept container on, and the running one's drain."""

    backend: str
    network: str
    target_port: int
    drain: int  # ns


@dataclass(frozen=True)
class Swap:
    """Start a kept container again in place of the running one (health-gated)."""

    host: str
    stack: str
    service: str
    replica: int
    name: str
    from_hash: str
    to_hash: str
    config: RolloutConfig
    #: the images of the current and the target revision (None: not recorded)
    from_image: str | None = None
    to_image: str | None = None
    #: start-first through the proxy (None: stop-first, as an unproxied service)
    proxy: ProxySwitch | None = None
    #: stop-first, proxied: the slot that served the running one serves the kept one
    repoint: ProxySwitch | None = None

    def change(self) -> str:
        """What changes, for the plan: the image when it differs, else the config hash."""
        if self.from_image and self.to_image and self.from_image != self.to_image:
            return f"image {self.from_image} -> {self.to_image}"
        return f"config {self.from_hash[:12]} -> {self.to_hash[:12]}"

    def __str__(self) -> str:
        return f"{self.host} {self.name}"


@dataclass(frozen=True)
class StackRollback:
    """One stack on one host: from its current revision to the target."""

    host: str
    stack: str
    from_revision: int
    to_revision: int
    swaps: tuple[Swap, ...]
    #: what stays as it is, said in the plan (one-shot jobs, stopped services)
    notes: tuple[str, ...]
    #: the target's revision document (its desired state becomes the new revision)
    target: Mapping[str, Any]
    #: the number the new revision gets on the host
    next_number: int


@dataclass(frozen=True)
class RollbackPlan:
    stacks: tuple[StackRollback, ...] = ()
    errors: tuple[str, ...] = ()

    @property
    def swaps(self) -> tuple[Swap, ...]:
        return tuple(s for st in self.stacks for s in st.swaps)

    def batches(self) -> list[tuple[RolloutConfig, tuple[Swap, ...]]]:
        """Per stack and service (in revision order), batches by ``rollback_config``.

        As a rollout's: replica 1 on every host first, then replica 2.
        """
        groups: dict[tuple[str, str], list[Swap]] = {}
        for swap in self.swaps:
            groups.setdefault((swap.stack, swap.service), []).append(swap)
        out = []
        for key in sorted(groups, key=lambda k: k[0]):  # stable: services keep their order
            units = sorted(groups[key], key=lambda s: (s.replica, s.host))
            config = units[0].config
            out += [(config, batch) for batch in config.batches(units)]
        return out

    def lines(self) -> list[str]:
        """The plan as shown before approval."""
        out: list[str] = []
        for st in self.stacks:
            out.append(
                f"{st.host}: stack {st.stack}: revision {st.from_revision} -> "
                f"{st.to_revision} (recorded as revision {st.next_number})"
            )
            out += [
                f"  ~ {s.name}: start the kept container of revision {st.to_revision} "
                f"({s.change()}); the current one is kept"
                + (" (start-first through the proxy)" if s.proxy else "")
                + (" (stop-first; the proxy's slot follows)" if s.repoint else "")
                for s in st.swaps
            ]
            if not st.swaps:
                out.append("  nothing to change: the containers already run that revision")
            out += [f"  = {note}" for note in st.notes]
        out += [f"error: {e}" for e in self.errors]
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "stacks": [
                {
                    "host": st.host,
                    "stack": st.stack,
                    "from_revision": st.from_revision,
                    "to_revision": st.to_revision,
                    "new_revision": st.next_number,
                    "containers": [
                        {"name": s.name, "from_hash": s.from_hash, "to_hash": s.to_hash}
                        for s in st.swaps
                    ],
                    "notes": list(st.notes),
                }
                for st in self.stacks
            ],
            "errors": list(self.errors),
        }


def rollback_config(record: Mapping[str, Any] | None) -> RolloutConfig:
    """A container record's ``rollback_config`` (revisions before it was recorded: defaults)."""
    data = (record or {}).get("rollback_config")
    if not isinstance(data, Mapping):
        return RolloutConfig()
    names = {f.name for f in dataclasses.fields(RolloutConfig)}
    try:
        return RolloutConfig(**{k: v for k, v in data.items() if k in names})
    except TypeError:
        return RolloutConfig()


def _image(record: Mapping[str, Any] | None) -> str | None:
    spec = (record or {}).get("spec")
    image = spec.get("image") if isinstance(spec, Mapping) else None
    return str(image) if image else None


def proxy_route(
    now: Mapping[str, Any] | None, then: Mapping[str, Any] | None
) -> ProxySwitch | str | None:
    """How the kept container (``then`` record) is reached through the proxy that
    serves the running one (``now``): None when neither revision is proxied, a
    message when the revisions cannot tell (one proxied and not the other, other
    backends, or settings recorded before revisions held them all)."""
    p_now, p_then = ((r or {}).get("proxy") for r in (now, then))
    if p_now is None and p_then is None:
        return None
    if not isinstance(p_now, Mapping) or not isinstance(p_then, Mapping):
        return "only one of the two revisions puts it behind the proxy"
    if p_then.get("backend") != p_now.get("backend"):
        return "the two revisions put it behind different proxy backends"
    try:
        b, net, port = str(p_then["backend"]), str(p_then["network"]), int(p_then["target_port"])
        return ProxySwitch(b, net, port, int(p_now["drain"]))
    except (KeyError, TypeError, ValueError):
        return "the revisions do not record all its proxy settings"


def _by_number(docs: Iterable[Mapping[str, Any]], stack: str) -> dict[int, Mapping[str, Any]]:
    return {int(d["revision"]): d for d in docs if d.get("stack") == stack}


def _hashes(doc: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(c.get("name")): str(c.get("config_hash"))
        for c in (doc.get("desired") or {}).get("containers", [])
    }


def _default_target(revs: Mapping[int, Mapping[str, Any]], current: int) -> int | None:
    """The newest earlier revision that differs from the current one and was not rolled
    back from (so a second rollback goes one step further back, not forth)."""
    rolled_from = {
        int(d["rollback"]["from"])
        for n, d in revs.items()
        if n <= current and isinstance(d.get("rollback"), Mapping) and "from" in d["rollback"]
    }
    now = _hashes(revs[current])
    earlier = [n for n in revs if n < current and n not in rolled_from and _hashes(revs[n]) != now]
    return max(earlier, default=None)


def _commit_hint(doc: Mapping[str, Any]) -> str:
    git = doc.get("git") or {}
    commit = git.get("commit") if isinstance(git, Mapping) else None
    where = f" (commit {str(commit)[:12]})" if commit else ""
    return f"apply the stack file of revision {doc.get('revision')}{where} instead"


def _target(revs: Mapping[int, Mapping[str, Any]], current: int, to: int | None) -> int | str:
    """The target revision's number, or why there is none."""
    if to is None:
        found = _default_target(revs, current)
        return "no earlier revision to roll back to" if found is None else found
    if to not in revs:
        return f"there is no revision {to} (the host has {', '.join(str(n) for n in sorted(revs))})"
    return to


def _membership(now: Mapping[str, str], then: Mapping[str, str], current: int, to: int) -> str:
    """Why the containers of the two revisions differ ('' when they are the same)."""
    added = sorted(set(now) - set(then))
    gone = sorted(set(then) - set(now))
    parts = [f"revision {current} adds {', '.join(added)}"] if added else []
    parts += [f"revision {to} has {', '.join(gone)}, which is gone"] if gone else []
    return "; ".join(parts)


def _swaps(
    host: str, stack: str, report: HostReport, target: Mapping[str, Any], current: Mapping[str, Any]
) -> tuple[list[Swap], list[str], list[str]]:
    """The swaps to the target's containers, the notes, and the problems."""
    then = _hashes(target)
    records = {str(c.get("name")): c for c in target["desired"].get("containers", [])}
    now_records = {str(c.get("name")): c for c in current["desired"].get("containers", [])}
    swaps: list[Swap] = []
    notes: list[str] = []
    problems: list[str] = []
    number = target.get("revision")
    for name in sorted(records):
        record = records[name]
        running = report.container(name)
        kept = report.container(name + KEPT_SUFFIX)
        if running is None:
            problems.append(f"{name} is not on the host")
        elif running.config_hash == then[name]:
            continue
        elif record.get("state") != "running" or record.get("run_once"):
            notes.append(
                f"{name} stays as it is: one-shot and stopped services are not rolled back"
            )
        elif kept is None or kept.stack != stack:
            problems.append(f"{name} has no kept container of revision {number}")
        elif kept.config_hash != then[name]:
            problems.append(
                f"{name}'s kept container is not of revision {number} "
                f"(config {str(kept.config_hash)[:12]}, wanted {then[name][:12]})"
            )
        elif isinstance(route := proxy_route(now_records.get(name), record), str):
            # Rollback has no stack file: the revisions are all it knows of the proxy.
            problems.append(
                f"{name}: {route}; rollback cannot keep the proxy right: {_commit_hint(target)}"
            )
        else:
            config = rollback_config(now_records.get(name) or record)
            start_first = config.order == "start-first"
            swaps.append(
                Swap(
                    host=host,
                    stack=stack,
                    service=str(record.get("service")),
                    replica=int(record.get("replica") or 1),
                    name=name,
                    from_hash=str(running.config_hash),
                    to_hash=then[name],
                    config=config,
                    from_image=_image(now_records.get(name)),
                    to_image=_image(record),
                    proxy=route if start_first else None,
                    repoint=None if start_first else route,
                )
            )
    return swaps, notes, problems


def _plan_stack(
    host: str, stack: str, report: HostReport, to: int | None
) -> StackRollback | str | None:
    """One stack on one host; an error message, or None when the host never ran it."""
    revs = _by_number(report.revisions.documents, stack)
    current = report.revisions.current.get(stack)
    if not revs and current is None:
        return None
    if current is None or current not in revs:
        return f"{host}: stack {stack}: the current revision cannot be read"
    number = _target(revs, current, to)
    if isinstance(number, str):
        return f"{host}: stack {stack}: {number}"
    target = revs[number]
    differ = _membership(_hashes(revs[current]), _hashes(target), current, number)
    if differ:
        return (
            f"{host}: stack {stack}: cannot roll back from revision {current} to "
            f"{number} by starting kept containers ({differ}): {_commit_hint(target)}"
        )
    swaps, notes, problems = _swaps(host, stack, report, target, revs[current])
    if problems:
        return (
            f"{host}: stack {stack}: cannot roll back to revision {number}: "
            f"{'; '.join(problems)} (a rollback starts the containers the last rollout kept): "
            f"{_commit_hint(target)}"
        )
    return StackRollback(
        host=host,
        stack=stack,
        from_revision=current,
        to_revision=number,
        swaps=tuple(swaps),
        notes=tuple(notes),
        target=target,
        next_number=max(revs) + 1,
    )


def plan_rollback(
    reports: Mapping[str, HostReport], stacks: Sequence[str], to: int | None
) -> RollbackPlan:
    """The rollback of ``stacks`` on every reported host (hosts and stacks sorted)."""
    planned: list[StackRollback] = []
    errors: list[str] = []
    for host in sorted(reports):
        for stack in sorted(stacks):
            got = _plan_stack(host, stack, reports[host], to)
            if isinstance(got, str):
                errors.append(got)
            elif got is not None:
                planned.append(got)
    if not planned and not errors:
        errors.append(
            f"no targeted host has a revision of {', '.join(sorted(stacks))}: nothing to roll back"
        )
    return RollbackPlan(tuple(planned), tuple(errors))


def rollback_document(
    st: StackRollback,
    *,
    actor: str,
    fleetform_version: str,
    started_at: str,
    finished_at: str,
) -> dict[str, Any]:
    """The new revision a rollback records: the target's desired state, renumbered."""
    doc = {k: v for k, v in st.target.items()}
    swaps = [[s.name, s.from_hash, s.to_hash] for s in st.swaps]
    doc.update(
        revision=st.next_number,
        result="applied",
        started_at=started_at,
        finished_at=finished_at,
        actor=actor,
        fleetform_version=fleetform_version,
        plan_hash="sha256:"
        + hashlib.sha256(json.dumps(swaps, sort_keys=True).encode()).hexdigest(),
        actions=[f"roll back {s.name} to revision {st.to_revision}" for s in st.swaps],
        rollback={"from": st.from_revision, "to": st.to_revision},
    )
    return doc
