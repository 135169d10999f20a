"""The cases table's sparse by-holder and by-reporter indexes and the contacts table: the
template and the PynamoDB models agree, and no phone number is ever a key."""
from __future__ import annotations

from infra.template import render


def indexes() -> dict:
    table = render("dev")["Resources"]["CasesTable"]["Properties"]
    return {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}


def test_the_reply_indexes_match_the_model_and_project_what_the_reply_worker_reads():
    from chalicelib.adapters.dynamo import (
        HOLDER_INDEX,
        HOLDER_PROJECTION,
        REPORTER_INDEX,
        REPORTER_PROJECTION,
        build_case_model,
    )

    model = build_case_model("gridloop-dev-cases", "us-east-1", None)
    for name, index, projection in ((HOLDER_INDEX, model.holder_index, HOLDER_PROJECTION),
                                    (REPORTER_INDEX, model.reporter_index, REPORTER_PROJECTION)):
        spec, schema = indexes()[name], index._get_schema()
        def keys(schema_keys):
            return sorted((k["AttributeName"], k["KeyType"]) for k in schema_keys)
        assert keys(spec["KeySchema"]) == keys(schema["key_schema"])
        assert spec["Projection"] == schema["projection"] == {"ProjectionType": "INCLUDE",
                                                              "NonKeyAttributes": list(projection)}
    assert [k["AttributeName"] for k in indexes()["by-holder"]["KeySchema"]] == ["holder_key", "updated_at"]
    assert [k["AttributeName"] for k in indexes()["by-reporter"]["KeySchema"]] == ["reporter_key", "created_at"]


def test_the_contacts_table_is_keyed_by_a_phone_key_expires_rate_windows_and_is_recoverable():
    from chalicelib.adapters.dynamo import build_contacts_model

    table = render("prod")["Resources"]["ContactsTable"]["Properties"]
    assert table["TableName"] == "gridloop-prod-contacts"
    assert table["KeySchema"] == [{"AttributeName": "phone_key", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    model = build_contacts_model(table["TableName"], "us-east-1", None)
    assert model._hash_keyname == "phone_key" and "expires_at" in model.get_attributes()
