"""pyinfra inventory of the running fleetform lab (``fleetform lab up``).

    pyinfra inventory/lab.py exec -- uname -a
    pyinfra inventory/lab.py deploys/engine.py

Groups: ``web`` (every lab host) and ``db`` (the last host).  Set
``FLEETFORM_LAB_NAME`` to target another lab.  The logic lives in
``fleetform.lab.inventory``.
"""

from __future__ import annotations

from fleetform.lab.inventory import discover

_groups = discover()
web = _groups["web"]
db = _groups["db"]
