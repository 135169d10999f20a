"""The party members' service catalogue: what residents may order (群众点单) from a community's
party branch, which dispatches it (支部下单) to a member who claims it (党员接单).

One versioned file per community, `chalicelib/data/services/<community>.json`, next to its
policy, read by `ServiceCatalogue.from_dict`. Each item says what it is (its name in zh and
en, and its kind), who may order it, which post (设岗) a member must hold to claim it, its
checklist (the documents and steps), how long a claim may wait and how long the work may take
(in working time where it says so, as the policy's limits), and the points it earns in the
points bank (积分银行). Its `shop` section is the points shop (积分超市): what residents and
members may take for their points, and for how many (services.points; the stock is kept in
the points table, not here). A wrong file is refused whole, and the error names the item.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .policy import PolicyError, parse_limit

KINDS = ("proxy_service", "care_visit", "help_at_home", "micro_wish")   # 代办, 关爱走访, 上门帮扶, 微心愿
ORDERERS = ("resident", "household_head", "committee")                  # 群众, 连心户户长, 两委 after a visit
MAX_CHECKLIST = 12
MAX_POINTS = 1000
SHOP_CODE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")     # a shop item's code: the points table's stock key
_ITEM_KEYS = {"name", "kind", "ordered_by", "post", "checklist", "claim_within", "complete_within", "points",
              "on_time_bonus", "keywords", "max_value_yuan", "note"}
_FILE_KEYS = {"community", "version", "description", "items", "shop"}
_SHOP_KEYS = {"name", "points", "note"}


class CatalogueError(ValueError):
    """The catalogue is not valid; the message names the item and the field at fault."""


@dataclass(frozen=True)
class Limit:
    seconds: int
    working: bool        # counts only the community's working time (its calendar)


@dataclass(frozen=True)
class CatalogueItem:
    code: str
    name: Mapping[str, str]
    kind: str
    ordered_by: tuple[str, ...]
    post: str
    checklist: tuple[Mapping[str, str], ...]
    claim_within: Limit
    complete_within: Limit
    points: int
    on_time_bonus: int = 0
    keywords: tuple[str, ...] = ()
    max_value_yuan: int | None = None     # a micro-wish's value, at most


@dataclass(frozen=True)
class ShopItem:
    """One thing the points shop (积分超市) gives for points: a bag of washing powder, a towel."""
    code: str
    name: Mapping[str, str]
    points: int              # what it costs, always positive
    note: str | None = None


@dataclass(frozen=True)
class ServiceCatalogue:
    community: str
    version: str
    items: Mapping[str, CatalogueItem]
    shop: Mapping[str, ShopItem] = field(default_factory=dict)

    def orderable_by(self, who: str) -> list[CatalogueItem]:
        return [item for item in self.items.values() if who in item.ordered_by]

    def item_for(self, text: str) -> CatalogueItem | None:
        """The item a resident's words name: its code, its name, or one of its keywords."""
        words = (text or "").strip()
        for item in self.items.values():
            if words == item.code or words in item.name.values():
                return item
        return next((item for item in self.items.values() if any(k in words for k in item.keywords)), None)

    @classmethod
    def from_dict(cls, data: Any, working_day_seconds: float = 8 * 3600) -> ServiceCatalogue:
        if not isinstance(data, Mapping):
            raise CatalogueError("a service catalogue is a JSON object")
        unknown = sorted(set(data) - _FILE_KEYS)
        if unknown:
            raise CatalogueError(f"the catalogue: unknown key(s) {', '.join(map(repr, unknown))}")
        for key in ("community", "version", "items"):
            if not data.get(key):
                raise CatalogueError(f"the catalogue has no {key!r}")
        if not isinstance(data["items"], Mapping):
            raise CatalogueError("'items' names each item: {\"medical_insurance_payment\": {...}}")
        items = {str(code): _item(str(code), spec, working_day_seconds) for code, spec in data["items"].items()}
        shop = data.get("shop", {})
        if not isinstance(shop, Mapping):
            raise CatalogueError("'shop' names each shop item: {\"rice\": {\"name\": {...}, \"points\": 60}}")
        return cls(str(data["community"]), str(data["version"]), items,
                   {str(code): _shop_item(str(code), spec) for code, spec in shop.items()})


