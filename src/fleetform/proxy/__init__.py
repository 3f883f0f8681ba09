"""The host's HTTP proxy (HAProxy from the distribution), as pure data: its configuration
text (:mod:`.config`) and the runtime API commands and replies (:mod:`.runtime`).

Nothing here touches a host; the executor sends what these build.  docs/proxy.md
describes how start-first switching uses them.
"""
