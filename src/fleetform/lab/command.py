"""``fleetform lab up|down|status``: the CLI adapter over the lab lifecycle."""

from __future__ import annotations

import argparse
import json
import time

from rich.console import Console
from rich.table import Table

from fleetform.lab import lifecycle
from fleetform.lab.config import LabConfig, LabError
from fleetform.lab.progress import Progress
from fleetform.lab.registry import observe_registry
from fleetform.lab.ssh import ssh_config
from fleetform.lab.status import LabHost, lab_hosts


def run_lab(args: argparse.Namespace) -> int:
    err = Console(stderr=True, highlight=False)
    try:
        cfg = LabConfig.from_env()
        if args.lab_command == "up":
            return _up(cfg, args.hosts)
        if args.lab_command == "down":
            return _down(cfg)
        return _status(cfg, as_json=getattr(args, "json", False))
    except LabError as exc:
        err.print(f"[bold red]error:[/] {exc}", markup=True)
        return 1


def _up(cfg: LabConfig, n: int) -> int:
    start = time.monotonic()
    hosts = lifecycle.up(cfg, n, Progress())
    _print_table(cfg, hosts)
    ssh = ssh_config(cfg)
    Console(highlight=False).print(
        f"lab {cfg.name} is up with {len(hosts)} host(s) in {time.monotonic() - start:.1f} s; "
        f"ssh -i {ssh.key_file} -o UserKnownHostsFile={ssh.known_hosts_file} "
        f"root@{hosts[0].address}",
        markup=False,
        soft_wrap=True,
    )
    return 0


def _down(cfg: LabConfig) -> int:
    removed = lifecycle.down(cfg, Progress())
    out = Console(highlight=False)
    if not removed:
        out.print(f"lab {cfg.name}: nothing to remove", markup=False)
    for kind, names in removed.items():
        out.print(f"removed {kind}: {', '.join(names)}", markup=False)
    out.print(
        "kept the cached images (fleetform-lab/*, label fleetform.lab=1) so the next "
        "`lab up` is fast; remove them with: "
        "docker image rm $(docker image ls -q --filter label=fleetform.lab=1)",
        markup=False,
        soft_wrap=True,
    )
    return 0


def _status(cfg: LabConfig, as_json: bool) -> int:
    hosts = lab_hosts(cfg)
    if as_json:
        print(json.dumps([h.as_dict() for h in hosts], indent=2))
        return 0
    if not hosts:
        Console().print(f"lab {cfg.name} is down (no hosts); run `fleetform lab up`")
        return 0
    _print_table(cfg, hosts)
    return 0


def _print_table(cfg: LabConfig, hosts: list[LabHost]) -> None:
    table = Table(title=f"lab {cfg.name} ({cfg.network}, {cfg.subnet})")
    for column in ("name", "address", "container", "state", "groups"):
        table.add_column(column)
    for h in hosts:
        table.add_row(h.name, h.address, h.container, h.state, ",".join(h.groups))
    registry = observe_registry(cfg)
    if registry:
        table.caption = f"registry.lab:5000 ({cfg.registry_address}): {registry['state']}"
    Console().print(table)
