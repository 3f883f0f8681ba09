"""docs/benchmarks.md and its plot, written from one run's Results."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from bench.results import Results, RolloutRun, Series
from bench.targets import Verdict, judge

TOOL_LABELS = {
    "fleetform": "fleetform",
    "ansible": "Ansible docker_container",
    "pyinfra": "pyinfra docker.container",
}


def _s(series: Series | None) -> str:
    if series is None:
        return "–"
    if series.error:
        return "failed"
    return f"{series.median:.2f} s"


def _ratio(series: Series | None, base: Series | None) -> str:
    if not series or not base or series.error or base.error or not series.seconds:
        return "–"
    if not base.seconds or base.median == 0:
        return "–"
    return f"{series.median / base.median:.1f}x"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _others(r: Results) -> list[str]:
    return [t for t in r.plan.tools if t != "fleetform"]


def _noop(r: Results, plot: Path | None) -> list[str]:
    tools, others = r.plan.tools, _others(r)
    header = ["containers", *(TOOL_LABELS[t] for t in tools)]
    header += [f"{TOOL_LABELS[t].split()[0]} / fleetform" for t in others]
    rows = []
    for n in r.plan.noop_counts:
        ff = r.noop.get("fleetform", {}).get(n)
        row = [str(n), *(_s(r.noop.get(t, {}).get(n)) for t in tools)]
        row += [_ratio(r.noop.get(t, {}).get(n), ff) for t in others]
        rows.append(row)
    lines = ["## No-op converge, one host", ""]
    lines += [
        "Median wall time of a run that changes nothing, the containers already in their "
        "wanted state. Ratios are the other tool's median over fleetform's, in this run.",
        "",
    ]
    lines += _table(header, rows)
    for tool, n in sorted(r.plan.skip_noop):
        lines += [f"{TOOL_LABELS[tool]} skips the {n}-container no-op: no target needs it, "
                  "and its runs take about a second per container here.", ""]  # fmt: skip
    if plot is not None:
        lines += [f"![wall time against containers per host]({plot.name})", ""]
    return lines


def _change(r: Results) -> list[str]:
    n = r.plan.change_count
    ff = r.change.get("fleetform")
    rows = []
    for t in r.plan.tools:
        s = r.change.get(t)
        if s is None:
            continue
        touched = ", ".join(map(str, s.touched)) or "–"
        applied = f"{sum(s.applied)}/{len(s.applied)}" if s.applied else "–"
        rows.append([TOOL_LABELS[t], _s(s), _ratio(s, ff), touched, applied])
    lines = [f"## One changed field among {n} containers", ""]
    lines += [
        "One container's `BENCH_VALUE` env var gets a new value in each run. *Touched* "
        "counts the containers whose id or start time changed (`docker inspect` on the "
        "host before and after); *applied* says in how many runs the new value reached "
        "the container.",
        "",
    ]
    lines += _table(["tool", "median", "/ fleetform", "touched per run", "applied"], rows)
    py = r.change.get("pyinfra")
    if py and py.applied and not any(py.applied):
        lines += [
            "pyinfra's `docker.container` does not detect configuration drift: its "
            "`diff_from_inspect` reports no changes for env, image or command, so it touched "
            "no container and the change was not applied. Its time is that of a no-op.",
            "",
        ]
    return lines


def _fanout(r: Results) -> list[str]:
    tools, others = r.plan.tools, _others(r)
    header = ["hosts", *(TOOL_LABELS[t] for t in tools)]
    header += [f"{TOOL_LABELS[t].split()[0]} / fleetform" for t in others]
    rows = []
    for h in r.plan.fanout_hosts:
        ff = r.fanout.get("fleetform", {}).get(h)
        row = [str(h), *(_s(r.fanout.get(t, {}).get(h)) for t in tools)]
        row += [_ratio(r.fanout.get(t, {}).get(h), ff) for t in others]
        rows.append(row)
    lines = [f"## Fan-out: no-op with {r.plan.fanout_per_host} containers per host", ""]
    return lines + _table(header, rows)


def _ssh(r: Results) -> list[str]:
    tools = r.plan.tools
    rows = []
    for n in r.plan.noop_counts:
        row = [str(n)]
        for t in tools:
            s = r.noop.get(t, {}).get(n)
            ok = s is not None and s.ssh and not s.error
            row.append(f"{s.median_connections:g} / {s.median_sessions:g}" if ok else "–")  # type: ignore[union-attr]
        rows.append(row)
    lines = ["## Cost structure: SSH per host for a no-op", ""]
    lines += [
        "Connections / commands that sshd on the host started during one no-op run (median). "
        "Counted on the host, the same way for every tool: the lab hosts' sshd runs at "
        "`LogLevel VERBOSE`, which logs `Accepted publickey` for each connection and "
        "`Starting session: command ...` for each command (exec channel), shell or sftp "
        "subsystem, whichever client opened it (paramiko for fleetform and pyinfra, "
        "OpenSSH with multiplexing for Ansible). The bench reads the journal's cursor "
        "before a run and counts the lines after it, leaving out its own reading session.",
        "",
    ]
    return lines + _table(["containers", *(TOOL_LABELS[t] for t in tools)], rows)


def _engine(r: Results) -> list[str]:
    ff, apt = r.engine.get("fleetform"), r.engine.get("apt")
    rows = [
        ["fleetform apply, engine-only stack", _s(ff), _ratio(ff, apt)],
        ["`apt-get update && apt-get install -y docker.io` over SSH", _s(apt), "1.0x"],
    ]
    lines = ["## Engine install on a fresh host", ""]
    lines += [
        f"Each run recreates two lab hosts (no Docker on them), then installs Debian's "
        f"docker.io on one with fleetform and on the other with one bare SSH command that "
        f"waits until `docker info` answers. Median of {r.plan.engine_reps} run(s).",
        "",
    ]
    lines += _table(["install", "median", "/ bare apt-get"], rows)
    return [
        *lines,
        "fleetform installs with `--no-install-recommends`; the bare command also installs "
        "docker.io's recommended packages, so it downloads and configures more.",
        "",
    ]


def rollout_table(runs: list[RolloutRun]) -> list[str]:
    """The rollout scenario's modes side by side, one column each."""
    head = ["", *(f"{r.mode} (`parallelism: {r.parallelism}`)" for r in runs)]
    cells: list[tuple[str, Callable[[RolloutRun], str]]] = [
        ("requests sent (all hosts)", lambda r: str(r.requests)),
        ("failed requests", lambda r: str(r.failed)),
        ("longest window with a failing host", lambda r: f"{r.some_host_down:.1f} s"),
        ("longest window with no host serving", lambda r: f"{r.all_hosts_down:.1f} s"),
        ("apply wall time", lambda r: f"{r.seconds:.1f} s"),
        (
            "batches: seconds each",
            lambda r: f"{len(r.batches)}: " + ", ".join(f"{s:.1f}" for s in r.batches),
        ),
    ]
    return _table(head, [[label, *(cell(r) for r in runs)] for label, cell in cells])


