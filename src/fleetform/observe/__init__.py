"""Observation: what a host is, read in one SSH round trip and parsed into data.

- :mod:`fleetform.observe.sections`: the one framing of a multi-part host
  script (a marker line per part, each part's exit code) and the splitting
  of its output; the engine facts, the Docker state and verify's facts all
  use it.
- :mod:`fleetform.observe.docker`: the Docker state script (its CLI form) and
  the parser of its document into :class:`~fleetform.plan.observed.Observed`.
- :mod:`fleetform.observe.api`: the fast path of that script, one python3
  process reading the Docker API.
- :mod:`fleetform.observe.inspect`: ``docker inspect`` JSON to the planner's
  :class:`~fleetform.plan.spec.ContainerSpec` (the planner gets it ready-made
  in each :class:`~fleetform.plan.observed.ObservedContainer`).
- :mod:`fleetform.observe.errors`: why a host could not be observed, typed
  (:class:`EngineMissing`, :class:`EngineNotAnswering`).
"""

from __future__ import annotations

from fleetform.observe.docker import (
    cli_observe_command,
    observe_command,
    parse_observed,
    registry_refs,
)
from fleetform.observe.errors import (
    EngineMissing,
    EngineNotAnswering,
    EngineUnavailable,
    ObserveError,
)
from fleetform.observe.sections import Section, sectioned_script, split_sections
from fleetform.plan.observed import (
    Observed,
    ObservedContainer,
    ObservedImage,
    ObservedNetwork,
    ObservedVolume,
)

__all__ = [
    "EngineMissing",
    "EngineNotAnswering",
    "EngineUnavailable",
    "ObserveError",
    "Observed",
    "ObservedContainer",
    "ObservedImage",
    "ObservedNetwork",
    "ObservedVolume",
    "Section",
    "cli_observe_command",
    "observe_command",
    "parse_observed",
    "registry_refs",
    "sectioned_script",
    "split_sections",
]
