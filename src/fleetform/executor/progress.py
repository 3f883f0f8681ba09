"""Progress of a pyinfra run, reported through pyinfra's state callbacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyinfra.api.state import BaseStateCallback


class ProgressCallback(BaseStateCallback):
    """Report each operation as it starts, and each host where it fails."""

    def __init__(self, emit: Callable[[str], None], *, live: bool) -> None:
        self.emit = emit
        self.live = live

    @staticmethod
    def _name(state: Any, op_hash: str) -> str:
        meta = state.op_meta.get(op_hash)
        names = sorted(meta.names) if meta is not None else []
        return names[0] if names else op_hash[:8]

    def operation_start(self, state: Any, op_hash: Any) -> None:  # type: ignore[override]
        self.emit(self._name(state, op_hash) + ("" if self.live else " …"))

    def operation_host_error(  # type: ignore[override]
        self, state: Any, host: Any, op_hash: Any, *args: Any, **kwargs: Any
    ) -> None:
        self.emit(f"[{host.name}] {self._name(state, op_hash)}: FAILED")
