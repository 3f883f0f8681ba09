"""The whole job for plain pyinfra: the Docker engine first, then the stacks.

    pyinfra inventory/lab.py deploys/site.py --data fleetform_stacks=stacks/demo.yml

``fleetform_stacks`` (stack files) can also be assigned per host or group in
the inventory; the same files drive the engine settings and the containers.
"""

from __future__ import annotations

from pyinfra import host

from fleetform.engine.deploy import STACKS_DATA, docker_engine, settings_from_host_data
from fleetform.executor.stack_deploy import stacks

docker_engine(settings_from_host_data(host.name, list(host.groups), host.data.get(STACKS_DATA)))
stacks()
