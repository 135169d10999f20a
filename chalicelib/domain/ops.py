"""Operators' commands (the `ops` function and `python -m tools.ops`): parsing and checking.

A command is a JSON object, as typed into a Lambda console test event:

    {"command": "escalate", "case": "7KQ2XM", "from_level": 2, "reason": "水管爆了，没人接",
     "operator": "wangfang"}

`parse` turns it into a `Command`, or into a `Rejected` saying what is wrong with which
field: never an exception, whatever it is given. What each command may carry is the table
COMMANDS; the services (services.ops) do the rest.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .codes import normalize_code

OPERATOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")   # a login name, not a person's full name
MEMBER = re.compile(r"^(?:[A-Za-z0-9_-]{1,32}|@reporter(?::[1-9][0-9]{0,3})?)$")   # resend: also a resident
COMMUNITY = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
NOTICE = re.compile(r"^[A-Z0-9]{6}\.[0-9]{1,6}$")               # "<code>.<n>", as case.Notice ids
WEEK = re.compile(r"^\d{4}-W\d{2}$")                              # an ISO week, "2026-W47"
CLIENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")     # an Open311 client's name, as a login is
KEY_ID = re.compile(r"^[0-9a-f]{12}$")                          # an API key's id (api-key-list shows them)
# The points bank (services.points): a household's account id (its door, never a phone), an
# event's id, a shop item's code (the catalogue's shop) and a shop's receipt number.
HOUSEHOLD = re.compile(r"^[a-z][a-z0-9-]{0,47}$")               # e.g. changmu-03-2-301
EVENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")        # e.g. 2026-12-05-free-clinic
ITEM = re.compile(r"^[a-z][a-z0-9_]{0,47}$")                     # e.g. rice
RECEIPT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$")      # e.g. R-20261205-0001
MONTH = re.compile(r"^\d{4}-(?:0[1-9]|1[0-2])$")                 # e.g. 2026-12
MAX_EVENT_POINTS = 1000       # as the service catalogue's points
MAX_RESTOCK = 10000
MAX_REASON = 200
MAX_LIMIT = 500
MAX_REDRIVE = 1000            # one invocation's worth, well within Lambda's 30 s
MAX_DOCUMENT = 256 * 1024     # a directory file, inline in the event
QUEUES = ("intake", "escalation", "sms-inbound")   # the queues with a dead-letter queue
FORMATS = ("yaml", "csv")

# command → (required fields, optional fields). "command" and "operator" go with every one.
COMMANDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "show": (frozenset({"case"}), frozenset({"personal"})),
    "overdue": (frozenset(), frozenset({"community", "limit"})),
    "reassign": (frozenset({"case", "member", "reason"}), frozenset()),
    "escalate": (frozenset({"case", "from_level", "reason"}), frozenset()),
    "close": (frozenset({"case", "reason"}), frozenset()),
    "cancel": (frozenset({"case", "reason"}), frozenset()),
    "merge": (frozenset({"case", "into", "reason"}), frozenset()),
    "resend": (frozenset({"case"}), frozenset({"notice", "member"})),
    "directory-import": (frozenset({"community", "format", "document"}), frozenset({"dry_run"})),
    "directory-export": (frozenset({"community"}), frozenset({"format", "version"})),
    "redrive": (frozenset({"queue"}), frozenset({"max"})),
    "weekly-report": (frozenset({"community"}), frozenset({"week", "stored", "html"})),
    "api-key-issue": (frozenset({"client"}), frozenset()),
    "api-key-revoke": (frozenset({"key_id"}), frozenset()),
    "api-key-list": (frozenset(), frozenset()),
    # The points bank: `member` or `household` (one of them) names the account.
    "points-statement": (frozenset({"community"}), frozenset({"member", "household", "month"})),
    "points-credit": (frozenset({"community", "event", "points"}), frozenset({"member", "household"})),
    "points-redeem": (frozenset({"community", "item", "receipt"}), frozenset({"member", "household"})),
    "shop-restock": (frozenset({"community", "item", "count"}), frozenset()),
    "shop-list": (frozenset({"community"}), frozenset()),
    # The service orders (services.order_ops): one placed by the committee after a visit, read, called off.
    "order-place": (frozenset({"community", "item", "place"}), frozenset({"phone", "member", "wish", "value_yuan"})),
    "order-show": (frozenset({"order"}), frozenset()),
    "order-cancel": (frozenset({"order", "reason"}), frozenset()),
}
POINTS_ACCOUNT = frozenset({"points-statement", "points-credit", "points-redeem"})   # need member | household
CHANGES_A_CASE = frozenset({"reassign", "escalate", "close", "cancel", "resend", "merge"})


@dataclass(frozen=True)
class Command:
    name: str
    operator: str
    case: str | None = None              # a normalised code
    into: str | None = None              # merge: the code of the case `case` repeats
    reason: str | None = None
    member: str | None = None            # reassign: the new holder; resend: whose latest notice
    from_level: int | None = None        # escalate: the level the operator saw it at (idempotence)
    notice: str | None = None
    personal: bool = False               # show: with the reporter's phone, name and words
    community: str | None = None
    limit: int = 50
    format: str = "yaml"
    document: str | dict[str, str] | None = None
    dry_run: bool = False
    version: int | None = None
    queue: str | None = None
    max: int = 100
    week: str | None = None              # weekly-report: an ISO week; None: last week
    stored: bool = False                 # weekly-report: as sent to the committee, not built again
    html: bool = False                   # weekly-report: the page too
    client: str | None = None            # api-key-issue: who the Open311 key is for
    key_id: str | None = None            # api-key-revoke: which key
    household: str | None = None         # points-*: a household's account instead of a member's
    event: str | None = None             # points-credit: the event attended (once per account)
    points: int | None = None            # points-credit: how many
    item: str | None = None              # points-redeem, shop-restock: the shop item's code
    receipt: str | None = None           # points-redeem: the shop's receipt number (once per receipt)
    count: int | None = None             # shop-restock: how many more
    month: str | None = None             # points-statement: "YYYY-MM"; None: this month
    order: str | None = None             # order-*: the order's code
    place: str | None = None             # order-place: the household ("3-2", or a location code)
    phone: str | None = None             # order-place: the resident's phone (told, and confirms)
    wish: str | None = None              # order-place: a micro-wish's words
    value_yuan: int | None = None        # order-place: ... and its value

    @property
    def actor(self) -> str:
        """How the case's history names whoever did it: never a member id."""
        return f"ops:{self.operator}"