def _rollout(r: Results) -> list[str]:
    if not r.rollout:
        return []
    n = r.rollout[0].hosts
    lines = [
        f"## Rollout: an environment change on {n} host(s), stop-first without the proxy "
        "and start-first through it",
        "",
    ]
    lines += [
        "The demo's `web` service (stacks/demo.yml, its healthcheck and default 10 s stop "
        "timeout), one replica a host, serves a port on each host: published by the "
        "container and rolled out stop-first, or served by the host's HAProxy (`proxy`, "
        "docs/proxy.md) and rolled out start-first.  An `environment` change is applied "
        "with the default `monitor` (5 s) while one probe per host sends `GET /healthz` "
        "every 50 ms to the host's lab address, the same probe in every mode "
        "(docs/rollouts.md).",
        "",
    ]
    return lines + rollout_table(r.rollout)


def _verdicts(verdicts: list[Verdict]) -> list[str]:
    label = {True: "met", False: "**missed**", None: "not measured"}
    rows = [[v.target, v.measured, label[v.met]] for v in verdicts]
    lines = ["## Targets", "", *_table(["target", "measured", "result"], rows)]
    missed = [v for v in verdicts if v.met is False]
    for v in missed:
        lines += [f"- **{v.target}: missed.** {v.why}"]
    return lines + ([""] if missed else [])


