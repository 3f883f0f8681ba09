"""Print an ssh_config for an inventory's hosts, for testinfra's ``--ssh-config``.

    python -m fleetform.verify.ssh_config -i inventory/lab.py > lab_ssh_config
    pytest "$(python -m fleetform.verify.pytest_module)" --ssh-config lab_ssh_config \\
        --hosts ssh://lab-1 --fleetform-stack stacks/demo.yml --fleetform-inventory inventory/lab.py

Host keys are checked against the inventory's ``ssh_known_hosts_file``
(``StrictHostKeyChecking yes``), as ``fleetform verify`` does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleetform.verify.ssh_config")
    parser.add_argument("-i", "--inventory", required=True, help="pyinfra inventory")
    parser.add_argument("--limit", action="append", default=[], metavar="HOSTS")
    args = parser.parse_args(argv)

    from fleetform.inventory import InventoryError, load_inventory
    from fleetform.verify.connection import Connection, ConnectionError_, ssh_config_text

    try:
        loaded = load_inventory(args.inventory, args.limit)
        text = ssh_config_text(Connection.from_pyinfra_host(h) for h in loaded.hosts)
    except (InventoryError, ConnectionError_) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
