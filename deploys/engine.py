"""Make every targeted host a Docker host (dockerd, containerd, runc).

    pyinfra inventory/lab.py deploys/engine.py
    pyinfra @local deploys/engine.py

Engine settings come from the host data ``fleetform_stacks`` (stack files whose
``engine:`` sections apply), else the defaults: Debian's docker.io,
daemon.json left alone.  Registry CAs in ``fleetform_registries`` are always
installed.
"""

from __future__ import annotations

from pyinfra import host

from fleetform.engine.deploy import STACKS_DATA, docker_engine, settings_from_host_data

docker_engine(settings_from_host_data(host.name, list(host.groups), host.data.get(STACKS_DATA)))
