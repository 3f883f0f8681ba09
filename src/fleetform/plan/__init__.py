"""The pure planner: desired state + observed state -> ordered actions with reasons.

Imports no pyinfra and touches no host.  Example::

    from fleetform.plan import Plan, plan_host
    from fleetform.plan.desired import desired_for_host
    from fleetform.observe import parse_observed

    host_plan = plan_host(desired_for_host(stacks, "host-a", groups), parse_observed(stdout))
    plan = Plan.from_hosts([host_plan], errors={"host-b": "unreachable"})
    print(plan)  # Terraform-like text
"""

from __future__ import annotations

from fleetform.plan.actions import Action, ActionKind, HostPlan, Plan, ReasonCode
from fleetform.plan.diff import FieldChange
from fleetform.plan.planner import plan_host

__all__ = ["Action", "ActionKind", "FieldChange", "HostPlan", "Plan", "ReasonCode", "plan_host"]
