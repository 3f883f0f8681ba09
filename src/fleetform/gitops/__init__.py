"""GitOps: ``fleetform reconcile`` follows a git repository (docs/gitops.md).

- :mod:`fleetform.gitops.repo`: clone or fetch the repository into a cache
  directory and check out the commit a ref points at (plain ``git``);
- :mod:`fleetform.gitops.state`: what the previous runs left in the cache
  directory (the last commit tried, the failure already notified, counters);
- :mod:`fleetform.gitops.report`: the versioned JSON report of a run and the
  Prometheus textfile;
- :mod:`fleetform.gitops.notify`: Apprise notifications, each event once.

The command itself is :mod:`fleetform.commands.reconcile`.
"""

from __future__ import annotations
