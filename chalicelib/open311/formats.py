"""Open311 answers as text: JSON, or XML as GeoReport v2 writes it.

Each answer is plain data (dicts, lists, strings, numbers, booleans, None). In JSON it is that
data; in XML it goes under a root element (`services`, `service_definition`,
`service_requests`, `discovery`, `errors`), each list's items in an element named for the
list (`services` → `service`, `attributes` → `attribute`, `values` → `value`, ...), None as an
empty element, booleans as `true` / `false`. ElementTree escapes the text; characters that XML
1.0 cannot carry at all (control characters, lone surrogates) are left out.

Errors are GeoReport's list, `[{"code": 400, "description": "..."}]`, or in XML
`<errors><error><code>400</code><description>...</description></error></errors>`, with the
same status as `code`.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
# The element of each list's items, by the list's name (GeoReport v2's own names).
ITEMS = {"services": "service", "service_requests": "request", "attributes": "attribute", "values": "value",
         "errors": "error", "endpoints": "endpoint", "formats": "format"}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Open311Error(Exception):
    """A request refused: its status (4xx, or 503 for a failure of ours) and why, in words."""

    def __init__(self, status: int, description: str, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.status, self.description = status, description
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


def render(root: str, data: Any, fmt: str, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    """`data` as an answer in `fmt` ("json" or "xml"), under `root` in XML."""
    body = json.dumps(data, ensure_ascii=False) if fmt == "json" else to_xml(root, data)
    return Answer(status, body, CONTENT_TYPES[fmt], dict(headers or {}))


def error(status: int, description: str, fmt: str, headers: dict[str, str] | None = None) -> Answer:
    return render("errors", [{"code": status, "description": description}], fmt if fmt in FORMATS else "json",
                  status, headers)


def refused(refusal: Open311Error, fmt: str) -> Answer:
    return error(refusal.status, refusal.description, fmt, refusal.headers)


def to_xml(root: str, data: Any) -> str:
    return XML_DECLARATION + ET.tostring(_element(root, data), encoding="unicode")


def _element(name: str, value: Any) -> ET.Element:
    element = ET.Element(name)
    if isinstance(value, dict):
        for key, child in value.items():
            element.append(_element(key, child))
    elif isinstance(value, (list, tuple)):
        for child in value:
            element.append(_element(ITEMS.get(name, "item"), child))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _NOT_XML.sub("", str(value))
    return element
