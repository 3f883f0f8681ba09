"""The whole job for plain pyinfra: the Docker engine first, then the stacks.

    pyinfra inventory/lab.py deploys/site.py --data fleetform_stacks=stacks/demo.yml
"""

from fleetform.engine.deploy import docker_engine_from_host_data
from fleetform.executor.stack_deploy import stacks

docker_engine_from_host_data()
stacks()