def _shop_item(code: str, spec: Any) -> ShopItem:
    where = f"shop item {code}"
    if not SHOP_CODE.match(code):
        raise CatalogueError(f"{where}: a shop item's code is lower-case letters, digits and _ (at most 48)")
    if not isinstance(spec, Mapping):
        raise CatalogueError(f"{where}: must be an object")
    unknown = sorted(set(spec) - _SHOP_KEYS)
    if unknown:
        raise CatalogueError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
    name = spec.get("name")
    if not isinstance(name, Mapping) or not all(isinstance(name.get(lang), str) and name[lang].strip()
                                                for lang in ("zh", "en")):
        raise CatalogueError(f"{where}: name needs zh and en")
    points = spec.get("points")
    if not isinstance(points, int) or isinstance(points, bool) or not 1 <= points <= MAX_POINTS:
        raise CatalogueError(f"{where}: points is what it costs, a whole number of points, 1 to {MAX_POINTS}")
    note = spec.get("note")
    if note is not None and not (isinstance(note, str) and note.strip()):
        raise CatalogueError(f"{where}: note is a line of text")
    return ShopItem(code, dict(name), points, note.strip() if note else None)


def _item(code: str, spec: Any, working_day_seconds: float) -> CatalogueItem:
    where = f"item {code}"
    if not isinstance(spec, Mapping):
        raise CatalogueError(f"{where}: must be an object")
    unknown = sorted(set(spec) - _ITEM_KEYS)
    if unknown:
        raise CatalogueError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
    name = spec.get("name")
    if not isinstance(name, Mapping) or not all(isinstance(name.get(lang), str) and name[lang].strip()
                                                for lang in ("zh", "en")):
        raise CatalogueError(f"{where}: name needs zh and en")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise CatalogueError(f"{where}: kind is one of {', '.join(KINDS)}, not {kind!r}")
    ordered_by = spec.get("ordered_by")
    if not isinstance(ordered_by, list) or not ordered_by or any(o not in ORDERERS for o in ordered_by):
        raise CatalogueError(f"{where}: ordered_by lists who may order it, of {', '.join(ORDERERS)}")
    post = spec.get("post")
    if not isinstance(post, str) or not post.strip():
        raise CatalogueError(f"{where}: post names the 设岗 a member must hold to claim it")
    checklist = spec.get("checklist")
    if (not isinstance(checklist, list) or not 1 <= len(checklist) <= MAX_CHECKLIST
            or not all(isinstance(step, Mapping) and isinstance(step.get("zh"), str) and isinstance(step.get("en"), str)
                       for step in checklist)):
        raise CatalogueError(f"{where}: checklist is 1 to {MAX_CHECKLIST} steps, each with zh and en")
    limits = {}
    for key in ("claim_within", "complete_within"):
        try:
            limits[key] = Limit(*parse_limit(spec.get(key), working_day_seconds))
        except PolicyError as error:
            raise CatalogueError(f"{where}: {key}: {error}") from None
    points, bonus = spec.get("points"), spec.get("on_time_bonus", 0)
    for key, value in (("points", points), ("on_time_bonus", bonus)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_POINTS:
            raise CatalogueError(f"{where}: {key} is a whole number of points, 0 to {MAX_POINTS}")
    keywords = spec.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k.strip() for k in keywords):
        raise CatalogueError(f"{where}: keywords are words a resident's SMS may say")
    value = spec.get("max_value_yuan")
    if value is not None and (kind != "micro_wish" or not isinstance(value, int) or isinstance(value, bool)
                              or value <= 0):
        raise CatalogueError(f"{where}: max_value_yuan is a positive whole number of yuan, for a micro_wish only")
    return CatalogueItem(code, dict(name), kind, tuple(ordered_by), post.strip(),
                         tuple(dict(step) for step in checklist), limits["claim_within"],
                         limits["complete_within"], points, bonus, tuple(keywords), value)
