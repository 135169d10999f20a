"""Validating what a resident submits, whatever door it came in by."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .directory import Directory
from .language import DEFAULT as DEFAULT_LANG
from .language import LANGS

REQUIRED = ("category", "location", "description")
OPTIONAL = ("phone", "name", "priority", "lang")
PRIORITIES = ("normal", "urgent")
MAX_DESCRIPTION = 1000
MAX_NAME = 50


class InvalidReport(ValueError):
    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


@dataclass(frozen=True)
class ReportRequest:
    community_id: str
    category: str
    location: str
    description: str
    phone: str | None = None
    name: str | None = None
    priority: str = "normal"
    lang: str = DEFAULT_LANG      # the language the reporter's SMS are in

    def fingerprint(self) -> str:
        """Identifies the content, to tell a retry from a reused Idempotency-Key."""
        fields = [self.category, self.location, self.description, self.phone, self.name]
        if self.priority != "normal":
            fields.append(self.priority)
        if self.lang != DEFAULT_LANG:       # reports made before there was a lang keep their print
            fields.append(f"lang:{self.lang}")
        body = json.dumps(fields, ensure_ascii=False)
        return hashlib.sha256(body.encode()).hexdigest()[:32]


def validate(payload: Any, directory: Directory, categories: Mapping[str, Any],
             extra_allowed: tuple[str, ...] = ()) -> ReportRequest:
    if not isinstance(payload, Mapping):
        raise InvalidReport("invalid_body", "the body must be a JSON object")
    unknown = sorted(set(payload) - set(REQUIRED) - set(OPTIONAL) - set(extra_allowed))
    if unknown:
        raise InvalidReport("unknown_field", f"unknown field: {unknown[0]}", unknown[0])
    values: dict[str, str | None] = {}
    for name in REQUIRED + OPTIONAL:
        value = payload.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if name in REQUIRED:
                raise InvalidReport("missing_field", f"{name} is required", name)
            values[name] = None
            continue
        if not isinstance(value, str):
            raise InvalidReport("invalid_type", f"{name} must be a string", name)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:   # a lone surrogate from a JSON "\ud800" escape
            raise InvalidReport("invalid_text", f"{name} is not valid Unicode text", name) from None
        values[name] = value.strip()

    category = values["category"]
    if category not in categories:
        raise InvalidReport("unknown_category", f"unknown category: {category}; see GET /categories",
                            "category")
    location = directory.location(values["location"] or "")
    if location is None:
        raise InvalidReport("unknown_location", f"unknown location: {values['location']}; see GET /grid",
                            "location")
    if len(values["description"] or "") > MAX_DESCRIPTION:
        raise InvalidReport("too_long", f"description is longer than {MAX_DESCRIPTION} characters",
                            "description")
    if values["name"] is not None and len(values["name"]) > MAX_NAME:
        raise InvalidReport("too_long", f"name is longer than {MAX_NAME} characters", "name")
    priority = (values["priority"] or "normal").lower()
    if priority not in PRIORITIES:
        raise InvalidReport("invalid_priority", f"priority must be one of {', '.join(PRIORITIES)}", "priority")
    lang = (values["lang"] or DEFAULT_LANG).lower()
    if lang not in LANGS:
        raise InvalidReport("invalid_lang", f"lang must be one of {', '.join(LANGS)}", "lang")
    phone = normalize_phone(values["phone"]) if values["phone"] is not None else None
    return ReportRequest(location.community_id, category, location.code, values["description"],
                         phone, values["name"], priority, lang)


def problems(payload: Mapping[str, Any], directory: Directory, categories: Mapping[str, Any]) -> list[InvalidReport]:
    """Every fault `validate` finds, not only the first, for a form that shows them all at
    once: `validate` again with each faulty field replaced by a stand-in it accepts (or left
    out, if optional), until it accepts the rest. The same checks, order and messages as
    `validate`; nothing but `validate` decides. Empty when the payload is valid."""
    stand_ins = {"category": next(iter(categories), None),
                 "location": next((loc.code for loc in directory.locations()), None),
                 "description": "-"}
    trial, found = dict(payload), []
    for _ in range(len(payload) + len(REQUIRED) + len(OPTIONAL) + 1):
        try:
            validate(trial, directory, categories)
            break
        except InvalidReport as error:
            if any(e.field == error.field for e in found):
                break          # its stand-in did not get past it (an empty directory): its first fault stands
            found.append(error)
            if error.field is None:
                break          # the request as a whole
            if error.code != "unknown_field" and stand_ins.get(error.field) is not None:
                trial[error.field] = stand_ins[error.field]
            else:
                trial.pop(error.field, None)
    return found


def normalize_phone(raw: str) -> str:
    """E.164 form; numbers without a country code are taken as Chinese."""
    import phonenumbers  # lazily: its metadata is only needed when a phone is given

    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        raise InvalidReport("invalid_phone", "phone is not a phone number", "phone") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidReport("invalid_phone", "phone is not a valid phone number", "phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
