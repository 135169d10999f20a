"""The party members' service catalogue (chalicelib/domain/service_catalogue.py): the demo
community's file reads whole, and a wrong item is refused with its name and field."""
from __future__ import annotations

import copy
import json

import pytest

from chalicelib.bootstrap import DATA
from chalicelib.domain.service_catalogue import KINDS, CatalogueError, Limit, ServiceCatalogue

WORKING_DAY = 8 * 3600
CHANGMU = json.loads((DATA / "services" / "changmu.json").read_text(encoding="utf-8"))


def test_given_changmus_catalogue_then_every_kind_is_offered_with_its_checklist_limits_and_points():
    catalogue = ServiceCatalogue.from_dict(CHANGMU, WORKING_DAY)
    assert catalogue.community == "changmu" and catalogue.version.startswith("changmu-services-")
    assert {item.kind for item in catalogue.items.values()} == set(KINDS)
    allowance = catalogue.items["subsistence_allowance_application"]
    assert [step["zh"] for step in allowance.checklist][:3] == ["身份证", "户口本", "家庭收入证明"]
    assert allowance.claim_within == Limit(WORKING_DAY, True)          # 1 working day
    assert catalogue.items["haircut_at_home"].claim_within == Limit(86400, False)
    assert (allowance.points, allowance.on_time_bonus) == (20, 5)
    assert catalogue.items["micro_wish"].max_value_yuan == 200


def test_given_a_residents_words_then_the_item_they_name():
    catalogue = ServiceCatalogue.from_dict(CHANGMU, WORKING_DAY)
    assert catalogue.item_for("医保").code == "medical_insurance_payment"
    assert catalogue.item_for("想申请低保").code == "subsistence_allowance_application"
    assert catalogue.item_for("上门理发").code == "haircut_at_home"
    assert catalogue.item_for("micro_wish").code == "micro_wish"
    assert catalogue.item_for("楼道灯坏了") is None
    orderable = [i.code for i in catalogue.orderable_by("resident")]
    assert {"medical_insurance_payment", "subsistence_allowance_application", "haircut_at_home",
            "micro_wish"} <= set(orderable)
    assert "care_visit" not in orderable


@pytest.mark.parametrize("change, words", [
    (lambda item: item.pop("name"), "item care_visit: name needs zh and en"),
    (lambda item: item.update(kind="errand"), "item care_visit: kind is one of"),
    (lambda item: item.update(ordered_by=["volunteer"]), "item care_visit: ordered_by"),
    (lambda item: item.update(ordered_by=[]), "item care_visit: ordered_by"),
    (lambda item: item.update(post=" "), "item care_visit: post"),
    (lambda item: item.update(checklist=[]), "item care_visit: checklist"),
    (lambda item: item.update(checklist=[{"zh": "上门"}]), "item care_visit: checklist"),
    (lambda item: item.update(claim_within="soon"), "item care_visit: claim_within"),
    (lambda item: item.update(complete_within="0 days"), "item care_visit: complete_within"),
    (lambda item: item.update(points=-1), "item care_visit: points"),
    (lambda item: item.update(points=True), "item care_visit: points"),
    (lambda item: item.update(on_time_bonus=2.5), "item care_visit: on_time_bonus"),
    (lambda item: item.update(keywords="看望"), "item care_visit: keywords"),
    (lambda item: item.update(max_value_yuan=50), "item care_visit: max_value_yuan"),
    (lambda item: item.update(colour="red"), "item care_visit: unknown key"),
])
def test_given_a_wrong_item_then_the_catalogue_is_refused_naming_it(change, words):
    data = copy.deepcopy(CHANGMU)
    change(data["items"]["care_visit"])
    with pytest.raises(CatalogueError, match=words):
        ServiceCatalogue.from_dict(data, WORKING_DAY)


@pytest.mark.parametrize("data, words", [
    ([], "a JSON object"), ({"community": "changmu", "version": "v"}, "no 'items'"),
    ({**CHANGMU, "items": ["care_visit"]}, "'items' names each item"), ({**CHANGMU, "extra": 1}, "unknown key"),
])
def test_given_a_wrong_file_then_refused_saying_what(data, words):
    with pytest.raises(CatalogueError, match=words):
        ServiceCatalogue.from_dict(data, WORKING_DAY)


def test_every_communitys_catalogue_file_reads_on_its_own_working_calendar():
    """A committee's edit that breaks its file fails here, before it ships."""
    from chalicelib.bootstrap import Container
    from tests.conftest import _config

    catalogues = Container(_config()).service_catalogues
    assert sorted(catalogues) == sorted(p.stem for p in (DATA / "services").glob("*.json"))
    proxy = catalogues["changmu"].items["medical_insurance_payment"]
    assert proxy.claim_within.working and proxy.claim_within.seconds == 4 * 3600   # 4 working hours
    changmu_day = catalogues["changmu"].items["subsistence_allowance_application"].claim_within.seconds
    assert changmu_day == Container(_config()).policies.books["changmu"].chains["standard"].calendar.working_day_seconds


def test_given_changmus_catalogue_then_its_points_shop_lists_what_each_item_costs():
    shop = ServiceCatalogue.from_dict(CHANGMU, WORKING_DAY).shop
    assert list(shop) == ["washing_powder", "towel", "rice", "cooking_oil"]
    assert [(item.name["zh"], item.points) for item in shop.values()] == [
        ("洗衣粉（1公斤）", 20), ("毛巾（2条）", 25), ("大米（5公斤）", 60), ("食用油（5升）", 80)]
    assert all(item.name["en"] for item in shop.values())
    without = {key: value for key, value in CHANGMU.items() if key != "shop"}
    assert ServiceCatalogue.from_dict(without, WORKING_DAY).shop == {}      # a community without a shop


@pytest.mark.parametrize("change, words", [
    (lambda item: item.pop("name"), "shop item rice: name needs zh and en"),
    (lambda item: item.update(name={"zh": "大米"}), "shop item rice: name needs zh and en"),
    (lambda item: item.update(points=0), "shop item rice: points"),
    (lambda item: item.update(points=1001), "shop item rice: points"),
    (lambda item: item.update(points="60"), "shop item rice: points"),
    (lambda item: item.update(points=False), "shop item rice: points"),
    (lambda item: item.update(note=" "), "shop item rice: note"),
    (lambda item: item.update(stock=10), "shop item rice: unknown key"),
])
def test_given_a_wrong_shop_item_then_the_catalogue_is_refused_naming_it(change, words):
    data = copy.deepcopy(CHANGMU)
    change(data["shop"]["rice"])
    with pytest.raises(CatalogueError, match=words):
        ServiceCatalogue.from_dict(data, WORKING_DAY)


@pytest.mark.parametrize("shop, words", [
    (["rice"], "'shop' names each shop item"),
    ({"Rice Bag": {"name": {"zh": "大米", "en": "Rice"}, "points": 60}}, "shop item Rice Bag: a shop item's code"),
    ({"rice": 60}, "shop item rice: must be an object"),
])
def test_given_a_wrong_shop_then_the_catalogue_is_refused_saying_what(shop, words):
    with pytest.raises(CatalogueError, match=words):
        ServiceCatalogue.from_dict({**CHANGMU, "shop": shop}, WORKING_DAY)


def test_given_the_readmes_example_of_a_new_service_then_it_reads_and_the_residents_words_find_it():
    # GIVEN the item the README shows a committee member how to add
    import re
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## The service loop"):readme.index("## Architecture")]
    example = json.loads("{" + re.search(r"```json\n(.*?)\n```", section, re.S).group(1) + "}")
    data = copy.deepcopy(CHANGMU)
    data["items"].update(example)
    # WHEN the catalogue is read with it THEN it is offered, and a resident's words name it
    catalogue = ServiceCatalogue.from_dict(data, WORKING_DAY)
    [code] = example
    assert catalogue.items[code].claim_within == Limit(WORKING_DAY, True)
    assert catalogue.item_for("想申请高龄补贴").code == code
    # AND every Changmu item the README's table names is in the file
    assert all(f"`{code}`" in section for code in CHANGMU["items"])
