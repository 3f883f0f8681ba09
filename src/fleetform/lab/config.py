"""Names, addresses and paths of one lab.

A lab is identified by its name (``FLEETFORM_LAB_NAME``, default ``lab``).
Everything else derives from it, so two labs (the shared one and a
throwaway test lab) can live side by side on one engine::

    >>> cfg = LabConfig.for_name("lab")
    >>> cfg.host_name(1), cfg.network, cfg.host_address(1)
    ('lab-1', 'fleetform-lab', '10.213.0.11')
"""

from __future__ import annotations

import ipaddress
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

#: Every Docker object the lab creates carries this label; the lab never
#: touches an object without it.
LABEL = "fleetform.lab"
LABEL_NAME = "fleetform.lab.name"
LABEL_ROLE = "fleetform.lab.role"
LABEL_INDEX = "fleetform.lab.index"
#: Hash of everything a container was created from; a mismatch means recreate.
LABEL_CONFIG = "fleetform.lab.config"
#: Hash of the recipe an image was built from.
LABEL_RECIPE = "fleetform.lab.recipe"

#: How lab hosts reach the registry; the same on every lab's network.
REGISTRY_ALIAS = "registry.lab"
REGISTRY_PORT = 5000
REGISTRY = f"{REGISTRY_ALIAS}:{REGISTRY_PORT}"

DEFAULT_NAME = "lab"
DEFAULT_STATE_ROOT = Path("/var/lib/fleetform")
MAX_HOSTS = 50

_NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,15}$")


class LabError(Exception):
    """A lab operation failed; the message is meant for people."""


@dataclass(frozen=True)
class LabConfig:
    name: str
    state_dir: Path
    subnet: ipaddress.IPv4Network

    @classmethod
    def for_name(cls, name: str, state_dir: Path | None = None) -> LabConfig:
        if not _NAME_RE.match(name):
            raise LabError(
                f"lab name {name!r} is invalid: use 1-16 lowercase letters and digits, "
                "starting with a letter"
            )
        return cls(
            name=name,
            state_dir=state_dir or DEFAULT_STATE_ROOT / name,
            subnet=_subnet_for(name),
        )

    @classmethod
    def from_env(cls) -> LabConfig:
        """The lab named by ``FLEETFORM_LAB_NAME`` with state in ``FLEETFORM_LAB_DIR``."""
        name = os.environ.get("FLEETFORM_LAB_NAME") or DEFAULT_NAME
        state_dir = os.environ.get("FLEETFORM_LAB_DIR")
        return cls.for_name(name, Path(state_dir) if state_dir else None)

    # --- Docker object names -------------------------------------------------
    @property
    def network(self) -> str:
        return f"fleetform-{self.name}"

    @property
    def registry_container(self) -> str:
        return f"{self.name}-registry"

    @property
    def registry_volume(self) -> str:
        return f"{self.name}-registry-data"

    def host_name(self, index: int) -> str:
        return f"{self.name}-{index}"

    def host_alias(self, index: int) -> str:
        return f"{self.host_name(index)}.lab"

    def host_volume(self, index: int) -> str:
        return f"{self.host_name(index)}-docker"

    def labels(self, role: str, **extra: str) -> dict[str, str]:
        return {LABEL: "1", LABEL_NAME: self.name, LABEL_ROLE: role, **extra}

    # --- addresses -----------------------------------------------------------
    @property
    def gateway(self) -> str:
        return str(self.subnet.network_address + 1)

    @property
    def registry_address(self) -> str:
        return str(self.subnet.network_address + 2)

    def host_address(self, index: int) -> str:
        return str(self.subnet.network_address + 10 + index)

    # --- files in the state dir ----------------------------------------------
    @property
    def ssh_key(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def ca_cert(self) -> Path:
        return self.state_dir / "ca" / "ca.crt"

    def host_key_dir(self, index: int) -> Path:
        return self.state_dir / "hostkeys" / self.host_name(index)

    @property
    def lock_file(self) -> Path:
        # Beside the state dir, not in it: `lab down` deletes the state dir
        # while holding the lock.
        return self.state_dir.with_name(f".{self.state_dir.name}.lock")


def _subnet_for(name: str) -> ipaddress.IPv4Network:
    """A /24 per lab name, outside Docker's default address pools (172.17/16+, 192.168/16)."""
    third = 0 if name == DEFAULT_NAME else 1 + zlib.crc32(name.encode()) % 254
    return ipaddress.IPv4Network(f"10.213.{third}.0/24")
