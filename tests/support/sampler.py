"""The one background sampler of the tests: call a function every `interval` seconds
while a block runs, and keep what it returned.

One thread, at most `limit` samples, so a forgotten sampler cannot run forever.
``with Sampler(count) as s: ...`` then ``s.values`` (and ``s.peak`` for numbers).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Sampler(Generic[T]):
    def __init__(self, read: Callable[[], T | None], interval: float = 0.05, limit: int = 20_000):
        """`read` returns one sample, or None to end the sampling (what it samples is gone)."""
        self.read, self.interval, self.limit = read, interval, limit
        self.values: list[T] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sampler", daemon=True)

    @property
    def peak(self) -> T:
        """The largest sample (fails when none was taken: a sampler that saw nothing)."""
        assert self.values, "the sampler took no sample"
        return max(self.values)

    def _loop(self) -> None:
        while len(self.values) < self.limit and not self._stop.wait(self.interval):
            value = self.read()
            if value is None:
                return
            self.values.append(value)

    def __enter__(self) -> Sampler[T]:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
