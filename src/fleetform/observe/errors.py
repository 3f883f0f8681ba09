"""Why a host could not be observed, as types the callers branch on.

A host whose Docker engine is not installed, or whose dockerd does not
answer, is not an error for ``fleetform plan``: the engine deploy installs
or starts it first.  Callers tell these cases apart by type, never by the
wording of the message, which is for people.
"""

from __future__ import annotations


class ObserveError(ValueError):
    """The host could not be observed; the message says why, for people."""


class EngineUnavailable(ObserveError):
    """The Docker engine cannot be asked yet: the engine deploy may change that."""


class EngineMissing(EngineUnavailable):
    """There is no ``docker`` command on the host."""


class EngineNotAnswering(EngineUnavailable):
    """dockerd is not running, or its socket cannot be opened."""
