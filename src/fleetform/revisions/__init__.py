"""Revisions: what each successful ``apply`` left on a host, stack by stack.

Every apply that changes a stack on a host and succeeds there records a new
revision of that stack on that host, under :data:`REVISIONS_DIR`::

    /var/lib/fleetform/revisions/        0700 root
        .digest-key                      0600: this host's key for secret digests
        <stack>/                         0700
            1.json 2.json ...            0600: one revision each (one JSON line)
            current                      0600: the number of the newest revision

- :mod:`fleetform.revisions.document`: the revision document (pure): the
  stack's desired state on the host with secret values as keyed digests,
  the plan hash, image ids, provenance.
- :mod:`fleetform.revisions.provenance`: who ran the apply, from which git
  commit (read on the control machine).
- :mod:`fleetform.revisions.host`: the host scripts that prepare, write and
  read revisions, and the parsing of what they print.
- :mod:`fleetform.revisions.history`: ``fleetform history``'s rows and views.

The pyinfra operation that records them is
:mod:`fleetform.executor.revisions`; docs/revisions.md describes the format.
"""

from __future__ import annotations

#: where revisions live on a host (root only)
REVISIONS_DIR = "/var/lib/fleetform/revisions"
#: this host's key for the digests of secret values (root only, never leaves the host
#: except to the control machine that records a revision)
DIGEST_KEY = f"{REVISIONS_DIR}/.digest-key"
#: the ``format_version`` of a revision document
FORMAT_VERSION = 1
