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

from fleetform.engine.advisories import Advisory, Assessment, assess, severity_at_least
from fleetform.engine.layers import HostLayers
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


def unjudged(policy: EnginePolicy, layers: HostLayers) -> str | None:
    """The plan error of a host whose engine layers cannot be read under ``fail``, or None.

    No finding is not the same as no evidence: under ``fail`` a host is let
    through only when its layers were read (apply checks again the hosts whose
    engine it installs or starts: :func:`still_affected`).
    """
    if policy.advisories != "fail" or layers.status == "ok":
        return None
    return (
        f"engine.policy (advisories: fail): the engine's layers could not be judged "
        f"({layers.status}: {layers.error or 'no detail'}); nothing is changed on this "
        "host until they can be read"
    )


def still_affected(
    policy: EnginePolicy, layers: HostLayers, advisories: Iterable[Advisory]
) -> str | None:
    """Why a host's containers must not be changed after the engine deploy, or None.

    Apply asks it on a host it checks again (its engine was not running when
    planned, or the plan's engine changes install packages that may carry the
    fixes): under ``fail`` a counted finding still there, or an engine whose
    layers cannot be read, stops the host's containers.
    """
    if policy.advisories != "fail":
        return None
    if layers.status != "ok":
        return (
            "engine.policy (advisories: fail): after the engine deploy its layers could not "
            f"be judged ({layers.status}: {layers.error}); its containers were left as they are"
        )
    found = counted(policy, assess(layers, advisories))
    if not found:
        return None
    ids = ", ".join(sorted({a.advisory.id for a in found}))
    return (
        f"engine.policy (advisories: fail): after the engine deploy the engine is still "
        f"affected by {ids}; its containers were left as they are"
    )


def recheck_note(policy: EnginePolicy, assessments: Iterable[Assessment]) -> str:
    """The plan's warning for a host apply checks again after the engine deploy."""
    found = counted(policy, assessments)
    now = f"affected now by {', '.join(sorted({a.advisory.id for a in found}))}; " if found else ""
    return (
        f"engine.policy (advisories: fail): {now}the engine is checked again after the "
        "engine changes above, and no container is changed while it is affected"
    )
