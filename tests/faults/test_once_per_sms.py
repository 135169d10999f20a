"""What one inbound SMS causes happens once (services.answers, adapters.answers), on moto:
its answers' records, and the counts and opt-outs keyed by it."""
from __future__ import annotations

import pytest

from chalicelib.domain.contacts import phone_key
from chalicelib.services.answers import KEEP_SECONDS, SENDING_SECONDS, AnswerInFlight, OnceSms, handling

PHONE = "+8613800138000"
T0 = 1_790_000_000.0


def test_a_redelivered_sms_is_counted_once_and_gets_the_answer_it_got_the_first_time(aws_stack):
    contacts = aws_stack.contacts
    # GIVEN five SMS in one window of a limit of three
    allowed = []
    for n in range(1, 6):
        with handling(f"sms:{n}"):
            allowed.append(contacts.allow(PHONE, "errors", 3, 3600, T0 + n))
    assert allowed == [True, True, True, False, False]

    # WHEN any of them is delivered again THEN it is answered as it was, and nothing is counted
    for n, first in zip(range(1, 6), allowed, strict=True):
        with handling(f"sms:{n}"):
            assert contacts.allow(PHONE, "errors", 3, 3600, T0 + 10) is first
    window = aws_stack.contacts_model.get(f"{phone_key(PHONE)}#errors", consistent_read=True)
    # The window remembers its limit and the first one refused, and no more: a full window
    # is not written again.
    assert (int(window.count), window.counted) == (4, ["sms:1", "sms:2", "sms:3", "sms:4"])

    # AND once the window is over, a new SMS starts the next one
    with handling("sms:6"):
        assert contacts.allow(PHONE, "errors", 3, 3600, T0 + 3601) is True


def test_the_sms_that_opted_a_phone_out_still_knows_it_when_delivered_again(aws_stack):
    contacts = aws_stack.contacts
    with handling("sms:stop-1"):
        assert contacts.set_opted_out(PHONE, True, T0) is True
    with handling("sms:stop-1"):              # the same SMS again: its confirmation is still owed
        assert contacts.set_opted_out(PHONE, True, T0 + 1) is True
    with handling("sms:stop-2"):              # another 退订: nothing changes, nothing to confirm
        assert contacts.set_opted_out(PHONE, True, T0 + 2) is False
    assert contacts.opted_out(PHONE) is True
    assert contacts.set_opted_out(PHONE, True, T0 + 3) is False     # outside an SMS: as before


class Texts:
    def __init__(self, fail: bool = False):
        self.sent, self.fail = [], fail

    def send(self, phone, text, case_id=None):
        if self.fail:
            raise ConnectionError("SNS is unreachable")
        self.sent.append(text)
        return f"m-{len(self.sent)}"


def test_an_answer_goes_once_waits_while_another_sends_it_and_is_retried_after_a_failure(aws_stack, clock):
    from chalicelib.adapters.answers import DynamoAnswerLedger

    ledger = DynamoAnswerLedger(aws_stack.answer_model)
    texts = Texts()
    once = OnceSms(texts, ledger, clock)

    with handling("sms:q-1"):
        once.send(PHONE, "查询的答复")
    with handling("sms:q-1"):                # redelivered: already sent
        assert once.send(PHONE, "查询的答复") is None
    assert texts.sent == ["查询的答复"]
    record = aws_stack.answer_model.get(f"{phone_key(PHONE)}#answer#sms:q-1#1", consistent_read=True)
    assert record.status == "sent" and record.expires_at == int(clock.now + KEEP_SECONDS)

    # Another worker's claim, still running: this one waits (retried after it ends)
    assert ledger.claim(PHONE, "sms:q-2#1", clock.now, clock.now + SENDING_SECONDS, clock.now + KEEP_SECONDS) \
        == "claimed"
    with handling("sms:q-2"), pytest.raises(AnswerInFlight) as waiting:
        once.send(PHONE, "另一条")
    assert 0 < waiting.value.retry_after <= SENDING_SECONDS
    # ... once it has expired (that worker died), this one sends it
    clock.advance(SENDING_SECONDS + 1)
    with handling("sms:q-2"):
        once.send(PHONE, "另一条")
    assert texts.sent == ["查询的答复", "另一条"]

    # A send that failed for sure releases its claim: the retry sends at once
    failing = OnceSms(Texts(fail=True), ledger, clock)
    with handling("sms:q-3"), pytest.raises(ConnectionError):
        failing.send(PHONE, "第三条")
    with handling("sms:q-3"):
        once.send(PHONE, "第三条")
    assert texts.sent[-1] == "第三条"
