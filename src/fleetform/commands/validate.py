"""``fleetform validate FILE...`` and ``fleetform schema``.

``validate`` prints every problem of every file at once (text on stderr, or
with ``--format json`` one object on stdout) and exits 1 when anything is
wrong, 0 otherwise.  The JSON object::

    {"valid": true,
     "files": [{"file": "stacks/demo.yml", "stack": "demo",
                "services": 2, "networks": 2, "volumes": 1}],
     "problems": [{"file": ..., "line": 12, "column": 7,
                   "path": "services.web.ports[0]", "message": ...}]}

``files`` lists the files that loaded; ``problems`` is empty when valid;
``warnings`` (same fields as problems) lists what does not make a file invalid,
such as an unset variable or Compose's obsolete ``version``.
"""

from __future__ import annotations

import argparse
import json
import sys

from fleetform.model import Stack
from fleetform.stackfile import Problem, StackFileError, load_stacks, schema_text


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary(stacks: list[Stack]) -> str:
    """``3 stack files valid: 5 services, 2 networks, 1 volume``."""
    services = sum(len(s.services) for s in stacks)
    networks = sum(len(s.networks) for s in stacks)
    volumes = sum(len(s.volumes) for s in stacks)
    return (
        f"{_count(len(stacks), 'stack file')} valid: {_count(services, 'service')}, "
        f"{_count(networks, 'network')}, {_count(volumes, 'volume')}"
    )


def run_validate(args: argparse.Namespace) -> int:
    notices: list[Problem] = []
    try:
        stacks = load_stacks(
            args.files, env_file=args.env_file, notices=notices, profiles=args.profiles
        )
    except StackFileError as err:
        if args.format == "json":
            doc = {
                "valid": False,
                "files": [],
                "problems": [p.as_dict() for p in err.problems],
                "warnings": [n.as_dict() for n in notices],
            }
            print(json.dumps(doc, indent=2))
        else:
            _print_warnings(notices)
            for problem in err.problems:
                print(problem, file=sys.stderr)
            bad_files = len({p.file for p in err.problems})
            print(
                f"{_count(len(err.problems), 'problem')} in {_count(bad_files, 'file')}",
                file=sys.stderr,
            )
        return 1
    if args.format == "json":
        files = [
            {
                "file": str(s.source),
                "stack": s.name,
                "services": len(s.services),
                "networks": len(s.networks),
                "volumes": len(s.volumes),
            }
            for s in stacks
        ]
        warnings = [n.as_dict() for n in notices]
        doc = {"valid": True, "files": files, "problems": [], "warnings": warnings}
        print(json.dumps(doc, indent=2))
    else:
        _print_warnings(notices)
        print(summary(stacks))
    return 0


def _print_warnings(notices: list[Problem]) -> None:
    for notice in notices:
        print(f"warning: {notice}", file=sys.stderr)


def run_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_text())
    return 0
