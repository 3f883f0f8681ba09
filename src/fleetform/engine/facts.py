"""The pyinfra fact that gathers a host's engine state in one command.

Example::

    state = host.get_fact(EngineFact)
    state.init, state.packages.get("docker.io")
"""

from __future__ import annotations

from collections.abc import Iterable

from pyinfra.api.facts import FactBase

from fleetform.engine.state import FACT_SCRIPT, EngineState, parse_engine_state


class EngineFact(FactBase[EngineState]):
    """OS, init system, engine packages, daemon.json/certs digests, processes,
    boot enablement and docker group members, from ``FACT_SCRIPT``."""

    def command(self) -> str:
        return FACT_SCRIPT

    def process(self, output: Iterable[str]) -> EngineState:
        return parse_engine_state(output)
