"""``python -m bench --out docs/benchmarks.md [--smoke] [--reps N]``.

Exit codes: 0 the report was written and every measurement ran; 1 setup
failed (nothing written) or some measurement failed (the report is written
and lists the failures).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bench import labhosts, machine, report
from bench.ansible_setup import SetupError, ensure_ansible
from bench.labhosts import HostError
from bench.results import FULL, SMOKE, Results
from bench.scenarios import Bench, engine_installs, log
from bench.tools import Ansible, Fleetform, Pyinfra, ToolError


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="the Markdown report (plot beside it)")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, 1 repetition")
    p.add_argument("--reps", type=int, help="repetitions per measurement (default 3; smoke 1)")
    p.add_argument(
        "--keep-lab", action="store_true", help="leave the bench's lab hosts running afterwards"
    )
    return p.parse_args(argv)


def _setup(results: Results) -> tuple[Ansible, list[labhosts.Host]]:
    plan = results.plan
    t0 = time.monotonic()
    ansible = ensure_ansible()
    results.setup_seconds["Ansible venv from PyPI"] = ansible.seconds
    results.versions.update(
        {
            "ansible (PyPI bundle)": ansible.ansible_version,
            "ansible-core": ansible.core_version,
            "community.docker": ansible.community_docker_version,
        }
    )
    log(f"Ansible {ansible.ansible_version} ready ({time.monotonic() - t0:.1f} s)")

    t0 = time.monotonic()
    labhosts.up(plan.lab_hosts)
    results.setup_seconds[f"lab `{labhosts.lab_name()}` up, {plan.lab_hosts} hosts"] = (
        time.monotonic() - t0
    )
    log(f"lab {labhosts.lab_name()} up with {plan.lab_hosts} hosts")
    return Ansible(ansible.venv), []


def _prepare_tool_hosts(results: Results, fleetform: Fleetform) -> list[labhosts.Host]:
    plan = results.plan
    hosts = labhosts.up(plan.lab_hosts)[: plan.tool_hosts]
    t0 = time.monotonic()
    fleetform.install_engine(hosts)
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        list(pool.map(labhosts.prepare, hosts))
    results.setup_seconds["engine, python3-docker, image and sshd log level on tool hosts"] = (
        time.monotonic() - t0
    )
    results.versions["Docker engine (lab hosts)"] = labhosts.docker_version(hosts[0])
    return hosts


def run(args: argparse.Namespace) -> int:
    plan = SMOKE if args.smoke else FULL
    if args.reps:
        plan = dataclasses.replace(plan, reps=args.reps)
    results = Results(plan=plan, smoke=args.smoke)
    results.started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    results.machine = machine.machine()
    results.versions = machine.local_versions()
    labhosts.select_lab(args.smoke)
    t0 = time.monotonic()
    fleetform = Fleetform()
    try:
        ansible, _ = _setup(results)
        engine_installs(results, fleetform)
        hosts = _prepare_tool_hosts(results, fleetform)
    except (SetupError, HostError, ToolError) as exc:
        print(f"bench: setup failed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # the lab API raises LabError
        if type(exc).__name__ != "LabError":
            raise
        print(f"bench: setup failed: {exc}", file=sys.stderr)
        return 1

    bench = Bench(results, [fleetform, ansible, Pyinfra()], hosts)
    try:
        bench.noop()
        bench.change()
        bench.fanout()
        bench.rollout()
    finally:
        try:
            bench.cleanup()
        except HostError as exc:  # keep what was measured; say what is left behind
            log(f"cleanup failed, bench containers may remain: {exc}")
            results.cleanup_error = str(exc)
    results.total_seconds = time.monotonic() - t0
    results.machine["load average at end (1/5/15 min)"] = machine.load_average()
    out, png = report.write(results, args.out)
    log(f"wrote {out} and {png} in {results.total_seconds / 60:.1f} min")
    if not args.keep_lab:  # idle Docker hosts would slow everyone else's work
        try:
            labhosts.down()
        except Exception as exc:  # LabError: the report is written; say what is left
            log(f"lab {labhosts.lab_name()} could not be removed: {exc}")
    return 1 if _failed(results) else 0


def _failed(r: Results) -> bool:
    series = [s for by_n in [*r.noop.values(), *r.fanout.values()] for s in by_n.values()]
    series += [*r.change.values(), *r.engine.values()]
    rollout = any(run.error for run in r.rollout)
    return bool(r.cleanup_error) or rollout or any(s.error for s in series)


def main(argv: list[str] | None = None) -> int:
    return run(parse(argv))


if __name__ == "__main__":
    sys.exit(main())
