"""``fleetform reconcile``: converge the fleet to what a git repository says (docs/gitops.md).

Each run: fetch and check out the commit -> validate and decrypt the stacks
-> plan -> (a new commit, or ``--drift revert``) apply, which prepares
every host (pulls, secrets) before its health-gated batches and rolls back
as ``apply`` does -> verify -> report and notify.  The steps are the
existing commands' own functions (``plan --json``, ``apply --json --yes``,
``verify``), run on the checkout: a reconcile decides nothing they would
decide differently.

Exit codes (``--once``): 0 in sync, converged, or drift reported; 1 error
(fetch, invalid commit, failed host or check); 3 rolled back.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fleetform.commands.common import Output, json_of, on_sigterm
from fleetform.gitops.notify import FAILED, NotifyError, check_urls, events, send
from fleetform.gitops.repo import Checkout, RepoError, checkout, inventory_spec, stack_files
from fleetform.gitops.report import (
    REPORT_FORMAT_VERSION,
    prometheus_text,
    write_prometheus,
    write_report,
)
from fleetform.gitops.state import State, load_state, save_state
from fleetform.runlog.run import parse_duration

#: the share of ``--every`` by which each wait varies, so many controllers spread out
JITTER = 0.1
_EXIT = {"in_sync": 0, "converged": 0, "reverted": 0, "drift": 0, "rolled_back": 3}


def wait(seconds: float) -> None:
    """The pause between two ``--every`` runs (Ctrl-C and SIGTERM end it)."""
    time.sleep(seconds)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fleetform" / "reconcile"


def run_reconcile(args: argparse.Namespace) -> int:
    out = Output(json_mode=args.json)
    if not args.repo:
        out.error("--repo is required (or FLEETFORM_REPO): the repository to follow")
        return 1
    try:
        every = parse_duration(args.every) if args.every else None
    except ValueError as exc:
        out.error(f"--every: {exc}")
        return 1
    if every is not None and every <= 0:
        out.error("--every: must be longer than 0 s")
        return 1
    try:
        check_urls(args.notify)
    except NotifyError as exc:
        out.error(str(exc))
        return 1
    cache = Path(args.cache_dir) if args.cache_dir else default_cache_dir()
    for option, folder in (("--cache-dir", cache), ("--report-dir", args.report_dir)):
        problem = _unwritable(folder)
        if problem:
            out.error(f"{option} {folder}: {problem}; nothing was run")
            return 1
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        while True:
            try:
                code = _one_run(args, out, cache)
            except Exception as exc:
                if every is None:
                    raise
                # An unforeseen failure of one run must not end a controller:
                # say it, and try again next round (Terminated is not an Exception).
                out.error(f"the run failed unexpectedly: {type(exc).__name__}: {exc}")
                code = 1
            if every is None:
                return code
            wait(every * random.uniform(1 - JITTER, 1 + JITTER))
    finally:
        signal.signal(signal.SIGTERM, previous)


def _unwritable(folder: Path | str | None) -> str | None:
    """Why ``folder`` cannot be written (made when missing), or None."""
    if folder is None:
        return None
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create it: {exc.strerror or exc}"
    return None if os.access(folder, os.W_OK | os.X_OK) else "not writable"


@contextlib.contextmanager
def _cache_lock(cache: Path) -> Iterator[bool]:
    """Hold the cache directory's lock (True), or False when another reconcile holds it.

    Two reconciles of one cache directory would check out over each other;
    the hosts' deploy locks already keep runs from different caches apart.
    """
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / "lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _one_run(args: argparse.Namespace, out: Output, cache: Path) -> int:
    with _cache_lock(cache) as held:
        if not held:
            out.error(f"another reconcile is running with the cache directory {cache}; not run")
            return 1
        state = load_state(cache)
        doc = _reconcile(args, out, cache, state)
        return _finish(args, out, cache, state, doc)


def _new_doc(args: argparse.Namespace, state: State) -> dict[str, Any]:
    now = time.time()
    return {
        "format_version": REPORT_FORMAT_VERSION,
        "started_at": _iso(now),
        "started_at_epoch": round(now, 3),
        "repo": None,
        "ref": args.ref or "HEAD",
        "commit": None,
        "previous_commit": state.commit,
        "drift_mode": args.drift,
        "result": "failed",
        "exit_code": 1,
        "problems": [],
        "changes": [],
        "drift": [],
        "plan": None,
        "apply": None,
        "verify": None,
        "notifications": [],
    }


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _reconcile(args: argparse.Namespace, out: Output, cache: Path, state: State) -> dict[str, Any]:
    doc = _new_doc(args, state)
    try:
        co = checkout(args.repo, args.ref, cache)
    except RepoError as exc:
        doc["problems"] = [str(exc)]
        return doc
    doc["repo"], doc["commit"] = co.url, co.commit
    out.note(f"Reconciling {co.url} {co.ref} at commit {co.commit}")
    _run_commit(args, out, state, co, doc)
    # paths as they are in the repository, not in this machine's cache
    root = f"{co.path}/"
    doc["problems"] = [p.replace(root, "") for p in doc["problems"]]
    return doc


def _run_commit(
    args: argparse.Namespace, out: Output, state: State, co: Checkout, doc: dict[str, Any]
) -> dict[str, Any]:
    """The steps after the checkout; they fill in ``doc``."""
    paths = stack_files(co.path, args.stacks)
    if not paths:
        doc["result"] = "invalid"
        doc["problems"] = [f"commit {co.commit} has no stack files (stacks/*.yml, stacks/*.yaml)"]
        return doc
    problems = _invalid(paths, args.env_file, args.profiles)
    if problems:
        doc["result"] = "invalid"
        doc["problems"] = problems
        return doc
    ns = argparse.Namespace(
        inventory=inventory_spec(co.path, args.inventory),
        stacks=paths,
        limit=args.limit,
        json=True,
        env_file=args.env_file,
        profiles=args.profiles,
        accept_new_host_keys=args.accept_new_host_keys,
        detailed_exitcode=True,
    )
    code, plan, said = json_of(_plan_handler(), ns)
    doc["plan"] = plan
    if code == 1 or plan is None:
        errors = [f"{e['host']}: {e['message']}" for e in (plan or {}).get("errors") or []]
        doc["problems"] = errors or said or ["plan failed"]
        return doc
    lines = doc["changes"] = _action_lines(plan)
    for line in lines:  # what the run is about to do (or reports as drift), before it does it
        out.note(f"  planned: {line}")
    if not plan["has_changes"]:
        doc["result"] = "in_sync"
        return doc
    # The commit was dealt with already (not invalid, not failed half-way): a
    # non-empty plan now is drift, or the rollout that failed for it.
    settled = co.commit == state.commit and state.outcome not in ("invalid", "failed")
    if settled and state.outcome == "rolled_back":
        # Applying it again would roll back again, every round: wait for a new commit.
        doc["result"] = "rolled_back"
        doc["problems"] = list(state.extra.get("problems", []))
        return doc
    if settled and args.drift == "report":
        doc["result"] = "drift"
        doc["drift"] = lines
        return doc
    return _apply(args, out, co, ns, doc, drifted=settled)


def _plan_handler() -> Callable[[argparse.Namespace], int]:
    from fleetform.commands.converge import run_plan

    return run_plan


def _invalid(paths: list[str | list[str]], env_file: str | None, profiles: list[str]) -> list[str]:
    """Every problem of the commit's stacks (schema, references, decryption), or none."""
    from fleetform.stackfile import StackFileError, load_stacks

    try:
        list(load_stacks(paths, env_file=env_file, profiles=profiles))
    except StackFileError as exc:
        return [str(p) for p in exc.problems]
    return []


