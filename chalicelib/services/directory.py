"""The grid directory as the handlers see it: loaded once, kept between invocations."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from chalicelib.domain.directory import Directory

from .ports import DirectoryStore


class DirectoryCache:
    """A warm Lambda container reuses the directory for `ttl` seconds, so routing a
    report costs no directory request; edits reach every container within `ttl`."""

    def __init__(self, store: DirectoryStore, ttl: float = 300.0,
                 clock: Callable[[], float] = time.monotonic):
        self._store, self._ttl, self._clock = store, ttl, clock
        self._directory: Directory | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> Directory:
        with self._lock:
            if self._directory is None or self._clock() - self._loaded_at >= self._ttl:
                self._directory = self._store.load()
                self._loaded_at = self._clock()
            return self._directory

    def invalidate(self) -> None:
        with self._lock:
            self._directory = None
