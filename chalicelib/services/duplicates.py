"""One problem reported many times (domain.duplicates, domain.case.duplicates):

- `already_reported`: the open cases of a category at a place, which the report page shows
  before a resident sends theirs;
- `me_too`: the resident follows one of them instead (no new case);
- `fold`: the case worker joins a new report to the open case it duplicates, when the
  community's policy says so for its category (an urgent one's holder is told);
- `merge`: a member (`合并 CODE 原CODE`) or the office joins one case to another.

A merge changes two cases; both are saved in one atomic write (CaseRepository.save_all), so a
crash leaves either both or neither changed, and both sides are idempotent, so a redelivered
merge changes nothing.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from chalicelib.domain import duplicates
from chalicelib.domain.case import Case, Status, TransitionRefused
from chalicelib.domain.directory import Directory
from chalicelib.domain.duplicates import OpenReport
from chalicelib.domain.policy import EscalationPolicy, Policies

from .notices import NoticeDelivery
from .ports import CaseRepository, ConcurrentUpdate, FollowedCases

log = logging.getLogger(__name__)

MAX_RETRIES = 5
SHOWN = 5                       # "already reported?" shows at most this many cases
SHOWN_WITHIN = 30 * 86400       # ... reported within this long


class Duplicates:
    def __init__(self, cases: CaseRepository, notices: NoticeDelivery, directory: Callable[[], Directory],
                 policies: Policies | EscalationPolicy, clock: Callable[[], float],
                 change: Callable[[Case, Callable[[Case], bool]], Case], follows: FollowedCases | None = None):
        self._cases, self._notices, self._directory = cases, notices, directory
        self._policies, self._clock, self._follows = policies, clock, follows
        self._change = change       # the workflow's conditional change (services.workflow)

    # -- where ----------------------------------------------------------------------------
    def place_key(self, community_id: str, location: str, category: str) -> str | None:
        """The by-place key of a report at `location` (a location code); None for a place
        the directory does not know (an SMS report waiting for triage)."""
        return duplicates.place_key_at(self._directory().communities.get(community_id), location, category)

    def _rule(self, community_id: str, category: str) -> duplicates.DuplicateRule:
        rules = getattr(self._policies, "duplicate_rule", None)     # a single EscalationPolicy: none
        return rules(community_id, category) if rules else duplicates.NEVER

    def _building_of(self, community_id: str) -> dict[str, str]:
        community = self._directory().communities.get(community_id)
        return {code: loc.building_id for code, loc in community.locations.items()} if community else {}

    # -- the report page ------------------------------------------------------------------------
    def already_reported(self, community_id: str, location: str, category: str) -> list[OpenReport]:
        """The open cases of `category` in the building of `location`, those at the very place
        first, then the oldest first: at most SHOWN, reported within SHOWN_WITHIN. None for a
        category the policy never folds: a neighbour's paperwork or dispute is theirs alone,
        and not for another resident to see or join."""
        key = self.place_key(community_id, location, category)
        if key is None or not self._rule(community_id, category).fold:
            return []
        found = self._cases.open_at_place(key, self._clock() - SHOWN_WITHIN, limit=50)
        found.sort(key=lambda r: (r.location != location, r.created_at, r.code))
        return found[:SHOWN]

    def me_too(self, code: str, phone: str | None, lang: str, key: str | None) -> Case:
        """The resident follows the open case `code`: its resolved notice and call-back come
        to `phone` too. The same key (or phone) again changes nothing. TransitionRefused
        (not_followable_*) for a case that is no longer open; LookupError for no case."""
        case = self._cases.get(code)
        if case is None:
            raise LookupError(code)
        if phone and self._follows is not None:
            # First, so that a crash before the case's write leaves a harmless extra code
            # (the phone is not on the case), never a follower whose answer finds nothing.
            self._follows.follow(phone, case.code, self._clock())
        return self._change(case, lambda current: current.follow(self._clock(), phone, lang, key))

    # -- the case worker --------------------------------------------------------------------
    def fold(self, case: Case) -> Case | None:
        """Join a received report to the open case it duplicates under its community's rule,
        if there is one; returns the case it joined (None: it is its own case)."""
        rule = self._rule(case.community_id, case.category)
        if not rule.fold or case.status is not Status.RECEIVED:
            return None
        key = case.place_key or self.place_key(case.community_id, case.location, case.category)
        if key is None:
            return None
        candidates = self._cases.open_at_place(key, case.created_at - rule.within_seconds)
        original = duplicates.original_for(case.code, case.location, case.created_at, rule, candidates,
                                           self._building_of(case.community_id))
        if original is None:
            return None
        try:
            joined, _ = self.merge(case, original, actor=None, via="folded")
        except TransitionRefused as refused:     # it closed meanwhile: the report is its own case
            log.info("%s not folded into %s: %s", case.code, original, refused.reason)
            return None
        return joined

    # -- 合并 ---------------------------------------------------------------------------------
    def merge(self, duplicate: Case, into: str, actor: str | None, via: str = "merged",
              check: Callable[[Case, Case], None] | None = None, detail: str | None = None) -> tuple[Case, Case]:
        """Join `duplicate` to the case `into`: its residents follow that one, and it ends as a
        duplicate pointing there. `check(duplicate, original)` may refuse (TransitionRefused)
        before anything changes. Returns (original, duplicate) as saved; a merge done before
        changes nothing. TransitionRefused: merge_unknown_case, merge_same_case, ..."""
        for _ in range(MAX_RETRIES):
            original = self._cases.get(into)
            if original is None:
                raise TransitionRefused("merge_unknown_case")
            if original.status is Status.DUPLICATE and original.duplicate_of:
                raise TransitionRefused("merge_into_duplicate")
            if via == "folded" and duplicate.status not in (Status.RECEIVED, Status.DUPLICATE):
                raise TransitionRefused("already_routed")     # routed meanwhile: its own case
            if check is not None:
                check(duplicate, original)
            now = self._clock()
            urgent = any(getattr(self._policies.for_case(c.community_id, c.category, c.priority), "urgent", False)
                         for c in (original, duplicate))
            absorbed = original.absorb(duplicate, now, actor, via=via, tell_holder=urgent)
            ended = duplicate.mark_duplicate(original.code, now, actor, detail)
            if via == "folded" and ended:
                duplicate.give_code()    # an SMS reporter still learns the code of what they sent
            changed = [c for c, did in ((original, absorbed), (duplicate, ended)) if did]
            if not changed:
                # Done before (a redelivery): what that merge left unsent goes now, once nobody
                # else is sending it (the workflow's change waits for that).
                return tuple(self._notices.deliver(self._change(c, lambda _: False)) for c in (original, duplicate))
            try:
                self._notices.save_all(changed)
            except ConcurrentUpdate:
                duplicate = self._cases.get(duplicate.code) or duplicate
                continue
            return self._notices.deliver(original), self._notices.deliver(duplicate)
        raise ConcurrentUpdate(f"{duplicate.code},{into}")


def followed_case(cases: CaseRepository, case: Case, hops: int = 3) -> Case:
    """The case a duplicate was merged into (and so on, a few hops); the case itself otherwise."""
    for _ in range(hops):
        if case.status is not Status.DUPLICATE or not case.duplicate_of:
            return case
        found = cases.get(case.duplicate_of)
        if found is None:
            return case
        case = found
    return case