@dataclass(frozen=True)
class Rejected:
    """What is wrong with a command; nothing was done."""
    code: str              # invalid_command, unknown_command, missing_field, unknown_field, invalid_field
    message: str
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": False, "error": {"code": self.code, "message": self.message, "field": self.field}}


def parse(event: Any) -> Command | Rejected:
    if not isinstance(event, dict):
        return Rejected("invalid_command", 'a command is a JSON object such as {"command": "show", '
                                           '"case": "7KQ2XM", "operator": "NAME"}')
    name = event.get("command")
    if not isinstance(name, str) or not name:
        return Rejected("missing_field", f"say which command: one of {', '.join(COMMANDS)}", "command")
    if name not in COMMANDS:
        return Rejected("unknown_command", f"no command {name[:40]!r}: one of {', '.join(COMMANDS)}", "command")
    operator = event.get("operator")
    if operator is None:
        return Rejected("missing_field", "say who you are: \"operator\": your login name (it is recorded)",
                        "operator")
    if not isinstance(operator, str) or not OPERATOR.match(operator):
        return Rejected("invalid_field", "operator is a login name: letters, digits and ._@+- (at most 64)",
                        "operator")
    required, optional = COMMANDS[name]
    unknown = sorted(set(event) - required - optional - {"command", "operator"})
    if unknown:
        return Rejected("unknown_field", f"{name} takes no {unknown[0]!r}", unknown[0])
    missing = sorted(required - set(event))
    if missing:
        return Rejected("missing_field", f"{name} needs {missing[0]!r}", missing[0])
    fields: dict[str, Any] = {}
    for key in sorted(set(event) - {"command", "operator"}):
        value = _check(key, event[key])
        if isinstance(value, Rejected):
            return value
        fields[key] = value
    if name == "resend" and "notice" in fields and "member" in fields:
        return Rejected("invalid_field", "give a notice id or a member, not both", "member")
    if name in POINTS_ACCOUNT:
        if "member" in fields and "household" in fields:
            return Rejected("invalid_field", "give a member or a household, not both", "household")
        if "member" not in fields and "household" not in fields:
            return Rejected("missing_field", f"{name} needs 'member' or 'household'", "member")
        if fields.get("member", "").startswith("@"):
            return Rejected("invalid_field", "member is a member id such as m06", "member")
    if name == "directory-import":
        document = fields["document"]
        if (fields["format"] == "yaml") != isinstance(document, str):
            return Rejected("invalid_field", "yaml: document is the file's text; csv: an object "
                                             "{file name: text}", "document")
    return Command(name=name, operator=operator, **fields)


