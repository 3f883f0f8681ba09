"""The ``fleetform`` command line.

Each subcommand is a thin adapter: it parses arguments here and calls a
``run(args) -> int`` function in the module that owns the concept.  Exit
codes: 0 success / no changes, 1 error (bad input, failed host, failed check,
apply not approved), 2 changes pending (``plan --detailed-exitcode`` only).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from fleetform import __version__

# subcommand -> "module:function"; imported lazily so that `fleetform validate`
# does not pay for pyinfra/gevent start-up.
HANDLERS = {
    "validate": "fleetform.commands.validate:run_validate",
    "schema": "fleetform.commands.validate:run_schema",
    "config": "fleetform.commands.config:run_config",
    "plan": "fleetform.commands.converge:run_plan",
    "apply": "fleetform.commands.converge:run_apply",
    "verify": "fleetform.commands.verify:run_verify",
    "history": "fleetform.commands.history:run_history",
    "rollback": "fleetform.commands.rollback:run_rollback",
    "audit": "fleetform.commands.audit:run_audit",
    "engines": "fleetform.commands.engines:run_engines",
    "lab": "fleetform.commands.lab:run_lab",
    "reconcile": "fleetform.commands.reconcile:run_reconcile",
    "status": "fleetform.commands.status:run_status",
}


def _add_target_args(p: argparse.ArgumentParser, stacks_help: str = "stack files") -> None:
    p.add_argument("-i", "--inventory", required=True, help="pyinfra inventory file or host list")
    p.add_argument("stacks", nargs="*", metavar="STACK", help=stacks_help)
    p.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="HOSTS",
        help="only these hosts or groups (comma separated, repeatable)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    _add_env_file_arg(p)
    p.add_argument(
        "--host-name",
        metavar="NAME",
        help="with -i @local: this host's name in the fleet's inventory, so stacks "
        "naming it select it (default: $FLEETFORM_HOST_NAME)",
    )


def _add_env_file_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--env-file",
        metavar="FILE",
        help="read interpolation variables from FILE instead of each project's .env "
        "(the environment still wins)",
    )
    # Compose's own options for a project: several files, and profiles (docs/compose.md).
    p.add_argument(
        "-f",
        "--file",
        action="append",
        default=[],
        dest="compose_files",
        metavar="FILE",
        help="one stack made of these files, merged in order as `docker compose -f` does "
        "(repeatable; besides any STACK)",
    )
    p.add_argument(
        "--profile",
        action="append",
        default=[],
        dest="profiles",
        metavar="NAME",
        help="activate a Compose profile (repeatable; `*` for all)",
    )


def _add_host_key_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--accept-new-host-keys",
        action="store_true",
        help="trust and record the SSH host key of a host seen for the first time "
        "(default: refuse hosts not in known_hosts; a changed key is always refused)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleetform",
        description="Declarative provisioning for fleets of Docker hosts.",
    )
    parser.add_argument("--version", action="version", version=f"fleetform {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check stack files against the schema and each other")
    p.add_argument("files", nargs="*", metavar="FILE")
    p.add_argument("--format", choices=["text", "json"], default="text")
    _add_env_file_arg(p)

    sub.add_parser("schema", help="print the stack file JSON Schema")

    p = sub.add_parser(
        "config",
        help="print stacks as fleetform reads them: interpolated, normalised, secrets masked",
    )
    p.add_argument("files", nargs="*", metavar="STACK")
    p.add_argument("--format", choices=["yaml", "json"], default="yaml")
    _add_env_file_arg(p)

    p = sub.add_parser("plan", help="show what apply would change, and why")
    _add_target_args(p)
    _add_host_key_arg(p)
    p.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 for no changes, 2 for changes, 1 for errors",
    )

    p = sub.add_parser("apply", help="converge hosts to the stacks")
    _add_target_args(p)
    _add_host_key_arg(p)
    p.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="approve without asking (required without a terminal and with --json)",
    )
    p.add_argument("--verify", action="store_true", help="run fleetform verify after applying")
    p.add_argument(
        "--lock-wait",
        metavar="DURATION",
        help="when another run holds a stack's deploy lock, wait for it up to DURATION "
        "(e.g. 30s, 5m) instead of failing at once",
    )

    p = sub.add_parser("verify", help="check the hosts' real state against the stacks (testinfra)")
    _add_target_args(p)
    p.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")

    p = sub.add_parser(
        "rollback", help="go back to an earlier revision of stacks, in health-gated batches"
    )
    _add_target_args(p, stacks_help="stack names or stack files to roll back")
    _add_host_key_arg(p)
    p.add_argument(
        "--to",
        type=int,
        metavar="REVISION",
        help="the revision to go back to (default: the previous one; see `fleetform history`)",
    )
    p.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="approve without asking (required without a terminal and with --json)",
    )
    p.add_argument(
        "--lock-wait",
        metavar="DURATION",
        help="when another run holds a stack's deploy lock, wait for it up to DURATION",
    )

    p = sub.add_parser("history", help="list each host's revisions of its stacks, newest first")
    _add_target_args(p, stacks_help="stack names or stack files (default: every stack)")
    _add_host_key_arg(p)

    p = sub.add_parser("audit", help="show the hosts' audit logs, merged by time")
    p.add_argument("-i", "--inventory", required=True, help="pyinfra inventory file or host list")
    p.add_argument(
        "--limit", action="append", default=[], metavar="HOSTS", help="only these hosts or groups"
    )
    p.add_argument("--since", metavar="DURATION", help="only entries newer than this (e.g. 1h, 2d)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    _add_host_key_arg(p)

    _add_gitops_parsers(sub)
    p = sub.add_parser(
        "engines",
        help="show each host's engine layers (docker-cli -> dockerd -> containerd -> shim -> "
        "runc) and the advisories that affect them",
    )
    p.add_argument("-i", "--inventory", required=True, help="pyinfra inventory file or host list")
    p.add_argument(
        "--limit", action="append", default=[], metavar="HOSTS", help="only these hosts or groups"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument(
        "--advisories",
        metavar="FILE",
        help="use this advisory file instead of the shipped one (same format, docs/engine.md)",
    )
    p.add_argument(
        "--fail-on",
        metavar="SEVERITY",
        help="exit 1 when a finding is at or above SEVERITY (low, medium, high, critical)",
    )
    _add_host_key_arg(p)

    p = sub.add_parser("lab", help="a local fleet of Debian hosts running as containers")
    lab = p.add_subparsers(dest="lab_command", required=True, metavar="ACTION")
    up = lab.add_parser("up", help="create or repair the lab")
    up.add_argument("--hosts", type=int, default=3, metavar="N")
    lab.add_parser("down", help="remove everything the lab created")
    st = lab.add_parser("status", help="list the lab hosts")
    st.add_argument("--json", action="store_true")
    return parser


def _add_gitops_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "reconcile", help="converge the hosts to a git repository's stacks (docs/gitops.md)"
    )
    # the environment may carry both (a URL with a token stays out of the
    # command line and the process list; the gitops deploys use this)
    p.add_argument(
        "--repo",
        default=os.environ.get("FLEETFORM_REPO") or None,
        metavar="URL|PATH",
        help="anything `git fetch` takes (default: $FLEETFORM_REPO)",
    )
    p.add_argument("--ref", metavar="BRANCH", help="the branch or ref to follow (default: HEAD)")
    _add_target_args(p, stacks_help="stack files inside the repository (default: stacks/*.yml)")
    _add_host_key_arg(p)
    when = p.add_mutually_exclusive_group()
    when.add_argument("--once", action="store_true", help="one run, then exit (the default)")
    when.add_argument("--every", metavar="DURATION", help="run again every DURATION (jittered)")
    p.add_argument(
        "--drift",
        choices=["report", "revert"],
        default="report",
        help="without a new commit, a non-empty plan is drift: report it (default) or revert it",
    )
    p.add_argument("--report-dir", metavar="DIR", help="write the JSON report, JUnit, Prometheus")
    p.add_argument(
        "--notify",
        action="append",
        default=os.environ.get("FLEETFORM_NOTIFY", "").split(),
        metavar="URL",
        help="Apprise URL (repeatable; added to the space-separated $FLEETFORM_NOTIFY)",
    )
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where the clone and the state live (default: ~/.cache/fleetform/reconcile)",
    )
    p.add_argument(
        "--lock-wait",
        metavar="DURATION",
        help="when another run holds a stack's deploy lock, wait for it up to DURATION",
    )

    p = sub.add_parser(
        "status", help="per host and stack: revision, commit, applied when/by, verify, drift"
    )
    _add_target_args(p, stacks_help="stack names, or stack files (to show drift too)")
    _add_host_key_arg(p)


def _stack_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``-f`` files become one more stack, after the STACK arguments."""
    files = getattr(args, "compose_files", None)
    positional = "files" if hasattr(args, "files") else "stacks"
    if files:
        setattr(args, positional, [*getattr(args, positional), list(files)])
    if positional == "files" and not args.files:
        parser.error(f"{args.command}: give at least one stack file (STACK, or -f FILE)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _stack_args(parser, args)
    if getattr(args, "host_name", None):
        # read where the inventory is loaded, by every step (a reconcile's plan, apply, verify)
        os.environ["FLEETFORM_HOST_NAME"] = args.host_name
    module_name, func_name = HANDLERS[args.command].split(":")
    handler = getattr(importlib.import_module(module_name), func_name)
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
