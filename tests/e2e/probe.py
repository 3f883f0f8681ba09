"""A bounded HTTP probe: requests every few milliseconds to each lab host's proxy port.

It stops by itself after ``seconds`` or ``max_requests`` per host, whichever
comes first, and counts answers by body and failures by host.  Only the lab
hosts' own addresses are probed (from the lab inventory).

    with Probe(addresses, 8080) as probe:
        run_the_scenario()
    assert probe.failed == 0, probe.report()
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from types import TracebackType


class Probe:
    def __init__(
        self,
        addresses: list[str],
        port: int,
        *,
        every: float = 0.02,
        seconds: float = 300,
        max_requests: int = 20_000,
    ) -> None:
        self.urls = [f"http://{a}:{port}/" for a in addresses]
        self.every, self.seconds, self.max_requests = every, seconds, max_requests
        self.bodies: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        #: failed requests that got an HTTP answer, by status (the proxy's 503)
        self.statuses: Counter[int] = Counter()
        self.errors: list[str] = []
        #: per URL, the bodies in the order they came
        self.sequence: dict[str, list[str]] = {u: [] for u in self.urls}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(u,)) for u in self.urls]
        self._lock = threading.Lock()

    def _run(self, url: str) -> None:
        end = time.monotonic() + self.seconds
        for _ in range(self.max_requests):
            if self._stop.is_set() or time.monotonic() > end:
                return
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    body = response.read().decode(errors="replace").strip()
                with self._lock:
                    self.bodies[body] += 1
                    self.sequence[url].append(body)
            except (OSError, urllib.error.URLError) as exc:
                with self._lock:
                    self.failures[url] += 1
                    if isinstance(exc, urllib.error.HTTPError):
                        self.statuses[exc.code] += 1
                    if len(self.errors) < 20:
                        self.errors.append(f"{url}: {exc}")
            time.sleep(self.every)

    @property
    def sent(self) -> int:
        return sum(self.bodies.values()) + self.failed

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def report(self) -> str:
        return (
            f"{self.sent} requests, {self.failed} failed, bodies {dict(self.bodies)}, "
            f"first errors {self.errors[:5]}"
        )

    def __enter__(self) -> Probe:
        for t in self._threads:
            t.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()