def _errors(r: Results) -> list[str]:
    found = []
    groups = [("no-op", r.noop), ("fan-out", r.fanout)]
    for name, by_tool in groups:
        for tool, by_n in by_tool.items():
            for n, s in by_n.items():
                if s.error:
                    found.append(f"- {name} {n}, {tool}: {s.error.splitlines()[0]}")
    for tool, s in [*r.change.items(), *r.engine.items()]:
        if s.error:
            found.append(f"- {tool}: {s.error.splitlines()[0]}")
    for run in r.rollout:
        if run.error:
            found.append(f"- rollout, {run.mode}: {run.error.splitlines()[0]}")
    if r.cleanup_error:
        found.append(f"- cleanup: {r.cleanup_error.splitlines()[0]}")
    return ["## Errors", "", *found, ""] if found else []


def render(r: Results, plot: Path | None) -> str:
    kind = "smoke run (tiny sizes, 1 repetition: not meaningful numbers)" if r.smoke else "run"
    lines = [
        "# Benchmarks: fleetform, Ansible and pyinfra",
        "",
        f"Written by the bench harness (`make bench`, i.e. `python -m bench`) from one {kind} "
        f"started {r.started}, which took {r.total_seconds / 60:.1f} min. Do not edit by hand. "
        f"Times are medians of {r.plan.reps} repetition(s); every tool ran against the same "
        "lab hosts with the same containers (busybox `sleep`, two env vars, two labels, "
        "`registry.lab:5000/fleetform/busybox:1`), each under its own names.",
        "",
        "## Machine and versions",
        "",
    ]
    lines += _table(["", ""], [[k, v] for k, v in {**r.machine, **r.versions}.items()])
    setup = [[k, f"{v:.1f} s"] for k, v in r.setup_seconds.items()]
    lines += ["Setup done by the harness in this run (0 s: already there):", ""]
    lines += _table(["step", "time"], setup)
    lines += _verdicts(judge(r))
    lines += _noop(r, plot) + _change(r) + _fanout(r) + _ssh(r) + _engine(r) + _rollout(r)
    lines += _errors(r)
    lines += [
        "## How each tool is run",
        "",
        "- **fleetform**: `fleetform apply -i INVENTORY benchff.yml --yes --json`, one service "
        "per container.",
        "- **Ansible**: `ansible-playbook` with one `community.docker.docker_container` task "
        "looping over the containers; `gathering = explicit`, `pipelining = True`, OpenSSH "
        "ControlMaster with a fresh control socket per run, `forks = 50`.",
        "- **pyinfra**: `pyinfra -y INVENTORY deploy.py`, one `docker.container` operation "
        "per container.",
        "",
        "Each measured time is the wall time of the tool's command line, start-up included.",
        "",
    ]
    return "\n".join(lines)


def plot(r: Results, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for tool in r.plan.tools:
        points = [
            (n, s.median)
            for n, s in sorted(r.noop.get(tool, {}).items())
            if s.seconds and not s.error and not math.isnan(s.median)
        ]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", label=TOOL_LABELS[tool])
    ax.set_xlabel("containers on the host")
    ax.set_ylabel("no-op wall time, median (s)")
    ax.set_title("No-op converge on one host")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write(r: Results, out: Path) -> tuple[Path, Path]:
    out.parent.mkdir(parents=True, exist_ok=True)
    png = plot(r, out.with_suffix(".png"))
    out.write_text(render(r, png))
    return out, png
