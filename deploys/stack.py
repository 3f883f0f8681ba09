"""Converge the containers of the stacks assigned to each host.

    pyinfra inventory/lab.py deploys/stack.py --data fleetform_stacks=stacks/demo.yml

or assign ``fleetform_stacks`` (a list of stack files) per host or group in the
inventory.  The plan for each host is logged before its commands run.
"""

from fleetform.executor.stack_deploy import stacks

stacks()
