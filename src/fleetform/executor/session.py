"""A pyinfra API session: connect, run one command per host, run operations.

pyinfra's API has pitfalls that this module absorbs once:
- gevent must monkey-patch before anything else imports sockets, or SSH hosts
  are handled one after another (``patch()``, called by the CLI first);
- ``connect_all`` only logs why a host failed; we keep the reason per host;
- ``run_ops`` raises ``PyinfraError("No hosts remaining!")`` when every host
  failed: that is a result (all hosts failed), not a crash;
- with ``check_for_changes=False`` operation bodies run once, at execution,
  so facts are not gathered twice (pyinfra 3 caches none).

Example::

    session = Session(load_inventory("inventory/lab.py"))
    session.connect()
    outputs = session.run_everywhere(lambda host: "docker ps -q")
    session.add_op(some_operation, arg=...)
    session.run()
    session.disconnect()
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fleetform.inventory import LoadedInventory

_PATCHED = False


def patch() -> None:
    """Monkey-patch with gevent (idempotent). Must run before pyinfra is imported."""
    global _PATCHED
    if not _PATCHED:
        from gevent import monkey

        monkey.patch_all()
        _PATCHED = True


@dataclass(frozen=True)
class CommandResult:
    ok: bool
    stdout: str
    stderr: str


class Session:
    def __init__(self, loaded: LoadedInventory) -> None:
        patch()
        from pyinfra.api.config import Config
        from pyinfra.api.state import State

        self.loaded = loaded
        config = Config(  # type: ignore[no-untyped-call]
            PARALLEL=max(len(loaded.hosts), 1), CONNECT_TIMEOUT=10
        )
        self.state = loaded.state or State(check_for_changes=False)
        self.state.init(loaded.inventory, config, initial_limit=loaded.hosts)
        #: host name -> why it failed (connection or operation)
        self.failures: dict[str, str] = {}

    @property
    def hosts(self) -> list[Any]:
        """Hosts that are connected and have not failed."""
        return [h for h in self.loaded.hosts if h in self.state.active_hosts]

    def connect(self) -> None:
        import gevent
        from pyinfra.api.exceptions import ConnectError, PyinfraError

        def one(host: Any) -> str | None:
            try:
                host.connect(show_errors=False, raise_exceptions=True)
            except ConnectError as exc:
                return str(exc.args[0] if exc.args else exc)
            except Exception as exc:  # a broken connector must not stop the other hosts
                return f"{type(exc).__name__}: {exc}"
            return None

        # stdout is redirected around the whole parallel section, never inside
        # a greenlet: nested redirects restored out of order would swallow
        # fleetform's own output afterwards.
        with _quiet():
            greenlets = {self.state.pool.spawn(one, h): h for h in self.loaded.hosts}
            gevent.joinall(list(greenlets))
        failed = set()
        for greenlet, host in greenlets.items():
            err = greenlet.get()
            if err is None and host.connected:
                self.state.activate_host(host)
            else:
                failed.add(host)
                self.failures[host.name] = f"cannot connect: {err or 'unknown error'}"
                if err and "No host key for" in err:
                    self.failures[host.name] += (
                        " (host key checking is strict: add the host's key to known_hosts, "
                        "or trust it on first use with --accept-new-host-keys)"
                    )
        with contextlib.suppress(PyinfraError):  # "No hosts remaining!" is a result here
            self.state.fail_hosts(failed, activated_count=len(self.loaded.hosts))

    def run_everywhere(
        self, command_for: Callable[[Any], str], hosts: list[Any] | None = None
    ) -> dict[str, CommandResult]:
        """Run one shell command per connected host (or per host of ``hosts``), in parallel."""
        import gevent

        chosen = self.hosts if hosts is None else hosts
        greenlets = {gevent.spawn(self.run_on, h, command_for(h)): h for h in chosen}
        gevent.joinall(list(greenlets))
        return {host.name: g.get() for g, host in greenlets.items()}

    def run_on(self, host: Any, command: str) -> CommandResult:
        """Run one shell command on one host; a dropped connection is a failed result."""
        from pyinfra.api.command import StringCommand

        try:
            ok, output = host.run_shell_command(StringCommand(command))
        except Exception as exc:  # connection dropped mid-way
            return CommandResult(False, "", f"{type(exc).__name__}: {exc}")
        return CommandResult(ok, output.stdout, output.stderr)

    def add_op(self, op: Any, *args: Any, **kwargs: Any) -> None:
        from pyinfra.api.operation import add_op

        with _quiet():
            add_op(self.state, op, *args, **kwargs)

    def add_deploy(self, deploy: Any, *args: Any, **kwargs: Any) -> None:
        from pyinfra.api.deploy import add_deploy

        with _quiet():
            add_deploy(self.state, deploy, *args, **kwargs)

    def run(self) -> None:
        from pyinfra.api.exceptions import PyinfraError
        from pyinfra.api.operations import run_ops

        try:
            with _quiet():
                run_ops(self.state)
        except PyinfraError as exc:
            if "No hosts remaining" not in str(exc):
                raise
        self.collect_failures()

    def collect_failures(self) -> None:
        """Note why each failed host failed (also after operations added while executing:
        pyinfra runs those at once)."""
        for host in self.state.failed_hosts:
            self.failures.setdefault(host.name, self._op_error(host))

    def op_results(self, host: Any) -> list[Any]:
        """OperationMeta of every operation run on ``host``, in order."""
        ops = self.state.ops.get(host, {})
        return [ops[h].operation_meta for h in self.state.get_op_order() if h in ops]

    def _op_error(self, host: Any) -> str:
        for meta in self.op_results(host):
            if meta.is_complete() and meta.did_error():
                # stderr says why; stdout (pull progress, ids) only when it is silent
                lines = meta.stderr_lines or meta.stdout_lines
                return "\n".join(lines[-15:]) or "operation failed"
        return "operation failed"

    def disconnect(self) -> None:
        from pyinfra.api.connect import disconnect_all

        with _quiet(), contextlib.suppress(Exception):
            disconnect_all(self.state)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pyinfra prints progress spinners and log lines; fleetform prints its own."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield
