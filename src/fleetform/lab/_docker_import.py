"""The docker SDK, imported without the paramiko of its ssh:// transport.

``import docker`` imports paramiko for ``DOCKER_HOST=ssh://`` engines, which
costs about as much as the rest of the SDK and slowed every ``lab status``.
The lab reaches its engine on a local socket (and an ssh:// engine through
the OpenSSH client, ``use_ssh_client=True``), so paramiko is hidden while
docker is imported; docker treats it as optional.  Where paramiko is already
loaded (pyinfra in the same process) nothing is hidden.  Every lab module
takes the SDK from here, so this import always comes first.
"""

from __future__ import annotations

import sys

if "paramiko" in sys.modules or "docker" in sys.modules:
    import docker
else:
    sys.modules["paramiko"] = None  # type: ignore[assignment]
    try:
        import docker
    finally:
        del sys.modules["paramiko"]

import docker.errors as errors
from docker.models.containers import Container
from docker.models.images import Image
from docker.models.networks import Network
from docker.models.volumes import Volume
from docker.types import IPAMConfig, IPAMPool

__all__ = ["Container", "IPAMConfig", "IPAMPool", "Image", "Network", "Volume", "docker", "errors"]
