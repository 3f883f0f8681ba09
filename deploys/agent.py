"""Pull mode: every targeted host reconciles itself from the git repository.

    pyinfra inventory/prod.py deploys/agent.py \
        --data fleetform_gitops_repo=https://git.example/ops.git \
        --data fleetform_wheelhouse=build/wheelhouse

Installs fleetform on each host and a systemd timer running
``fleetform reconcile --once`` against the host itself (``@local``, under the
name and groups this inventory gives it) every ``fleetform_gitops_every``,
spread by ``fleetform_gitops_delay``.  Each host keeps its own result, where
``fleetform status`` reads it.  Settings: ``fleetform.agent.settings``;
``--data fleetform_gitops_state=absent`` removes it again.
"""

from fleetform.agent.install import agent_deploy

agent_deploy()
