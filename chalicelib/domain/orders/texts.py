"""The words the service loop sends, each in one SMS segment (domain.segments): what a free
part holds (the checklist, a reason, a wish) is cut to fit, never the code or the reply word.

Parameters: community, code, item (the catalogue's name), location (the household's short
place), items (what may be ordered, a word each), bring (the checklist), reason, name (a
member's name), steps (the checklist's length).
"""
from __future__ import annotations

from typing import Any

from ..segments import encoding, segments

ORDER_TEMPLATES: dict[str, dict[str, str]] = {
    # to the resident who ordered (or the household head who ordered for them)
    "order_received": {
        "zh": "【{community}】已收到点单{code}：{item}。请备好：{bring}。查询回复“查询 {code}”",
        "en": "[{community}] Order {code} received: {item}. Please have ready: {bring}. Reply CHECK {code}.",
    },
    "order_refused": {
        "zh": "【{community}】点单{code}（{item}）未能派单：{reason}",
        "en": "[{community}] Order {code} ({item}) was not dispatched: {reason}",
    },
    "order_confirm": {
        "zh": "【{community}】{item}{code}已办完。办好了回复1，没办好回复2",
        "en": "[{community}] {item} {code} is done. Reply 1 if it was, 2 if it was not.",
    },
    "order_confirm_reminder": {
        "zh": "【{community}】{item}{code}已办完，请确认：办好了回复1，没办好回复2。逾期未回复视为办好",
        "en": "[{community}] {item} {code} was done: reply 1 if it was, 2 if not. No answer soon counts as done.",
    },
    # to the committee
    "order_to_dispatch": {
        "zh": "【{community}】新点单{code}：{location}，{item}。回复“派单 {code}”或“拒单 {code} 原因”",
        "en": "[{community}] New order {code}: {location}, {item}. Reply DISPATCH {code} or REJECT {code} REASON.",
    },
    "order_unclaimed": {
        "zh": "【{community}】点单{code}（{location}{item}）无人接单。回复“派单 {code} 手机号”指派",
        "en": "[{community}] Nobody claimed order {code} ({location}, {item}). Reply DISPATCH {code} PHONE.",
    },
    "order_dispatch_overdue": {
        "zh": "【{community}】点单{code}（{location}{item}）超时未派单，请督促两委派单",
        "en": "[{community}] Order {code} ({location}, {item}) is not dispatched in time.",
    },
    "order_disputed": {
        "zh": "【{community}】点单{code}居民反映没办好：{reason}。已退回{name}",
        "en": "[{community}] {code} not done: {reason}. Back to {name}.",
    },
    "order_overdue": {
        "zh": "【{community}】点单{code}（{item}）超时未办完，请督办{name}",
        "en": "[{community}] {code} ({item}) overdue: follow up with {name}.",
    },
    # to the pool (设岗 members of the grid) and the claimant
    "order_pooled": {
        "zh": "【{community}】可接单{code}：{location}，{item}。回复“接单 {code}”，先到先得",
        "en": "[{community}] Order {code} to claim: {location}, {item}. Reply CLAIM {code}; first come.",
    },
    "order_pooled_again": {
        "zh": "【{community}】点单{code}重新可接：{location}，{item}。回复“接单 {code}”",
        "en": "[{community}] Order {code} can be claimed again: {location}, {item}. Reply CLAIM {code}.",
    },
    "order_assigned": {
        "zh": "【{community}】派给您点单{code}：{location}，{item}，共{steps}项。办完回复“完成 {code}”",
        "en": "[{community}] Order {code} is yours: {location}, {item}, {steps} steps. Reply DONE {code}.",
    },
    "order_claim_lapsed": {
        "zh": "【{community}】您接的点单{code}超时未开始，已退回待接",
        "en": "[{community}] Your claim on order {code} was not started in time; it is open again.",
    },
    "order_taken_away": {
        "zh": "【{community}】点单{code}已改派他人，您无需再办",
        "en": "[{community}] Order {code} went to someone else; nothing more to do.",
    },
    "order_not_done": {
        "zh": "【{community}】点单{code}居民反映没办好：{reason}。请办好后回复“完成 {code}”",
        "en": "[{community}] Order {code} not done: {reason}. Reply DONE {code}.",
    },
    "order_cancelled": {
        "zh": "【{community}】点单{code}已撤销，您无需再办",
        "en": "[{community}] Order {code} was called off; nothing more to do.",
    },
    # direct answers to an SMS
    "order_already_claimed": {
        "zh": "点单{code}已被认领，谢谢您！",
        "en": "Order {code} has already been claimed. Thank you!",
    },
    "order_unknown_item": {
        "zh": "【{community}】未识别要点的服务。可回复“点单”加：{items}",
        "en": "[{community}] Which service? Reply ORDER and one of: {items}",
    },
    "order_needs_place": {
        "zh": "【{community}】请注明住址，如“点单 医保 3-2-501”",
        "en": "[{community}] Please say where you live, e.g. ORDER 医保 3-2-501.",
    },
    "orders_limited": {     # once per window, to a phone over its limit of new orders
        "zh": "【{community}】此号码点单过于频繁，本条暂未受理，请明天再点。急事请联系网格员",
        "en": "[{community}] Too many orders from this number: this one was not taken. Please try tomorrow.",
    },
    "order_refused_reply": {
        "zh": "点单{code}：无法办理此操作。",
        "en": "Order {code}: that cannot be done now.",
    },
    "order_not_linked": {
        "zh": "您未联系该户，无法代点。",
        "en": "You are not linked to that household.",
    },
    "order_status": {
        "zh": "【{community}】点单{code}（{item}）：{state}",
        "en": "[{community}] Order {code} ({item}): {state}",
    },
}
STATES: dict[str, dict[str, str]] = {
    "ordered": {"zh": "待支部派单", "en": "waiting for dispatch"},
    "pooled": {"zh": "已派单，待党员接单", "en": "dispatched, waiting for a claim"},
    "claimed": {"zh": "党员已接单", "en": "claimed by a party member"},
    "in_progress": {"zh": "办理中", "en": "in progress"},
    "done": {"zh": "已办完，待您确认", "en": "done, waiting for confirmation"},
    "verified": {"zh": "已办结", "en": "completed"},
    "refused": {"zh": "未派单", "en": "not dispatched"},
    "cancelled": {"zh": "已撤销", "en": "called off"},
}
CUTTABLE = ("bring", "reason", "items", "item", "location")   # cut in this order until the text fits


def render_order(template: str, lang: str, **params: Any) -> str:
    """The template in one segment: a long checklist, reason or name is cut to fit, marked "…"
    in a UCS-2 text and "..." in a GSM-7 one ("…" is not GSM-7: it would make an English text
    UCS-2, 70 characters instead of 160)."""
    texts = ORDER_TEMPLATES[template]
    text_of = texts.get(lang, texts["zh"])
    params = {key: str(value) for key, value in params.items()}
    text = text_of.format(**params)
    for key in CUTTABLE:
        if key not in params:
            continue
        original = params[key]
        keep = len(original)
        while segments(text) > 1 and keep > 1:
            keep -= 1
            params[key] = original[:keep] + "..."
            if encoding(text_of.format(**params)) != "gsm7":
                params[key] = original[:keep] + "…"
            text = text_of.format(**params)
        if segments(text) > 1:
            params[key] = original[:1]
            text = text_of.format(**params)
    return text


def state_of(status: str, lang: str) -> str:
    return STATES.get(status, {}).get(lang, status)
