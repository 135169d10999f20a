"""Looking a report up by its code, as a resident does on the status page (GET /r/{code}), or
by its id (Open311's token).

Each look-up counts against its source address's limit first (domain.admission.lookup_quota),
found or not, so that nobody can walk through the codes: over the limit it is RateLimited and
nothing is read. The count is one conditional UpdateItem on the contacts table (Quotas).
"""
from __future__ import annotations

from collections.abc import Callable

from chalicelib.domain.admission import LookupLimits, RateLimited, lookup_quota
from chalicelib.domain.case import Case
from chalicelib.domain.codes import normalize_code

from .ports import CaseRepository, Quotas


class CaseLookups:
    def __init__(self, cases: CaseRepository, quotas: Quotas, limits: LookupLimits,
                 clock: Callable[[], float]):
        self._cases, self._quotas, self._limits, self._clock = cases, quotas, limits, clock

    def find(self, text: str, ip: str | None) -> Case | None:
        """The case whose code `text` is (any case, spaces and dashes ignored), or None.
        RateLimited when `ip` has had its look-ups for this window."""
        self._take(ip)
        code = normalize_code(text or "")
        return self._cases.get(code) if code else None

    def find_by_id(self, case_id: str, ip: str | None) -> Case | None:
        """The case with this id (the 32 hex digits of Case.id; Open311's token), or None,
        counted as `find` counts."""
        self._take(ip)
        text = (case_id or "").strip().lower()
        ok = len(text) == 32 and all(c in "0123456789abcdef" for c in text)
        return self._cases.get_by_id(text) if ok else None

    def _take(self, ip: str | None) -> None:
        now = self._clock()
        quota = lookup_quota(self._limits, now, ip)
        if quota is not None and not self._quotas.take(quota):
            raise RateLimited(quota, now)
