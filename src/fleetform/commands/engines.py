"""``fleetform engines``: each host's engine layers, the fleet's version sprawl, advisories.

One round trip per host (in parallel) runs ``fleetform.engine.layers``'s
script; the advisories (the shipped file or ``--advisories FILE``) are
matched against what it read.  Read-only: nothing is changed on any host.

Exit codes: 0 every host answered (findings or not, hosts without an engine
included); 1 a host could not be reached, the advisory file or the inventory
is bad, or ``--fail-on SEVERITY`` is given and a finding is at or above it.
"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from fleetform.commands.common import Output, ssh_targets_or_report
from fleetform.engine.advisories import (
    SEVERITIES,
    Advisory,
    AdvisoryFileError,
    Assessment,
    load_advisories,
)
from fleetform.engine.layers import COMPONENTS, Component, HostLayers, unreachable
from fleetform.engine.report import EngineReport
from fleetform.inventory import LoadedInventory

_STATUS_STYLE = {
    "affected": "bold red",
    "fixed": "green",
    "not-affected": "green",
    "unknown": "yellow",
}


def run_engines(args: argparse.Namespace) -> int:
    out = Output(json_mode=args.json)
    if args.fail_on is not None and args.fail_on not in SEVERITIES:
        out.error(f"--fail-on: {args.fail_on!r} is not a severity ({', '.join(SEVERITIES)})")
        return 1
    try:
        advisories = load_advisories(args.advisories)
    except AdvisoryFileError as exc:
        for line in str(exc).splitlines():
            out.err.print(escape(line))
        out.error("the advisory file cannot be used (format: docs/engine.md)")
        return 1
    loaded = ssh_targets_or_report(args, out)
    if loaded is None:
        return 1
    hosts = _read_hosts(loaded, advisories, out)
    report = EngineReport.build(hosts, advisories, args.advisories or "shipped")
    if args.json:
        out.json(report.as_json(args.fail_on))
    else:
        _render(report, out, args.fail_on)
    if report.unreachable:
        return 1
    return 1 if args.fail_on and report.findings_at_least(args.fail_on) else 0


def _read_hosts(
    loaded: LoadedInventory, advisories: tuple[Advisory, ...], out: Output
) -> list[HostLayers]:
    from fleetform.engine.layers import parse_layers
    from fleetform.engine.layers_script import layers_script
    from fleetform.executor.session import Session

    script = layers_script(n for a in advisories for n in a.names)
    session = Session(loaded)
    try:
        with out.status(f"Reading the engines of {len(loaded.hosts)} host(s)"):
            session.connect()
            results = session.run_everywhere(lambda host: script)
    finally:
        session.disconnect()
    hosts = [unreachable(name, why) for name, why in session.failures.items()]
    for name, result in results.items():
        if not result.ok and not result.stdout.strip():
            hosts.append(unreachable(name, f"cannot read the host: {result.stderr.strip()[-300:]}"))
        else:
            hosts.append(parse_layers(name, result.stdout))
    return hosts


# --- human output -------------------------------------------------------------


def _component_label(c: Component) -> str:
    text = f"[bold]{escape(c.name)}[/] {escape(c.version or '?')}"
    if c.commit and c.commit != c.version:
        text += f" [dim](commit {escape(c.commit)})[/]"
    if c.package and c.package.source != "unpackaged":
        text += f"  [cyan]{escape(c.package.name)} {escape(c.package.version)}[/]"
        text += f" [dim]({c.package.source})[/]"
    elif c.path:
        text += f"  [dim]unpackaged: {escape(c.path)}[/]"
    if c.problem:
        text += f"  [yellow]{escape(c.problem)}[/]"
    return text


def host_tree(host: HostLayers, assessments: tuple[Assessment, ...]) -> Tree:
    """The host's chain, CLI at the top, runc at the bottom, with its facts and verdicts."""
    title = f"[bold]{escape(host.host)}[/]"
    if host.status != "ok":
        title += f"  [bold red]{host.status}[/]: {escape(host.error or '')}"
    root = Tree(title)
    if host.status == "unreachable":
        return root
    node = root
    for name in COMPONENTS:
        comp = host.components.get(name)
        label = _component_label(comp) if comp else f"[bold]{name}[/] [red]not installed[/]"
        if name == "containerd-shim-runc-v2" and host.shims is not None:
            label += f"  [dim]{host.shims} running[/]"
        if name == "dockerd" and host.running_containers is not None:
            label += f"  [dim]{host.running_containers} running container(s)[/]"
        running = host.running_versions.get(name)
        if comp and running and comp.version and running != comp.version:
            label += f"  [yellow]the daemon reports {escape(running)} (restart pending?)[/]"
        node = node.add(label)
        for a in (x for x in assessments if x.advisory.component == name):
            style = _STATUS_STYLE[a.status]
            why = a.decided_by.detail if a.decided_by else "no version to compare"
            node.add(
                f"[{style}]{a.status}[/] {escape(a.advisory.id)} ({a.advisory.severity}): "
                f"{escape(why)}"
            )
    facts = [
        f"kernel {host.kernel or '?'}",
        f"cgroup v{host.cgroup_version or '?'} ({host.cgroup_driver or '?'})",
        f"storage {host.storage_driver or '?'}",
        f"runtime {host.default_runtime or '?'} of {', '.join(host.runtimes) or '?'}",
        "security " + (", ".join(o.removeprefix("name=") for o in host.security_options) or "-"),
    ]
    root.add("[dim]" + escape("; ".join(facts)) + "[/]")
    return root


def _render(report: EngineReport, out: Output, fail_on: str | None) -> None:
    # A wide console when the output is not a terminal: a CI log must show whole lines,
    # never a tree cut at 80 columns.
    wide = out.out if out.out.is_terminal else Console(highlight=False, width=1000)
    for host in report.hosts:
        wide.print(host_tree(host, report.for_host(host.host)))
    table = Table(title="Fleet summary: hosts by version", title_justify="left")
    table.add_column("component")
    table.add_column("version")
    table.add_column("hosts")
    for component, groups in report.sprawl().items():
        for n, (version, names) in enumerate(groups.items()):
            table.add_row(component if n == 0 else "", version, ", ".join(names))
    out.out.print(table)
    findings = report.findings
    if not findings:
        out.out.print("[green]No findings[/] (advisories: " + escape(report.advisories_from) + ")")
    else:
        out.out.print(f"[bold]{len(findings)} finding(s)[/] (advisories: {report.advisories_from})")
        for f in findings:
            evidence = "; ".join(f"{e.kind}: {e.detail}" for e in f.evidence)
            out.out.print(
                f"[red]{escape(f.host)}[/] {escape(f.advisory.id)} {f.advisory.severity} "
                f"{escape(f.advisory.component)}: {escape(evidence)}"
            )
    if fail_on:
        failing = report.findings_at_least(fail_on)
        if failing:
            out.error(f"{len(failing)} finding(s) at or above {fail_on} (--fail-on)")
    for host in report.unreachable:
        out.error(f"{host.host}: {host.error}")
