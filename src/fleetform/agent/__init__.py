"""Running ``fleetform reconcile`` away from the operator's machine.

Two shapes, each a pyinfra deploy over the same install step:

* a **controller** (``deploys/reconciler.py``): one host runs ``reconcile
  --every`` as a systemd service and converges the fleet over SSH;
* **pull mode** (``deploys/agent.py``): every host runs ``reconcile --once``
  against itself from a systemd timer with a randomised delay, for fleets too
  big for one controller.  Each host keeps its own result, where
  ``fleetform status`` reads it.
"""
