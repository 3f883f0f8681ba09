"""A controller: one host runs ``fleetform reconcile --every`` for the fleet.

    pyinfra inventory/ops.py deploys/reconciler.py \
        --data fleetform_gitops_repo=https://git.example/ops.git \
        --data fleetform_gitops_inventory=inventory/prod.py \
        --data fleetform_gitops_ssh_key=~/.ssh/fleet_ed25519 \
        --data fleetform_gitops_known_hosts=~/.ssh/known_hosts

Installs fleetform and a systemd service that fetches the repository and
converges the inventory it names over SSH, every ``fleetform_gitops_every``.
The SSH key and known_hosts land in /etc/fleetform/gitops/ (root only); the
repository's inventory points its hosts at them.  Settings:
``fleetform.agent.settings``.
"""

from fleetform.agent.install import reconciler_deploy

reconciler_deploy()