def _action_lines(plan: dict[str, Any]) -> list[str]:
    lines = []
    for host in plan.get("hosts", []):
        lines += [f"{host['host']}: {c}" for c in host.get("engine", [])]
        for action in host.get("actions", []):
            kind, kind_of = action["kind"], action["resource_type"]
            what = kind if kind_of in kind else f"{kind} {kind_of}"  # not "create-network network"
            lines.append(f"{host['host']}: {what} {action['resource']} ({action['reason']})")
        lines += [
            f"{host['host']}: {p['kind']} {p['resource']} ({p['reason']})"
            for p in host.get("proxy", [])
        ]
    return lines


def _apply(
    args: argparse.Namespace,
    out: Output,
    co: Checkout,
    ns: argparse.Namespace,
    doc: dict[str, Any],
    drifted: bool,
) -> dict[str, Any]:
    from fleetform.commands.converge import run_apply

    if drifted:
        doc["drift"] = doc["changes"]
    applied = argparse.Namespace(
        **vars(ns),
        yes=True,
        verify=False,
        lock_wait=args.lock_wait,
        source={"repo": co.url, "commit": co.commit},
    )
    applied.detailed_exitcode = False
    code, result, said = json_of(run_apply, applied)
    doc["apply"] = result
    if code == 3:
        doc["result"] = "rolled_back"
        doc["problems"] = _rollout_problems(result)
        return doc
    if code != 0:
        hosts = (result or {}).get("hosts", [])
        failed = [f"{h['host']}: {h['error']}" for h in hosts if h.get("error")]
        doc["problems"] = failed or said or ["apply failed"]
        return doc
    return _verify(out, co, ns, doc, "reverted" if drifted else "converged")