def _check(key: str, value: Any) -> Any:
    """The field's value as the Command holds it, or what is wrong with it."""
    def bad(message: str) -> Rejected:
        return Rejected("invalid_field", message, key)

    if key in ("case", "into", "order"):
        code = normalize_code(value) if isinstance(value, str) else None
        return code or bad(f"{key} is a 6-character code such as 7KQ2XM")
    if key == "reason":
        if not isinstance(value, str) or not value.strip():
            return bad("say why: the reason is recorded on the case")
        if len(value.strip()) > MAX_REASON:
            return bad(f"the reason is at most {MAX_REASON} characters")
        return value.strip()
    if key == "member":
        return (value if isinstance(value, str) and MEMBER.match(value)
                else bad("member is a member id such as m06 (resend: or @reporter, @reporter:1 for a follower)"))
    if key == "community":
        return value if isinstance(value, str) and COMMUNITY.match(value) else bad("community is an id such as changmu")
    if key == "notice":
        if isinstance(value, str) and NOTICE.match(value.strip().upper()):
            return value.strip().upper()
        return bad("notice is a notice id such as 7KQ2XM.3 (show lists them)")
    if key == "client":
        return (value if isinstance(value, str) and CLIENT.match(value)
                else bad("client is a name such as changmu-app: letters, digits and ._@+- (at most 64)"))
    if key == "key_id":
        value = value.strip().lower() if isinstance(value, str) else value
        return value if isinstance(value, str) and KEY_ID.match(value) else bad(
            "key_id is an API key's id, 12 hex digits (api-key-list shows them)")
    if key == "household":
        return (value if isinstance(value, str) and HOUSEHOLD.match(value)
                else bad("household is a household's id such as changmu-03-2-301 (its door, never a phone)"))
    if key == "event":
        return (value if isinstance(value, str) and EVENT.match(value)
                else bad("event is an id such as 2026-12-05-free-clinic: letters, digits and ._- (at most 64)"))
    if key == "item":
        return (value if isinstance(value, str) and ITEM.match(value)
                else bad("item is a shop item's code such as rice (shop-list shows them), or a service's "
                         "such as medical_insurance_payment (order-place)"))
    if key == "receipt":
        return (value if isinstance(value, str) and RECEIPT.match(value)
                else bad("receipt is the shop's receipt number such as R-0001: letters, digits and ._- (at most 48)"))
    if key == "place":
        return (value.strip() if isinstance(value, str) and 0 < len(value.strip()) <= 40
                else bad("place is the household: building-unit such as 3-2, or a location code"))
    if key == "phone":
        from .report import InvalidReport, normalize_phone
        try:
            return normalize_phone(value) if isinstance(value, str) else bad("phone is a phone number")
        except InvalidReport:
            return bad("phone is the resident's phone number, such as 13912345678")
    if key == "wish":
        return (value.strip() if isinstance(value, str) and 0 < len(value.strip()) <= 120
                else bad("wish is the micro-wish in words, at most 120 characters"))
    if key == "value_yuan":
        return value if _integer(value, 1, 100000) else bad("value_yuan is a whole number of yuan")
    if key == "month":
        return value if isinstance(value, str) and MONTH.match(value) else bad("month is YYYY-MM, such as 2026-12")
    if key == "points":
        return value if _integer(value, 1, MAX_EVENT_POINTS) else bad(f"points is 1 to {MAX_EVENT_POINTS}")
    if key == "count":
        return value if _integer(value, 1, MAX_RESTOCK) else bad(f"count is 1 to {MAX_RESTOCK}")
    if key == "week":
        return value if isinstance(value, str) and WEEK.match(value) else bad("week is an ISO week such as 2026-W47")
    if key in ("personal", "dry_run", "stored", "html"):
        return value if isinstance(value, bool) else bad(f"{key} is true or false")
    if key == "from_level":
        return value if _integer(value, 1, 9) else bad("from_level is the case's level now, 1 to 9 (show says it)")
    if key == "limit":
        return value if _integer(value, 1, MAX_LIMIT) else bad(f"limit is 1 to {MAX_LIMIT}")
    if key == "max":
        return value if _integer(value, 1, MAX_REDRIVE) else bad(f"max is 1 to {MAX_REDRIVE}")
    if key == "version":
        return value if _integer(value, 1, 10**9) else bad("version is a positive whole number")
    if key == "format":
        return value if value in FORMATS else bad(f"format is one of {', '.join(FORMATS)}")
    if key == "queue":
        purpose = value.removesuffix("-dlq") if isinstance(value, str) else None
        return purpose if purpose in QUEUES else bad(f"queue is one of {', '.join(QUEUES)}")
    if key == "document":
        if isinstance(value, str) and 0 < len(value) <= MAX_DOCUMENT:
            return value
        if (isinstance(value, dict) and value
                and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
                and sum(len(v) for v in value.values()) <= MAX_DOCUMENT):
            return dict(value)
        return bad(f"document is the file's text, or {{file name: text}} for CSV (at most {MAX_DOCUMENT} characters)")
    return bad(f"{key} is not understood")      # unreachable: COMMANDS names every field


def _integer(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
