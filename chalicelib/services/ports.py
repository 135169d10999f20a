"""What the services need from the outside world. Adapters implement these for AWS;
tests use the in-memory fakes in tests/fakes.py."""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Protocol

from chalicelib.domain.case import Case
from chalicelib.domain.directory import Directory


class CodeTaken(Exception):
    """Another record already has this code."""


class ConcurrentUpdate(Exception):
    """The case changed since it was read; read it again and redo the change."""


class CaseRepository(Protocol):
    def add(self, case: Case) -> None:
        """Store a new case; CodeTaken when its code is in use."""

    def get(self, code: str) -> Case | None: ...

    def get_by_id(self, case_id: str) -> Case | None: ...

    def save(self, case: Case) -> None:
        """Store a changed case if nobody else changed it since it was read
        (ConcurrentUpdate otherwise), and bump its version."""

    def due(self, now: float) -> Iterator[tuple[str, float]]:
        """(code, due_at) of every open case whose acknowledge deadline has passed."""


class DirectoryStore(Protocol):
    def load(self) -> Directory: ...

    def put_community(self, community: Any) -> None: ...


class MessageQueue(Protocol):
    def send(self, body: dict[str, Any], attributes: dict[str, str] | None = None) -> None: ...

    def send_batch(self, bodies: Iterable[dict[str, Any]]) -> None: ...


class DeadLetters(Protocol):
    def put(self, body: str, reason: str, source: str) -> None:
        """Keep a message that cannot be processed, with why."""


class SmsSender(Protocol):
    def send(self, phone: str, text: str, case_id: str | None = None) -> str | None:
        """Send one SMS; returns the provider's message id."""


class Clock(Protocol):
    def __call__(self) -> float: ...
