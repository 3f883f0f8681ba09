"""The human form of a plan, rendered from the plan's data.

One renderer makes lines of ``(text, tone)`` segments: ``str(plan)`` (the
golden text in tests) joins their text, and the terminal output
(:meth:`fleetform.commands.common.Output.plan`) colours each segment by its
tone.  The tone comes from what the segment is (an action's kind, a host
error, a warning), never from reading the text back, so a value in a plan
cannot change how a line looks, and every error is styled alike, whether the
planner found it or the host could not be observed.

Every segment is escaped (:func:`fleetform.escape.escape_control`): a value
cannot rewrite the terminal.

    >>> from fleetform.plan import Plan
    >>> plan_lines(Plan.from_hosts([], errors={"host-b": "unreachable"}))[0]
    (('host-b: ', 'plain'), ('! error: unreachable', 'error'))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from fleetform.escape import escape_control

if TYPE_CHECKING:  # the data module imports this one to render itself
    from fleetform.plan.actions import HostPlan, Plan

#: What a segment is; an action's tone is its summary bucket.
Tone = Literal["plain", "create", "recreate", "update", "remove", "error", "warning"]
Segment = tuple[str, Tone]
Line = tuple[Segment, ...]


def _line(*segments: tuple[str, Tone]) -> Line:
    return tuple((escape_control(text), tone) for text, tone in segments)


def host_lines(host: HostPlan) -> list[Line]:
    busy = host.actions or host.errors or host.engine or host.proxy
    out = [_line((f"{host.host}:" if busy else f"{host.host}: no changes", "plain"))]
    out += [_line(("  ", "plain"), (f"~ engine: {e}", "update")) for e in host.engine]
    for action in host.actions:
        out.append(_line(("  ", "plain"), (action.headline(), action.bucket)))
        details = [str(c) for c in action.changes] or [action.reason]
        if action.kind == "create" and action.changes:
            details.insert(0, action.reason)  # what each project mount is follows
        out += [_line((f"      {d}", "plain")) for d in details]
    for p in host.proxy:
        out.append(_line(("  ", "plain"), (p.headline(), p.bucket)))
        out += [_line((f"      {d}", "plain")) for d in [str(c) for c in p.changes] or [p.reason]]
    out += [_line(("  ", "plain"), (f"= proxy: {n}", "plain")) for n in host.proxy_notes]
    out += [_line(("  ", "plain"), (f"! error: {e}", "error")) for e in host.errors]
    out += [_line(("  ", "plain"), (f"warning: {w}", "warning")) for w in host.warnings]
    out += [_line(("  ", "plain"), (f"advisory: {a}", "warning")) for a in host.advisories]
    return out


def plan_lines(plan: Plan) -> list[Line]:
    out: list[Line] = []
    for host in plan.hosts:
        out += host_lines(host)
    out += [
        _line((f"{host}: ", "plain"), (f"! error: {message}", "error"))
        for host, message in plan.host_errors
    ]
    if out:
        out.append(())
    if plan.has_changes:
        c = plan.summary()
        engine = sum(len(h.engine) for h in plan.hosts)
        extra = f", {engine} engine change{'s' if engine != 1 else ''}" if engine else ""
        summary = (
            f"Plan: {c['create']} to create, {c['recreate']} to recreate, "
            f"{c['update']} to update, {c['remove']} to remove{extra}."
        )
        out.append(_line((summary, "plain")))
    else:
        n = len(plan.hosts)
        hosts = "1 host matches" if n == 1 else f"{n} hosts match"
        out.append(_line((f"No changes. {hosts} the stacks.", "plain")))
    if plan.errors:
        failed = len({h for h, _ in plan.errors})
        out.append(_line((f"Errors on {failed} host(s): not applied there.", "error")))
    return out


def line_text(line: Line) -> str:
    return "".join(text for text, _ in line)


def host_text(host: HostPlan) -> list[str]:
    return [line_text(line) for line in host_lines(host)]


def plan_text(plan: Plan) -> str:
    return "\n".join(line_text(line) for line in plan_lines(plan)) + "\n"
