"""Who runs what, where: deploy locks and the audit log.

- :mod:`fleetform.runlog.run`: one run's identity (run id, actor, pid,
  start time) and the parsing of durations such as ``30s`` or ``1h30m``.
- :mod:`fleetform.runlog.lock`: the per host and stack deploy lock, its
  holder record, when it counts as stale, and the host scripts that take,
  keep alive and release it.
- :mod:`fleetform.runlog.audit`: the lines every host appends to its audit
  log, the scripts that append and read them, and their merge by time.

Everything here is pure: it builds shell text and parses output; the
executor (:mod:`fleetform.executor.locking`) runs it on the hosts.
"""

from __future__ import annotations
