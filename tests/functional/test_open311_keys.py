"""Open311's API keys through the operators' `ops` function on the moto stack, as the Lambda
console's test event invokes it (and `python -m tools.ops`): a key issued is shown once and lets
its client post; the list never shows a key or its hash; a revoked key is refused at once."""
from __future__ import annotations

import hashlib
import json

from tests.functional.test_open311_api import post311, refused, request_form

OPERATOR = "wangfang"


def ops(test_client, /, **event):
    """The ops function's answer to one console test event (an event may name a "client")."""
    event.setdefault("operator", OPERATOR)
    return test_client.lambda_.invoke("ops", event).payload


def stored_items(stack) -> str:
    """Every item of the contacts table, as text: what someone reading the table sees."""
    return json.dumps([record.serialize() for record in stack.contacts_model.scan()], ensure_ascii=False)


def test_given_a_key_issued_when_its_client_posts_then_it_is_accepted_and_only_its_hash_is_stored(client, aws_stack):
    # WHEN an operator issues a key to a client
    issued = ops(client, command="api-key-issue", client="changmu-app")

    # THEN the answer has the key, once, with its id; the table has its SHA-256, never the key
    assert issued["ok"] and issued["client"] == "changmu-app" and len(issued["key_id"]) == 12
    key = issued["api_key"]
    assert key.startswith("g311_") and "shown only here" in issued["note"]
    stored = stored_items(aws_stack)
    assert key not in stored and hashlib.sha256(key.encode()).hexdigest() in stored
    # AND the client can post with it
    assert post311(client, request_form(key)).status_code == 200


def test_given_keys_issued_when_listed_then_each_shows_its_id_client_and_state_but_never_the_key_or_hash(
        client, aws_stack):
    first = ops(client, command="api-key-issue", client="kiosk-1")
    second = ops(client, command="api-key-issue", client="hotline-12345", operator="lisi")

    listed = ops(client, command="api-key-list")

    assert listed["ok"]
    assert [(k["key_id"], k["client"], k["created_by"], k["revoked"]) for k in listed["keys"]] == [
        (first["key_id"], "kiosk-1", f"ops:{OPERATOR}", False), (second["key_id"], "hotline-12345", "ops:lisi", False)]
    text = json.dumps(listed)
    for answer in (first, second):
        assert answer["api_key"] not in text
        assert hashlib.sha256(answer["api_key"].encode()).hexdigest() not in text


def test_given_a_key_revoked_when_its_client_posts_then_403_at_once_and_revoking_again_changes_nothing(
        client, aws_stack):
    # GIVEN a key that worked
    issued = ops(client, command="api-key-issue", client="old-kiosk")
    assert post311(client, request_form(issued["api_key"])).status_code == 200

    # WHEN it is revoked, twice (a console test event run again)
    first = ops(client, command="api-key-revoke", key_id=issued["key_id"].upper())
    again = ops(client, command="api-key-revoke", key_id=issued["key_id"])

    # THEN the first revoked it, the second changed nothing, and the key is refused
    assert first["ok"] and first["changed"] is True and first["entry"]["revoked"] is True
    assert again["ok"] and again["changed"] is False
    assert again["entry"]["revoked_at"] == first["entry"]["revoked_at"]
    refused(post311(client, request_form(issued["api_key"], description="又一件")), 403, "not valid")
    assert [k["revoked"] for k in ops(client, command="api-key-list")["keys"]] == [True]


def test_given_wrong_key_commands_when_run_then_each_is_refused_and_nothing_is_issued(client, aws_stack):
    assert ops(client, command="api-key-issue")["error"]["field"] == "client"
    assert ops(client, command="api-key-issue", client="no spaces please")["error"]["code"] == "invalid_field"
    unknown = ops(client, command="api-key-revoke", key_id="0123456789ab")
    assert unknown["ok"] is False and unknown["error"]["code"] == "not_found"
    assert ops(client, command="api-key-list")["keys"] == []


def test_given_the_cli_when_a_key_is_issued_and_listed_then_it_prints_the_same_answers(aws_stack, capsys):
    from tools.ops import main

    assert main(["--operator", OPERATOR, "api-key-issue", "cli-client"], container=aws_stack) == 0
    issued = json.loads(capsys.readouterr().out)
    assert main(["api-key-list"], container=aws_stack) == 0
    listed = json.loads(capsys.readouterr().out)

    assert issued["api_key"].startswith("g311_") and listed["keys"][0]["key_id"] == issued["key_id"]
    assert main(["api-key-revoke", issued["key_id"]], container=aws_stack) == 0


def run_every_api_key_command(client, stack) -> None:
    """Each key command once, for tests/infra/test_iam_policies.py (the ops function's role)."""
    issued = ops(client, command="api-key-issue", client="iam-client")
    assert issued["ok"], issued
    assert ops(client, command="api-key-list")["ok"]
    assert ops(client, command="api-key-revoke", key_id=issued["key_id"])["changed"] is True
