"""Files copied into a lab container before it starts, as one tar stream.

``docker cp - CONTAINER:/`` unpacks the tar at the container's root, which
works on a created-but-not-started container, so a host boots with its own
host key, the lab's authorized key and the registry CA already in place.
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass


@dataclass(frozen=True)
class File:
    path: str  # absolute path inside the container
    content: bytes
    mode: int = 0o644


def build_tar(files: list[File]) -> bytes:
    """A tar of ``files`` with their parent directories, owned by root, fixed mtimes."""
    buf = io.BytesIO()
    seen: set[str] = set()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for f in files:
            parts = f.path.strip("/").split("/")
            for depth in range(1, len(parts)):
                directory = "/".join(parts[:depth])
                if directory not in seen:
                    seen.add(directory)
                    info = tarfile.TarInfo(directory)
                    info.type = tarfile.DIRTYPE
                    # /root/.ssh must stay private or sshd refuses the key.
                    info.mode = 0o700 if directory in ("root", "root/.ssh") else 0o755
                    tar.addfile(info)
            info = tarfile.TarInfo("/".join(parts))
            info.size = len(f.content)
            info.mode = f.mode
            tar.addfile(info, io.BytesIO(f.content))
    return buf.getvalue()
