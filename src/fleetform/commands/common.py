"""What the commands share: loading input with clear errors, and output.

Human output goes to stdout (plans, summaries) and stderr (progress,
errors); ``--json`` puts exactly one JSON document on stdout and nothing else.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from fleetform.inventory import InventoryError, LoadedInventory, check_host_keys, load_inventory
from fleetform.model import Stack
from fleetform.plan import Plan
from fleetform.plan.render import Tone, plan_lines
from fleetform.runlog.lock import LockSettings, LockSettingsError
from fleetform.runlog.run import parse_duration

#: terminal style of each kind of plan segment (fleetform.plan.render)
_TONE_STYLE: dict[Tone, str] = {
    "plain": "",
    "create": "green",
    "recreate": "yellow",
    "update": "yellow",
    "remove": "red",
    "error": "bold red",
    "warning": "yellow",
}


class Output:
    def __init__(self, json_mode: bool = False) -> None:
        self.json_mode = json_mode
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def error(self, message: str) -> None:
        self.err.print(f"[bold red]error:[/] {escape(message)}")

    def info(self, message: str) -> None:
        (self.err if self.json_mode else self.out).print(escape(message))

    def note(self, message: str) -> None:
        """A line about the run itself (locks, audit), on stderr in every mode."""
        self.err.print(escape(message))

    def json(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
        sys.stdout.flush()

    @contextlib.contextmanager
    def status(self, message: str) -> Iterator[None]:
        """A spinner on stderr while slow work runs (only on a terminal)."""
        if self.err.is_terminal:
            with self.err.status(escape(message) + "…"):
                yield
        else:
            yield

    @contextlib.contextmanager
    def progress(self, session: Any, message: str) -> Iterator[None]:
        """Show which operation runs on which host while pyinfra works."""
        from fleetform.executor.progress import ProgressCallback

        if not self.err.is_terminal:
            # In CI logs, one line per finished step per host keeps a record.
            callback = ProgressCallback(lambda line: self.err.print(escape(line)), live=False)
            session.state.add_callback_handler(callback)
            yield
            return
        with self.err.status(escape(message) + "…") as status:
            callback = ProgressCallback(
                lambda line: status.update(escape(f"{message}: {line}")), live=True
            )
            session.state.add_callback_handler(callback)
            yield

    def plan(self, plan: Plan) -> None:
        """``str(plan)``, each part styled by what it is (an action's kind, an error...)."""
        for line in plan_lines(plan):
            # Text, not markup: the plan's values are shown as they are.
            self.out.print(Text.assemble(*((text, _TONE_STYLE[tone]) for text, tone in line)))

    def summary(self, summary: dict[str, Any]) -> None:
        table = Table(title=f"Apply finished in {summary['seconds']} s", title_justify="left")
        table.add_column("host")
        table.add_column("result")
        table.add_column("planned actions", justify="right")
        table.add_column("changed steps", justify="right")
        for h in summary["hosts"]:
            result = "[green]ok[/]" if h["ok"] else "[red]failed[/]"
            table.add_row(h["host"], result, str(h["actions"]), str(h["changed_steps"]))
        self.out.print(table)
        for h in summary["hosts"]:
            if h["error"]:
                self.out.print(f"[red]{escape(h['host'])}:[/] {escape(h['error'])}")


def load_stacks_or_report(
    paths: Sequence[str | Sequence[str]],
    out: Output,
    env_file: str | None = None,
    profiles: Sequence[str] = (),
) -> list[Stack] | None:
    """The stacks, with their warnings on stderr; None (problems shown) when invalid."""
    from fleetform.stackfile import Problem, StackFileError, load_stacks

    if not paths:
        out.error("no stack files given")
        return None
    notices: list[Problem] = []
    try:
        stacks = list(
            load_stacks(list(paths), env_file=env_file, notices=notices, profiles=profiles)
        )
        return stacks
    except StackFileError as exc:
        for problem in exc.problems:
            out.err.print(escape(str(problem)))
        out.error(f"{len(exc.problems)} problem(s) in the stack files; nothing was changed")
        return None
    finally:
        for notice in notices:
            out.err.print(f"[yellow]warning:[/] {escape(str(notice))}")


def load_targets_or_report(spec: str, limits: Sequence[str], out: Output) -> LoadedInventory | None:
    try:
        return load_inventory(spec, limits)
    except InventoryError as exc:
        out.error(str(exc))
        return None


def ssh_targets_or_report(args: Any, out: Output) -> LoadedInventory | None:
    """The targets of a command that reaches hosts over pyinfra's SSH, with strict
    host key checking unless ``--accept-new-host-keys`` (see ``check_host_keys``)."""
    loaded = load_targets_or_report(args.inventory, args.limit, out)
    if loaded is not None:
        check_host_keys(loaded.hosts, accept_new=args.accept_new_host_keys)
    return loaded


def confirm(question: str) -> bool:
    """Ask on the terminal; anything but ``yes`` (also Ctrl-D, Ctrl-C) means no."""
    if not sys.stdin.isatty():
        return False  # never approve on behalf of a user who cannot answer
    try:
        answer = input(f"{question} Only 'yes' is accepted: ")
    except (EOFError, KeyboardInterrupt):
        print()  # the cursor is still on the prompt line
        return False
    return answer.strip() == "yes"


def approval_problem(args: Any, command: str) -> str | None:
    """Why ``command`` (apply, rollback) cannot ask for approval, so needs ``--yes``; or None.

    As Terraform: a run nobody can answer (cron, ``ssh host fleetform apply``,
    a pipe) or one that promises a JSON document on stdout must say ``--yes``
    itself instead of being approved by default.
    """
    review = "`fleetform plan`" if command == "apply" else f"`fleetform {command}` on a terminal"
    if args.yes:
        return None
    if args.json:
        return (
            f"{command} --json does not ask for approval: add --yes "
            f"(review the changes first with {review}); nothing was changed"
        )
    if not sys.stdin.isatty():
        return (
            f"{command} needs approval but stdin is not a terminal: add --yes to {command} "
            f"without asking (review the changes first with {review}); "
            "nothing was changed"
        )
    return None


def lock_settings_or_report(out: Output) -> LockSettings | None:
    """The deploy lock settings from the environment (docs/locks-and-audit.md)."""
    try:
        return LockSettings.from_env(os.environ)
    except LockSettingsError as exc:
        out.error(str(exc))
        return None


def lock_wait_or_report(args: Any, out: Output) -> float | None:
    """``--lock-wait`` in seconds (0 without it), or None after reporting bad input."""
    try:
        return parse_duration(args.lock_wait) if args.lock_wait else 0.0
    except ValueError as exc:
        out.error(f"--lock-wait: {exc}")
        return None


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: the ``finally`` blocks release the locks."""


def on_sigterm(signum: int, frame: object) -> None:
    """The SIGTERM handler of the commands that hold deploy locks."""
    raise Terminated()


class _Tee(io.TextIOBase):
    """Stderr as it was, and a copy kept to read the errors back."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.copy.write(text)
        return int(self.target.write(text))

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return False  # no spinner: its frames would fill the copy


def json_of(handler: Callable[[Any], int], args: Any) -> tuple[int, Any, list[str]]:
    """Run a command in its ``--json`` mode: its exit code, its one JSON document
    (None when it printed none), and the errors it reported (``error:`` lines on
    stderr, which still reach stderr).  ``fleetform reconcile`` and ``status``
    build on ``plan`` and ``apply`` this way, through their documented output."""
    buffer = io.StringIO()
    tee = _Tee(sys.stderr)
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(tee):
        code = handler(args)
    errors = [
        line.removeprefix("error: ").strip()
        for line in tee.copy.getvalue().splitlines()
        if line.startswith("error: ")
    ]
    try:
        return code, json.loads(buffer.getvalue()), errors
    except ValueError:
        return code, None, errors