def _rollout_problems(result: dict[str, Any] | None) -> list[str]:
    rollout = (result or {}).get("rollout") or {}
    problems = [f"{e['host']}/{e['container']}: {e['error']}" for e in rollout.get("errors", [])]
    for host, messages in sorted(rollout.get("problems", {}).items()):
        problems += [f"{host}: {m}" for m in messages]
    if rollout.get("sentence"):
        problems.append(rollout["sentence"])
    return problems


def _verify(
    out: Output, co: Checkout, ns: argparse.Namespace, doc: dict[str, Any], result: str
) -> dict[str, Any]:
    from fleetform.commands.reconcile_verify import verify_and_record

    doc["verify"], failed, junit = verify_and_record(out, co.commit, ns)
    doc["junit"] = junit
    if failed:
        doc["problems"] = failed
        return doc
    doc["result"] = result
    return doc


def _finish(
    args: argparse.Namespace, out: Output, cache: Path, state: State, doc: dict[str, Any]
) -> int:
    result = doc["result"]
    doc["exit_code"] = code = _EXIT.get(result, 1)
    commit = doc["commit"] or "none"
    details = doc["problems"] or doc["drift"]
    for event in events(state, result, commit, details):
        ok = send(args.notify, event) if args.notify else False
        doc["notifications"].append({"event": event.kind, "title": event.title, "sent": ok})
        if args.notify and not ok:
            out.note(f"could not send the {event.kind} notification to every --notify URL")
    state.runs_total += 1
    if result in FAILED:
        state.failures_total += 1
    if result == "drift":
        state.drift_total += 1
    if result in ("in_sync", "converged", "reverted"):
        state.last_success = time.time()
    if doc["commit"] is not None:
        state.commit, state.outcome = doc["commit"], result
        state.extra["problems"] = doc["problems"] if result in FAILED else []
    doc["finished_at"] = _iso(time.time())
    junit = doc.pop("junit", None)
    if args.report_dir:
        _write_reports(Path(args.report_dir), doc, junit, state, out)
    save_state(cache, state)
    _say(out, doc, args.json)
    return code


def _write_reports(
    folder: Path, doc: dict[str, Any], junit: bytes | None, state: State, out: Output
) -> None:
    from fleetform.gitops.report import write_junit

    try:
        doc["report"] = str(write_report(folder, doc))
        if junit is not None:
            write_junit(folder, junit)
        write_prometheus(
            folder, prometheus_text(doc["result"], doc["exit_code"], time.time(), state)
        )
    except OSError as exc:
        out.error(f"cannot write the report in {folder}: {exc.strerror or exc}")


_SENTENCE = {
    "in_sync": "In sync: nothing to change.",
    "converged": "Converged to the commit, and verified.",
    "reverted": "Drift reverted: the hosts are back on the commit, and verified.",
    "drift": "Drift found and not reverted (--drift report):",
    "invalid": "The commit is invalid; nothing was changed:",
    "failed": "Failed:",
    "rolled_back": "The commit was rolled back; the fleet stays on the previous revision:",
}


def _say(out: Output, doc: dict[str, Any], json_mode: bool) -> None:
    if json_mode:
        out.json(doc)
        return
    commit = (doc["commit"] or "")[:12]
    out.info(f"commit {commit}: {_SENTENCE[doc['result']]}")
    for line in doc["problems"] or doc["drift"]:
        out.info(f"  {line}")
