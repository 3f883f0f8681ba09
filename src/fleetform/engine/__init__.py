"""The engine deploy: dockerd, containerd and runc installed, configured, running.

- ``settings``: ``EngineSettings`` and ``engine_for_host`` (pure, from stacks)
- ``daemon``: daemon.json values dockerd would refuse at start (pure)
- ``packages``: which packages and repository give an OS the engine (pure)
- ``state``: the one-command fact script and its parser, with fleetform's record of
  the users and CAs it added (pure)
- ``commands``: shell steps from (settings, observed state) (pure)
- ``facts``, ``operations``, ``deploy``: the pyinfra glue; ``deploy.docker_engine``

Only ``settings`` is imported here, so callers that plan need no pyinfra.
"""

from __future__ import annotations

from fleetform.engine.settings import EngineSettings, EngineSettingsError, engine_for_host

__all__ = ["EngineSettings", "EngineSettingsError", "engine_for_host"]
