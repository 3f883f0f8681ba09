"""``fleetform lab up|down|status``: the CLI adapter over the lab lifecycle."""

from __future__ import annotations

import argparse
import time

from rich.table import Table

from fleetform.commands.common import Output
from fleetform.lab import lifecycle
from fleetform.lab.config import LabConfig, LabError
from fleetform.lab.progress import Progress
from fleetform.lab.registry import observe_registry
from fleetform.lab.ssh import ssh_config
from fleetform.lab.status import LabHost, lab_hosts


def run_lab(args: argparse.Namespace) -> int:
    out = Output(json_mode=bool(getattr(args, "json", False)))
    try:
        cfg = LabConfig.from_env()
        if args.lab_command == "up":
            return _up(cfg, args.hosts, out)
        if args.lab_command == "down":
            return _down(cfg, out)
        return _status(cfg, out)
    except LabError as exc:
        out.error(str(exc))
        return 1


def _up(cfg: LabConfig, n: int, out: Output) -> int:
    start = time.monotonic()
    hosts = lifecycle.up(cfg, n, Progress())
    _print_table(cfg, hosts, out)
    ssh = ssh_config(cfg)
    out.out.print(
        f"lab {cfg.name} is up with {len(hosts)} host(s) in {time.monotonic() - start:.1f} s; "
        f"ssh -i {ssh.key_file} -o UserKnownHostsFile={ssh.known_hosts_file} "
        f"root@{hosts[0].address}",
        markup=False,
    )
    return 0


def _down(cfg: LabConfig, out: Output) -> int:
    removed = lifecycle.down(cfg, Progress())
    if not removed:
        out.info(f"lab {cfg.name}: nothing to remove")
    for kind, names in removed.items():
        out.info(f"removed {kind}: {', '.join(names)}")
    out.out.print(
        "kept the cached images (fleetform-lab/*, label fleetform.lab=1) so the next "
        "`lab up` is fast; remove them with: "
        "docker image rm $(docker image ls -q --filter label=fleetform.lab=1)",
        markup=False,
    )
    return 0


def _status(cfg: LabConfig, out: Output) -> int:
    hosts = lab_hosts(cfg)
    if out.json_mode:
        out.json([h.as_dict() for h in hosts])
        return 0
    if not hosts:
        out.info(f"lab {cfg.name} is down (no hosts); run `fleetform lab up`")
        return 0
    _print_table(cfg, hosts, out)
    return 0


def _print_table(cfg: LabConfig, hosts: list[LabHost], out: Output) -> None:
    table = Table(title=f"lab {cfg.name} ({cfg.network}, {cfg.subnet})")
    for column in ("name", "address", "container", "state", "groups"):
        table.add_column(column)
    for h in hosts:
        table.add_row(h.name, h.address, h.container, h.state, ",".join(h.groups))
    registry = observe_registry(cfg)
    if registry:
        table.caption = f"registry.lab:5000 ({cfg.registry_address}): {registry['state']}"
    out.out.print(table)
