"""``fleetform verify``: check the hosts' real state against the stacks.

Each stack's result is then kept on its hosts (``verify_record``), so
``fleetform status`` shows the last verify, whoever ran it.

Exit codes: 0 every check passed on every host; 1 a check failed, a host was
unreachable, or the input (stacks, inventory) was bad.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from fleetform.commands.common import Output, load_stacks_or_report, load_targets_or_report
from fleetform.verify.runner import HostChecks, HostReport, run_checks


def run_verify(args: argparse.Namespace) -> int:
    out = Output(json_mode=bool(getattr(args, "json", False)))
    reports = verify_reports(args, out)
    if reports is None:
        return 1
    return _report(reports, args, out)


def verify_reports(
    args: argparse.Namespace, out: Output, commit: str | None = None
) -> list[HostReport] | None:
    """Run the checks and keep their results on the hosts; None when the input
    (stacks, inventory) is bad.  ``commit``: the one verified (a reconcile's),
    else each stack file's git commit."""
    stacks = load_stacks_or_report(args.stacks, out, args.env_file, args.profiles)
    if stacks is None:
        return None
    loaded = load_targets_or_report(args.inventory, getattr(args, "limit", []) or [], out)
    if loaded is None:
        return None

    from fleetform.engine.settings import EngineSettingsError
    from fleetform.verify.connection import Connection, ConnectionError_, ssh_config_text
    from fleetform.verify.generate import checks_for_host

    planned: list[HostChecks] = []
    connections: dict[str, Connection] = {}
    broken: dict[str, str] = {}
    for host in loaded.hosts:
        target = loaded.target(host.name)
        try:
            planned.append(
                checks_for_host(
                    stacks,
                    host.name,
                    target.groups | {host.name},
                    host.data.get("fleetform_registries"),
                )
            )
        except EngineSettingsError as exc:
            out.error(str(exc))
            return None
        try:
            connections[host.name] = Connection.from_pyinfra_host(host)
        except ConnectionError_ as exc:
            broken[host.name] = str(exc)

    reachable = [hc for hc in planned if hc.host not in broken]
    with tempfile.TemporaryDirectory(prefix="fleetform-verify-") as tmp:
        ssh_config = Path(tmp) / "ssh_config"
        ssh_config.write_text(ssh_config_text(connections.values()))

        def connect(name: str) -> Any:
            return connections[name].testinfra_host(str(ssh_config))

        with out.status(f"Verifying {len(planned)} host(s)"):
            done = {r.host: r for r in run_checks(reachable, connect)}
    reports = [done.get(hc.host) or HostReport(hc.host, error=broken[hc.host]) for hc in planned]

    from fleetform.commands.verify_record import record_verified, stack_commits

    record_verified(out, stacks, loaded, reports, stack_commits(stacks, commit))
    return reports


def _report(reports: list[HostReport], args: argparse.Namespace, out: Output) -> int:
    from fleetform.verify.report import as_json, junit_xml, print_table

    junit = getattr(args, "junit", None)
    if junit:
        try:
            Path(junit).write_bytes(junit_xml(reports))
        except OSError as exc:
            out.error(f"cannot write {junit}: {exc.strerror or exc}")
            return 1
    document = as_json(reports)
    if out.json_mode:
        out.json(document)
    else:
        print_table(reports, out.out)
    return 0 if document["ok"] else 1
