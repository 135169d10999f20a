"""The words gridloop sends. Chinese by default, English for members who chose it.

Each notice should fit one SMS segment (70 characters of Chinese text): a text
costs thousands of times more than the requests behind it.
"""
from __future__ import annotations

from typing import Any

TEMPLATES: dict[str, dict[str, str]] = {
    # to the member who now holds a case
    "assigned": {
        "zh": "【{community}】新事项{code}：{location}，{category}。回复“收到 {code}”接单，办完回复“完成 {code}”",
        "en": "[{community}] New case {code}: {location}, {category}. Reply OK {code} to accept, DONE {code} when done.",
    },
    "escalated_to_you": {
        "zh": "【{community}】事项{code}超时未接，升级由您处理：{location}，{category}。回复“收到 {code}”接单",
        "en": "[{community}] Case {code} was not accepted in time and is now yours: {location}, {category}. Reply OK {code}.",
    },
    "reminder": {
        "zh": "【{community}】提醒：事项{code}仍未接单：{location}，{category}。回复“收到 {code}”接单",
        "en": "[{community}] Reminder: case {code} is still not accepted: {location}, {category}. Reply OK {code}.",
    },
    # the resolve clock (办结): the holder is warned, the level above supervises (督办)
    "resolve_warning": {
        "zh": "【{community}】事项{code}将到办结时限：{location}，{category}。办完请回复“完成 {code}”",
        "en": "[{community}] Case {code} is nearly due: {location}, {category}. Reply DONE {code} when done.",
    },
    "resolve_overdue": {
        "zh": "【{community}】事项{code}已超办结时限，已报上级督办。办完请回复“完成 {code}”",
        "en": "[{community}] Case {code} is overdue and under supervision. Reply DONE {code} when done.",
    },
    "supervise_yellow": {
        "zh": "【{community}】黄牌督办：{holder}办理的事项{code}将到办结时限。",
        "en": "[{community}] Yellow card: {holder}'s case {code} is nearly due.",
    },
    "supervise_red": {
        "zh": "红牌督办：{holder}办理的事项{code}已超时未办结。回复“收到 {code}”可接手",
        "en": "Red card: case {code} ({holder}) is overdue. Reply OK {code} to take over.",
    },
    # to the member a case was taken from
    "escalated_away": {
        "zh": "【{community}】事项{code}超时未接，已升级至{role}。",
        "en": "[{community}] Case {code} was not accepted in time and has gone up to the {role}.",
    },
    "taken_over": {
        "zh": "【{community}】事项{code}已由{by}接手。",
        "en": "[{community}] Case {code} has been taken over by {by}.",
    },
    # confirmations to the member who replied
    "acknowledged": {
        "zh": "已接单{code}。办完请回复“完成 {code}”",
        "en": "Accepted {code}. Reply DONE {code} when it is done.",
    },
    "resolved": {
        "zh": "事项{code}已办结，谢谢！",
        "en": "Case {code} is resolved. Thank you!",
    },
    # refusals: the case is unchanged
    "refused_not_on_chain": {
        "zh": "抱歉，您不是事项{code}的当前负责人，无法操作。",
        "en": "Sorry, you are not responsible for case {code} and cannot act on it.",
    },
    "refused_closed": {
        "zh": "事项{code}已结束，无需操作。",
        "en": "Case {code} is already closed.",
    },
    "unknown_case": {
        "zh": "未找到事项{code}，请核对编号。",
        "en": "No case {code} was found. Please check the code.",
    },
    "unknown_sender": {
        "zh": "抱歉，此号码未登记为网格成员，无法办理事项。",
        "en": "Sorry, this number is not registered as a grid member.",
    },
    "help": {
        "zh": "未识别的回复。接单回复“收到 编号”，办完回复“完成 编号”。",
        "en": "Not understood. Reply OK CODE to accept a case, DONE CODE when it is done.",
    },
}


def render(template: str, lang: str, **params: Any) -> str:
    texts = TEMPLATES[template]
    return texts.get(lang, texts["zh"]).format(**params)
