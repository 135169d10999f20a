"""Open311 answers as text (chalicelib/open311/formats.py): the same data as JSON and as
GeoReport v2's XML, and the errors in the spec's own shape."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from chalicelib.open311.formats import CONTENT_TYPES, Open311Error, error, refused, render, to_xml


def test_given_a_list_of_services_when_rendered_as_xml_then_each_is_a_service_element_under_services():
    # GIVEN two services as plain data
    data = [{"service_code": "water_pipe", "metadata": True}, {"service_code": "fire", "metadata": False}]

    # WHEN rendered as XML
    answer = render("services", data, "xml")

    # THEN the root is <services>, each item a <service>, booleans true/false
    root = ET.fromstring(answer.body)
    assert answer.body.startswith('<?xml version="1.0" encoding="utf-8"?>')
    assert root.tag == "services" and [child.tag for child in root] == ["service", "service"]
    assert [s.findtext("service_code") for s in root] == ["water_pipe", "fire"]
    assert [s.findtext("metadata") for s in root] == ["true", "false"]
    assert answer.content_type == CONTENT_TYPES["xml"] == "text/xml; charset=utf-8" and answer.status == 200


def test_given_nested_lists_when_rendered_as_xml_then_each_list_names_its_items_as_the_spec_does():
    definition = {"service_code": "sanitation", "attributes": [
        {"code": "building", "values": [{"key": "changmu-03", "name": "3号楼"}]}]}

    root = ET.fromstring(to_xml("service_definition", definition))

    attribute = root.find("attributes/attribute")
    assert attribute is not None and attribute.findtext("code") == "building"
    assert attribute.find("values/value/key").text == "changmu-03"
    assert attribute.find("values/value/name").text == "3号楼"


def test_given_the_same_data_when_rendered_as_json_then_it_is_that_data_with_chinese_kept_as_is():
    data = [{"service_request_id": "AP3ZUM", "address": "5号楼2单元", "lat": None}]

    answer = render("service_requests", data, "json")

    assert json.loads(answer.body) == data and "5号楼2单元" in answer.body
    assert answer.content_type == "application/json; charset=utf-8"


def test_given_none_markup_and_control_characters_when_rendered_as_xml_then_it_stays_well_formed():
    # GIVEN a null, text with markup and a character XML 1.0 cannot carry
    data = [{"lat": None, "address": "<3号楼> & \"2\"单元", "status_notes": "ok\x00\x1bdone"}]

    body = to_xml("service_requests", data)

    # THEN it parses, the null is an empty element, markup is text and the control characters are gone
    request = ET.fromstring(body).find("request")
    assert request.find("lat").text is None
    assert request.findtext("address") == "<3号楼> & \"2\"单元"
    assert request.findtext("status_notes") == "okdone"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_given_a_refusal_when_rendered_then_it_is_the_spec_error_list_with_the_same_status(fmt):
    # GIVEN a 429 with its Retry-After
    refusal = Open311Error(429, "too many calls", {"Retry-After": "60"})

    answer = refused(refusal, fmt)

    # THEN the status, the header and the body: [{"code", "description"}] or <errors><error>
    assert answer.status == 429 and answer.headers == {"Retry-After": "60"}
    if fmt == "json":
        assert json.loads(answer.body) == [{"code": 429, "description": "too many calls"}]
    else:
        root = ET.fromstring(answer.body)
        assert root.tag == "errors" and root.find("error/code").text == "429"
        assert root.find("error/description").text == "too many calls"


def test_given_an_unknown_format_when_an_error_is_rendered_then_it_is_json():
    answer = error(404, "no such resource", "txt")

    assert answer.content_type.startswith("application/json")
    assert json.loads(answer.body) == [{"code": 404, "description": "no such resource"}]
