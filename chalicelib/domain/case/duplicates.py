"""One problem reported many times: the residents who follow a case, and duplicates merged.

A case's reporter is one resident; others who report the same problem follow it as its
co-reporters (`co_reporters`, "followers" to the residents and in the contract): by "me too"
on the report page, when the case worker folds their report into it (domain.duplicates), or
when a member (`合并 CODE 原CODE`) or the office merges their report into it. Each is one
entry: their phone (None: they gave none, and still count as affected), the language they are
answered in, how they came (via) and, for a merged report, its code (from). The case counts
them (`affected`), and each with a phone is sent its resolved notice with the call-back (one
each, per resolution) and may answer it (`feedback(..., who=...)`): a "2" from any of them
reopens the case.

The merged report itself ends as a duplicate: every clock stops, its unsent notices are
dropped, whoever was told to act on it is told it joined another case, and `duplicate_of`
points to the case it joined, which its reporter follows from then on.

Both sides are idempotent, so the services can save them in one write and a redelivered merge
changes nothing: `absorb` knows the codes it took in, `mark_duplicate` where it went.
"""
from __future__ import annotations

from typing import Any

from .model import REPORTER, Status, TransitionRefused, co_reporter_address

VIA = ("me_too", "folded", "merged")


class DuplicatesMixin:
    """Followers and merged duplicates on Case (aggregate.py)."""

    # -- queries -------------------------------------------------------------------------
    @property
    def affected(self) -> int:
        """How many residents reported this problem: the reporter and every follower."""
        return 1 + len(self.co_reporters)

    def resident_address(self, phone: str | None) -> str | None:
        """The notice address of the resident with this phone on the case: REPORTER, a
        follower's "@reporter:<n>", or None."""
        if not phone:
            return None
        if phone == self.reporter_phone:
            return REPORTER
        for number, entry in enumerate(self.co_reporters, start=1):
            if entry.get("phone") == phone:
                return co_reporter_address(number)
        return None

    def resident_contact(self, address: str) -> tuple[str | None, str]:
        """(phone, language) of a resident's notice address."""
        if address == REPORTER:
            return self.reporter_phone, self.reporter_lang
        entry = self._co_reporter(address)
        return (entry.get("phone"), entry.get("lang") or "zh") if entry else (None, "zh")

    def awaits_feedback_from(self, address: str) -> bool:
        if address == REPORTER:
            return bool(self.awaiting_feedback)
        entry = self._co_reporter(address)
        return bool(entry and entry.get("awaiting"))

    @property
    def merged_codes(self) -> list[str]:
        """The codes of the reports merged into this case, in the order they joined."""
        return [e.detail for e in self.history if e.event == "merged_in" and e.detail]

    # -- me too ---------------------------------------------------------------------------
    def follow(self, now: float, phone: str | None = None, lang: str = "zh", key: str | None = None) -> bool:
        """"Me too": a resident who has the same problem follows this open case. False when
        they follow it already (the same key again: a refresh; or the same phone)."""
        if key and any(entry.get("key") == key for entry in self.co_reporters):
            return False
        if phone and self.resident_address(phone) is not None:
            return False
        if not self.is_open:
            raise TransitionRefused(f"not_followable_{self.status.value}")
        self._add_co_reporter({"phone": phone or None, "lang": lang, "via": "me_too", "key": key}, now)
        return True

    # -- merged duplicates -------------------------------------------------------------------
    def absorb(self, duplicate: Any, now: float, actor: str | None, via: str = "merged",
               tell_holder: bool = False) -> bool:
        """Take in the residents of `duplicate` (its reporter and its followers), who follow
        this case from now on. `tell_holder`: the holder is told another report came in (an
        urgent case is never folded silently). False when it was taken in before."""
        if duplicate.code in self.merged_codes:
            return False
        if duplicate.code == self.code:
            raise TransitionRefused("merge_same_case")
        if duplicate.community_id != self.community_id:
            raise TransitionRefused("merge_other_community")
        if not self.is_open:
            raise TransitionRefused(f"not_mergeable_into_{self.status.value}")
        residents = [{"phone": duplicate.reporter_phone, "lang": duplicate.reporter_lang}]
        residents += [{"phone": e.get("phone"), "lang": e.get("lang") or "zh"} for e in duplicate.co_reporters]
        for resident in residents:
            if resident["phone"] and self.resident_address(resident["phone"]) is not None:
                continue           # the same resident twice is one resident
            self._add_co_reporter({**resident, "via": via, "from": duplicate.code}, now, record=False)
        self._record(now, "merged_in", level=self.level or None, actor=actor, detail=duplicate.code)
        if tell_holder and self.holder:
            self._notify(self.holder, "duplicate_reported", duplicate=duplicate.code, affected=self.affected)
        return True

    def mark_duplicate(self, into: str, now: float, actor: str | None, detail: str | None = None) -> bool:
        """End this case as a duplicate of `into` (`detail`: what the history says, else the
        code). False when it was merged there before."""
        if self.status is Status.DUPLICATE:
            if self.duplicate_of == into:
                return False
            raise TransitionRefused("already_merged")
        if into == self.code:
            raise TransitionRefused("merge_same_case")
        if not self.is_open:
            raise TransitionRefused(f"not_mergeable_{self.status.value}")
        self.duplicate_of = into
        self._call_off(Status.DUPLICATE, now, "merged", actor or "system", detail or into, "case_merged", into=into)
        return True

    # -- the parts ------------------------------------------------------------------------------
    def _add_co_reporter(self, entry: dict[str, Any], now: float, record: bool = True) -> None:
        self.co_reporters.append({**{k: v for k, v in entry.items() if v is not None}, "at": now})
        if record:
            self._record(now, "followed", level=self.level or None,
                         actor=co_reporter_address(len(self.co_reporters)), detail=entry.get("via"))

    def _co_reporter(self, address: str) -> dict[str, Any] | None:
        prefix = REPORTER + ":"
        if not address.startswith(prefix) or not address[len(prefix):].isdigit():
            return None
        number = int(address[len(prefix):])
        return self.co_reporters[number - 1] if 1 <= number <= len(self.co_reporters) else None

    def _ask_followers(self) -> None:
        """The resolved notice with the call-back, to every follower with a phone."""
        for number, entry in enumerate(self.co_reporters, start=1):
            entry["awaiting"] = bool(entry.get("phone"))
            if entry["awaiting"]:
                self._notify(co_reporter_address(number), "reporter_resolved")

    def _stop_awaiting(self) -> None:
        self.awaiting_feedback = False
        for entry in self.co_reporters:
            entry.pop("awaiting", None)

    def _anyone_awaiting(self) -> bool:
        return bool(self.awaiting_feedback) or any(e.get("awaiting") for e in self.co_reporters)

    def _set_awaiting(self, address: str, value: bool) -> None:
        if address == REPORTER:
            self.awaiting_feedback = value
            return
        entry = self._co_reporter(address)
        if entry is not None:
            if value:
                entry["awaiting"] = True
            else:
                entry.pop("awaiting", None)
