"""A stack's ``engine.policy`` applied to a host's advisory assessments.

Pure.  ``counted`` keeps the findings the policy counts (affected, at or
above ``min_severity``, not allowed by id or alias); ``policy_verdict`` says
what plan does with them: ``warn`` lists them, ``fail`` makes them the host's
errors, so apply changes nothing there (fleetform.commands.converge applies no
host whose plan has errors).

Example::

    >>> from fleetform.model import EnginePolicy
    >>> policy_verdict(EnginePolicy("fail"), ())
    ((), ())
"""

from __future__ import annotations

from collections.abc import Iterable

from fleetform.engine.advisories import Assessment, severity_at_least
from fleetform.model import EnginePolicy


def counted(policy: EnginePolicy, assessments: Iterable[Assessment]) -> tuple[Assessment, ...]:
    """The findings the policy counts."""
    if policy.advisories == "ignore":
        return ()
    allowed = set(policy.allow)
    return tuple(
        a
        for a in assessments
        if a.status == "affected"
        and severity_at_least(a.advisory.severity, policy.min_severity)
        and not allowed.intersection(a.advisory.names)
    )


def finding_line(a: Assessment) -> str:
    """One line for the plan: the advisory, its component and the deciding evidence."""
    why = f": {a.decided_by.kind}: {a.decided_by.detail}" if a.decided_by else ""
    return f"{a.advisory.id} ({a.advisory.severity}) affects {a.advisory.component}{why}"


def policy_verdict(
    policy: EnginePolicy, assessments: Iterable[Assessment]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(advisory lines for the plan, errors that stop apply on the host)."""
    found = counted(policy, assessments)
    lines = tuple(finding_line(a) for a in found)
    if policy.advisories != "fail" or not found:
        return lines, ()
    ids = ", ".join(sorted({a.advisory.id for a in found}))
    error = (
        f"engine.policy (advisories: fail, min_severity: {policy.min_severity}): "
        f"the engine is affected by {ids}; nothing is changed on this host until it is "
        "upgraded or the advisories are allowed"
    )
    return lines, (error,)
