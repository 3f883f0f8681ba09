"""Progress of a pyinfra run, reported through pyinfra's state callbacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyinfra.api.state import BaseStateCallback


class ProgressCallback(BaseStateCallback):
    """Report each operation as it starts (live) or as it ends per host (log)."""

    def __init__(self, emit: Callable[[str], None], *, live: bool) -> None:
        self.emit = emit
        self.live = live

    @staticmethod
    def _name(state: Any, op_hash: str) -> str:
        meta = state.op_meta.get(op_hash)
        names = sorted(meta.names) if meta is not None else []
        return names[0] if names else op_hash[:8]

    def operation_start(self, state: Any, op_hash: str) -> None:
        if self.live:
            self.emit(self._name(state, op_hash))

    def operation_host_success(
        self, state: Any, host: Any, op_hash: str, retry_count: int = 0
    ) -> None:
        if not self.live:
            meta = state.ops[host][op_hash].operation_meta
            mark = "changed" if meta.did_change() else "ok"
            self.emit(f"[{host.name}] {self._name(state, op_hash)}: {mark}")

    def operation_host_error(self, state: Any, host: Any, op_hash: str, *args: Any) -> None:
        self.emit(f"[{host.name}] {self._name(state, op_hash)}: FAILED")
