"""The words gridloop sends. Chinese by default, English for members who chose it.

Each notice should fit one SMS segment (70 characters of Chinese text): a text
costs thousands of times more than the requests behind it.
"""
from __future__ import annotations

from typing import Any

TEMPLATES: dict[str, dict[str, str]] = {
    # to the member who now holds a case
    "assigned": {
        "zh": "【{community}】新事项{code}：{location}，{category}。回复1或“收到 {code}”接单，办完回复2",
        "en": "[{community}] New case {code}: {location}, {category}. Reply 1 or OK {code} to accept, 2 when done.",
    },
    "escalated_to_you": {
        "zh": "【{community}】事项{code}超时未接，升级由您处理：{location}，{category}。回复“收到 {code}”接单",
        "en": "[{community}] Case {code} was not accepted in time and is now yours: {location}, {category}. "
              "Reply OK {code}.",
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
    # 跟办: told with the holder, may resolve it too
    "follow": {
        "zh": "【{community}】请跟办事项{code}：{location}，{category}。办完可回复“完成 {code}”",
        "en": "[{community}] Please follow case {code}: {location}, {category}. Reply DONE {code} when it is done.",
    },
    # urgent: the levels above are told at once
    "urgent_together": {
        "zh": "【{community}】紧急事项{code}：{location}，{category}。回复“收到 {code}”可接手",
        "en": "[{community}] URGENT case {code}: {location}, {category}. Reply OK {code} to take over.",
    },
    # to the resident who reported (at the phone they gave): the code, then the call-back
    "reporter_received": {
        "zh": "【{community}】已收到您反映的{category}，编号{code}。查进度回复“查询 {code}”",
        "en": "[{community}] We have your report ({category}), code {code}. Reply CHECK {code} for its status.",
    },
    "reporter_resolved": {
        "zh": "【{community}】您反映的事项{code}已办结。满意回复1，不满意回复2",
        "en": "[{community}] Your report {code} is resolved. Reply 1 if satisfied, 2 if not.",
    },
    "reopened_to_you": {
        "zh": "【{community}】居民对{code}不满意，交您重办：{location}，{category}。回复“收到 {code}”接单",
        "en": "[{community}] The resident is not satisfied with {code}; it is yours: {location}, {category}. "
              "Reply OK {code}.",
    },
    # 转办
    "transferred_to_you": {
        "zh": "【{community}】事项{code}转办给您：{location}，{category}。回复“收到 {code}”接单",
        "en": "[{community}] Case {code} was passed to you: {location}, {category}. Reply OK {code} to accept.",
    },
    "transferred_away": {
        "zh": "事项{code}已转办给{to}，无需再办理。",
        "en": "Case {code} has been passed to {to}; nothing more for you to do.",
    },
    # 延期: the holder asks, the level above decides
    "extension_requested": {
        "zh": "【{community}】事项{code}申请延期{days}天：{category}。回复“同意 {code}”或“不同意 {code}”",
        "en": "[{community}] Case {code} ({category}) asks {days} more days. Reply APPROVE {code} or REFUSE {code}.",
    },
    "extension_submitted": {
        "zh": "事项{code}延期{days}天的申请已报上级审批。",
        "en": "Your request for {days} more days on case {code} has gone to the level above.",
    },
    "extension_approved": {
        "zh": "事项{code}延期{days}天已获同意。办完请回复“完成 {code}”",
        "en": "{days} more days on case {code} approved. Reply DONE {code} when done.",
    },
    "extension_refused": {
        "zh": "事项{code}延期申请未获同意，请按原时限办结。",
        "en": "The extension of case {code} was refused; the limit stands.",
    },
    # 挂起 / 恢复
    "suspended": {
        "zh": "事项{code}已挂起，计时暂停，恢复后将通知您。",
        "en": "Case {code} is suspended; its clock is stopped until it resumes.",
    },
    "resumed": {
        "zh": "事项{code}已恢复办理，计时继续。办完请回复“完成 {code}”",
        "en": "Case {code} has resumed; its clock runs again. Reply DONE {code} when done.",
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
    "resolved": {
        "zh": "事项{code}已由跟办人办结，您无需再办理。",
        "en": "Case {code} was resolved by the member following it; nothing more to do.",
    },
    # 取消: a junk report called off; to everyone told to act on it (case._told_to_act)
    "case_cancelled": {
        "zh": "【{community}】事项{code}已撤销，无需再办理。",
        "en": "[{community}] Case {code} was cancelled; nothing more to do.",
    },
    # closed by the community office (the ops function); to the same people as 取消
    "case_closed": {
        "zh": "【{community}】事项{code}已由社区结案，无需再办理。",
        "en": "[{community}] Case {code} was closed by the community office; nothing more to do.",
    },
    # 合并: a duplicate joined another case; to everyone told to act on it (case._told_to_act)
    "case_merged": {
        "zh": "【{community}】事项{code}已并入同一问题{into}，无需再办理。",
        "en": "[{community}] Case {code} was merged into {into}, the same problem; nothing more to do.",
    },
    # an urgent case is never folded silently: its holder hears of every further report
    "duplicate_reported": {
        "zh": "【{community}】紧急事项{code}又有居民报告({duplicate})，共{affected}户",
        "en": "[{community}] Urgent {code} reported again ({duplicate}): {affected} households.",
    },
    # refusals: the case is unchanged
    "refused_not_on_chain": {
        "zh": "抱歉，您不是事项{code}的当前负责人，无法操作。",
        "en": "Sorry, you are not responsible for case {code} and cannot act on it.",
    },
    "refused_not_allowed": {
        "zh": "抱歉，您无权对事项{code}执行此操作。",
        "en": "Sorry, you may not do that to case {code}.",
    },
    "refused_suspended": {
        "zh": "事项{code}已挂起，恢复后再办理。",
        "en": "Case {code} is suspended; act on it when it resumes.",
    },
    "refused_extension": {
        "zh": "事项{code}无法延期：接单后方可申请，天数1至30，且上次申请已审批。",
        "en": "Case {code} cannot be extended now: accept it first, ask 1-30 days, one request at a time.",
    },
    "refused_no_extension": {
        "zh": "事项{code}没有待审批的延期申请。",
        "en": "Case {code} has no extension request waiting.",
    },
    "refused_transfer": {
        "zh": "无法转办事项{code}：对方号码须为本社区在岗成员。",
        "en": "Case {code} cannot be passed on: the number must be an available member of this community.",
    },
    "refused_closed": {
        "zh": "事项{code}已结束，无需操作。",
        "en": "Case {code} is already closed.",
    },
    "refused_cancel_reason": {
        "zh": "撤销须写明原因，请回复“取消 {code} 原因”，如“取消 {code} 重复报事”",
        "en": "Say why to cancel: reply CANCEL {code} REASON, e.g. CANCEL {code} duplicate.",
    },
    "refused_merge": {
        "zh": "无法合并{code}：两件须是本社区未办结的不同事项，且其一由您负责。回复“合并 重复编号 原编号”",
        "en": "Cannot merge {code}: both must be open cases of this community, one of them yours. "
              "Reply MERGE DUPLICATE-CODE INTO-CODE.",
    },
    "refused_not_cancellable": {
        "zh": "事项{code}已办结或已结案，不能撤销。",
        "en": "Case {code} is already resolved or closed and cannot be cancelled.",
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
        "zh": "未识别。可回复：收到/完成 编号；延期 编号 天数 原因；转办 编号 手机号 原因",
        "en": "Not understood. Reply OK CODE, DONE CODE, EXTEND CODE DAYS REASON or TRANSFER CODE PHONE REASON.",
    },
    # -- SMS both ways (services.workflow): members' replies without a code, triage, 查询, 退订 --
    # {codes} is a list the workflow fits into one segment ("ABC234、DEF567"); {text} a
    # snippet of a resident's SMS (domain.sms_intake.SNIPPET); {phone} a resident's phone.
    "open_cases": {      # 帮助 / HELP, or a reply without a code when several cases are open
        "zh": "您的待办：{codes}。回复“收到 编号”接单，“完成 编号”办结",
        "en": "Your open cases: {codes}. Reply OK CODE to accept, DONE CODE when done.",
    },
    "no_open_cases": {
        "zh": "您目前没有待办事项。",
        "en": "You have no open cases.",
    },
    # to the member on triage duty (分诊): an SMS report whose place is not known
    "triage_request": {
        "zh": "短信报事{code}，{phone}：{text}。请回复“位置 {code} 楼号-单元”",
        "en": "SMS report {code} from {phone}: {text} Reply PLACE {code} 3-2",
    },
    "triage_reminder": {
        "zh": "【{community}】提醒：短信报事{code}尚无位置。请回复“位置 {code} 楼号-单元”",
        "en": "[{community}] Reminder: SMS report {code} has no place yet. Reply PLACE {code} 3-2.",
    },
    "needs_place": {
        "zh": "事项{code}还没有位置，请先回复“位置 {code} 楼号-单元”",
        "en": "Case {code} has no place yet. Reply PLACE {code} BUILDING-UNIT first.",
    },
    "unknown_place": {
        "zh": "未识别位置。请回复“位置 {code} 3-2”（3号楼2单元）",
        "en": "Place not recognised. Reply PLACE {code} 3-2 (building 3, unit 2).",
    },
    "already_placed": {
        "zh": "事项{code}已有位置，无需设置。",
        "en": "Case {code} already has a place.",
    },
    # 查询 CODE: the public view's level of detail, no names or phones
    "status_received": {
        "zh": "【{community}】事项{code}（{category}）已受理，正在派单。",
        "en": "[{community}] Case {code} ({category}) is received and being assigned.",
    },
    "status_triage": {
        "zh": "【{community}】事项{code}（{category}）已受理，正在确认位置。",
        "en": "[{community}] Case {code} ({category}) is received; its place is being checked.",
    },
    "status_assigned": {
        "zh": "【{community}】事项{code}（{category}）已派{role}，待接单。",
        "en": "[{community}] Case {code} ({category}) is with the {role}, to be accepted.",
    },
    "status_acknowledged": {
        "zh": "【{community}】事项{code}（{category}）由{role}办理中。",
        "en": "[{community}] Case {code} ({category}) is being handled by the {role}.",
    },
    "status_resolved": {
        "zh": "【{community}】事项{code}（{category}）已办结。",
        "en": "[{community}] Case {code} ({category}) is resolved.",
    },
    "status_awaiting_feedback": {
        "zh": "【{community}】事项{code}（{category}）已办结。满意回复1，不满意回复2",
        "en": "[{community}] Case {code} ({category}) is resolved. Reply 1 if satisfied, 2 if not.",
    },
    "status_closed": {
        "zh": "【{community}】事项{code}（{category}）已结案。",
        "en": "[{community}] Case {code} ({category}) is closed.",
    },
    "status_duplicate": {
        "zh": "【{community}】事项{code}（{category}）已并入同一问题{into}办理，查进度回复“查询 {into}”",
        "en": "[{community}] Case {code} ({category}) joined {into}: CHECK {into}.",
    },
    "status_cancelled": {
        "zh": "【{community}】事项{code}（{category}）已撤销。",
        "en": "[{community}] Case {code} ({category}) was cancelled.",
    },
    # residents
    "reporter_help": {
        "zh": "发短信写明楼号单元和问题即可报事，如“3号楼2单元楼道灯坏了”。查进度回复“查询 编号”，退订回复“退订”",
        "en": "To report, text the building, unit and problem, e.g. \"3-2 stairwell light out\". "
              "CHECK CODE for status, STOP to opt out.",
    },
    "reports_limited": {     # once per window, to a phone over its limit of new reports
        "zh": "此号码报事过于频繁，本条暂未受理，请稍后再发。急事请直接联系网格员。",
        "en": "Too many reports from this number: this one was not taken. Please try again later.",
    },
    "no_reports": {
        "zh": "未找到此号码的报事。发短信描述问题即可报事。",
        "en": "No report from this number was found. Text us the problem to report it.",
    },
    "no_feedback_case": {
        "zh": "没有等待您评价的事项。",
        "en": "You have no resolved case waiting for your answer.",
    },
    "opted_out": {
        "zh": "已退订，不再向您发送短信。回复“订阅”可恢复。",
        "en": "You will get no more SMS from us. Reply START to get them again.",
    },
    "opted_in": {
        "zh": "已恢复短信通知。回复“退订”可停止。",
        "en": "SMS notices are on again. Reply STOP to stop them.",
    },
    "member_opted_out": {
        "zh": "已退订居民通知；网格工作短信照常发送。",
        "en": "Resident notices stopped; your grid duty SMS continue.",
    },
}


def render(template: str, lang: str, **params: Any) -> str:
    texts = TEMPLATES[template]
    return texts.get(lang, texts["zh"]).format(**params)


# A bundle: the notices to one phone within a send window (services.notices), as one text.
# Each notice is one brief line; a template without a brief goes in as its own text
# without the community's name, which the bundle's header carries once.
BRIEFS: dict[str, dict[str, str]] = {
    "assigned": {"zh": "{code}新事项：{location}{category}", "en": "{code} new: {location}, {category}"},
    "escalated_to_you": {"zh": "{code}升级给您：{location}{category}",
                         "en": "{code} now yours: {location}, {category}"},
    "reopened_to_you": {"zh": "{code}居民不满意，请重办", "en": "{code} reopened: resident not satisfied"},
    "transferred_to_you": {"zh": "{code}转办给您：{location}{category}",
                           "en": "{code} passed to you: {location}, {category}"},
    "reminder": {"zh": "{code}仍未接单", "en": "{code} still not accepted"},
    "follow": {"zh": "{code}请跟办：{location}{category}", "en": "{code} follow: {location}, {category}"},
    "resolve_warning": {"zh": "{code}将到办结时限", "en": "{code} nearly due"},
    "resolve_overdue": {"zh": "{code}已超办结时限，督办中", "en": "{code} overdue, under supervision"},
    "supervise_yellow": {"zh": "{code}黄牌督办（{holder}）", "en": "{code} yellow card ({holder})"},
    "supervise_red": {"zh": "{code}红牌督办（{holder}）", "en": "{code} red card ({holder})"},
    "escalated_away": {"zh": "{code}已升级至{role}", "en": "{code} gone up to the {role}"},
    "taken_over": {"zh": "{code}已由{by}接手", "en": "{code} taken over by {by}"},
    "transferred_away": {"zh": "{code}已转办给{to}", "en": "{code} passed to {to}"},
    "resolved": {"zh": "{code}已由跟办人办结", "en": "{code} resolved by its follower"},
    "case_cancelled": {"zh": "{code}已撤销", "en": "{code} cancelled"},
    "case_closed": {"zh": "{code}已结案", "en": "{code} closed"},
    "case_merged": {"zh": "{code}已并入{into}", "en": "{code} merged into {into}"},
    "duplicate_reported": {"zh": "{code}又有居民报告，共{affected}户", "en": "{code} reported again: {affected} now"},
    "extension_requested": {"zh": "{code}申请延期{days}天", "en": "{code} asks {days} more days"},
    "extension_submitted": {"zh": "{code}延期申请已报上级", "en": "{code} extension request sent up"},
    "extension_approved": {"zh": "{code}延期{days}天已获同意", "en": "{code} {days} more days approved"},
    "extension_refused": {"zh": "{code}延期申请未获同意", "en": "{code} extension refused"},
    "suspended": {"zh": "{code}已挂起", "en": "{code} suspended"},
    "resumed": {"zh": "{code}已恢复办理", "en": "{code} resumed"},
    "triage_reminder": {"zh": "{code}短信报事尚无位置", "en": "{code} SMS report has no place yet"},
    "reporter_resolved": {"zh": "{code}已办结，满意回1，不满意回2",
                          "en": "{code} resolved: reply 1 if satisfied, 2 if not"},
}
BUNDLE = {
    "zh": "【{community}】{count}条通知：{items}。回复“帮助”看您的待办",
    "en": "[{community}] {count} notices: {items}. Reply HELP for your open cases.",
}
BUNDLE_SEPARATOR = {"zh": "；", "en": "; "}
_HEADERS = ("【{community}】", "[{community}] ")


def brief(template: str, lang: str, **params: Any) -> str:
    """One notice as a line of a bundle."""
    if template in BRIEFS:
        texts = BRIEFS[template]
        return texts.get(lang, texts["zh"]).format(**params)
    text = render(template, lang, **params)
    for header in _HEADERS:      # the bundle names the community once
        text = text.removeprefix(header.format(**params)) if "community" in params else text
    return text.rstrip("。.")


def render_bundle(lines: list[str], lang: str, community: str) -> str:
    """Several notices to one phone as one text (a single notice goes as its own text)."""
    return BUNDLE.get(lang, BUNDLE["zh"]).format(
        community=community, count=len(lines), items=BUNDLE_SEPARATOR.get(lang, "；").join(lines))
