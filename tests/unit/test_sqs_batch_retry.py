"""A failed record's retry (chalicelib.sqs_batch): a failure that may pass by itself comes
back within seconds, then ×5 (about 10 s, 50 s, 250 s), with jitter, so that one that keeps
failing is dead-lettered after about five minutes; any other after about 30 s, then
doubling; both at most 15 minutes; dead-lettered with its reason on the redrive limit
either way.
Classified on the exceptions botocore, PynamoDB and our ports really raise.

The same on a real queue, through the consumers: tests/faults/test_outages.py."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from pynamodb.exceptions import CancellationReason, GetError, PutError, TransactWriteError, VerboseClientError

from chalicelib.services.answers import AnswerInFlight
from chalicelib.services.intake import PermanentFailure
from chalicelib.services.ports import CodeTaken, ConcurrentUpdate, DirectoryConflict, WindowBusy
from chalicelib.sqs_batch import (
    JITTER,
    MAX_BACKOFF,
    backoff_ceiling,
    backoff_seconds,
    is_transient,
    process_batch,
    retry_delay,
)
from tests.functional.conftest import record

ENDPOINT = "https://dynamodb.us-east-1.amazonaws.com/"


def client_error(code: str, status: int = 400, operation: str = "PutItem", **extra) -> ClientError:
    """As botocore raises it: the parsed error response, with its HTTP metadata."""
    return ClientError({"Error": {"Code": code, "Message": f"{code} (a test)"},
                        "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": 3, "MaxAttemptsReached": True},
                        **extra}, operation)


def pynamodb_error(code: str, wrapper: type = PutError, reasons: tuple[str | None, ...] = ()) -> Exception:
    """As PynamoDB raises it: its wrapper around a VerboseClientError, which keeps the
    error's code but not the HTTP status."""
    cause = VerboseClientError({"Error": {"Code": code, "Message": "a test"}}, "TransactWriteItems",
                               {"request_id": "r", "table_name": "gridloop-local-cases"},
                               cancellation_reasons=[CancellationReason(code=r) if r else None for r in reasons])
    return wrapper("Failed to write", cause)


def cancelled(*reasons: str) -> ClientError:
    return client_error("TransactionCanceledException", operation="TransactWriteItems",
                        CancellationReasons=[{"Code": r} for r in reasons])


def caused_by(cause: BaseException) -> RuntimeError:
    try:
        raise RuntimeError("the worker gave up") from cause
    except RuntimeError as error:
        return error


def raised_while_handling(earlier: BaseException) -> KeyError:
    try:
        try:
            raise earlier
        except Exception:
            raise KeyError("a bug in the handler")  # noqa: B904 - its context is the throttle, on purpose
    except KeyError as error:
        return error


def botocore_throttling_codes() -> list[str]:
    from botocore.retries.standard import ThrottledRetryableChecker
    return list(ThrottledRetryableChecker._THROTTLED_ERROR_CODES)


MAY_PASS = {
    "DynamoDB throttled": client_error("ProvisionedThroughputExceededException"),
    "DynamoDB's request limit": client_error("RequestLimitExceeded"),
    "DynamoDB throttling": client_error("ThrottlingException"),
    "SQS throttled": client_error("RequestThrottled", operation="SendMessage"),
    "SNS throttling": client_error("Throttling", operation="Publish"),
    "SNS's modeled throttle": client_error("Throttled", operation="Publish"),
    "Lambda's too many requests": client_error("TooManyRequestsException", status=429),
    "an unknown error code with 429": client_error("SomethingNew", status=429),
    "DynamoDB 500": client_error("InternalServerError", status=500),
    "SNS 500": client_error("InternalError", status=500, operation="Publish"),
    "SQS 503": client_error("ServiceUnavailable", status=503, operation="SendMessage"),
    "a 502 with no code we know": client_error("Unknown", status=502),
    "a 504": client_error("GatewayTimeout", status=504),
    "a read timeout": ReadTimeoutError(endpoint_url=ENDPOINT),
    "a connect timeout": ConnectTimeoutError(endpoint_url=ENDPOINT),
    "no connection": EndpointConnectionError(endpoint_url=ENDPOINT),
    "the connection closed": ConnectionClosedError(endpoint_url=ENDPOINT),
    "a transaction conflict": cancelled("None", "TransactionConflict"),
    "a transaction's condition race": cancelled("ConditionalCheckFailed", "None"),
    "a transaction throttled": cancelled("ThrottlingError", "None"),
    "a conditional write race": client_error("ConditionalCheckFailedException"),
    "a write during a transaction": client_error("TransactionConflictException"),
    "PynamoDB: throttled": pynamodb_error("ProvisionedThroughputExceededException"),
    "PynamoDB: 500 (no status kept)": pynamodb_error("InternalServerError", GetError),
    "PynamoDB: a read timeout": PutError("Failed to put", ReadTimeoutError(endpoint_url=ENDPOINT)),
    "PynamoDB: a transaction conflict": pynamodb_error("TransactionCanceledException", TransactWriteError,
                                                       (None, "TransactionConflict")),
    "the case changed meanwhile": ConcurrentUpdate("CM-1234"),
    "a send window busy": WindowBusy({"+8613800138000": 1_790_000_060.0}),
    "an answer in flight": AnswerInFlight("sms-1#0", retry_after=42.0),
    "a wrapper raised from a throttle": caused_by(client_error("ThrottlingException")),
}

WILL_NOT_PASS = {
    "SNS refusing a number": client_error("InvalidParameter", operation="Publish"),
    "a validation error": client_error("ValidationException"),
    "access denied": client_error("AccessDeniedException", status=403),
    "no such table": client_error("ResourceNotFoundException"),
    "a transaction invalid": cancelled("ValidationError", "None"),
    "a transaction over an item's limit": cancelled("ItemCollectionSizeLimitExceeded", "TransactionConflict"),
    "a transaction with no reasons": client_error("TransactionCanceledException"),
    "PynamoDB: a transaction invalid": pynamodb_error("TransactionCanceledException", TransactWriteError,
                                                      ("ValidationError",)),
    "PynamoDB: access denied": pynamodb_error("AccessDeniedException", GetError),
    "no credentials": NoCredentialsError(),
    "bad parameters": ParamValidationError(report="Missing required parameter"),
    "a bug": ValueError("invalid literal for int()"),
    "Python's own ConnectionError (botocore never raises it bare)": ConnectionError("SNS is unreachable"),
    "Python's own TimeoutError": TimeoutError("timed out"),
    "a code taken": CodeTaken("CM-1234"),
    "the directory changed": DirectoryConflict("another import won"),
    "a bug raised while handling a throttle": raised_while_handling(client_error("ThrottlingException")),
}


# -- what may pass ------------------------------------------------------------------------------
@pytest.mark.parametrize("error", MAY_PASS.values(), ids=MAY_PASS.keys())
def test_given_an_error_that_may_pass_by_itself_when_classified_then_it_is_transient(error):
    assert is_transient(error) is True


@pytest.mark.parametrize("error", WILL_NOT_PASS.values(), ids=WILL_NOT_PASS.keys())
def test_given_an_error_that_a_few_seconds_will_not_fix_when_classified_then_it_is_not_transient(error):
    assert is_transient(error) is False


@pytest.mark.parametrize("code", botocore_throttling_codes())
def test_given_any_code_botocores_own_retries_call_throttling_when_classified_then_it_is_transient(code):
    # The product module names the codes (it imports no AWS library); botocore is the reference.
    assert is_transient(client_error(code)) and is_transient(pynamodb_error(code))


def test_given_an_error_chain_that_loops_when_classified_then_the_answer_still_comes():
    first, second = ValueError("a"), ValueError("b")
    first.__cause__, second.__cause__ = second, first
    assert is_transient(first) is False


# -- when it comes back ------------------------------------------------------------------------------
def draws(receives: int, transient: bool, n: int = 400) -> set[int]:
    return {backoff_seconds(receives, transient) for _ in range(n)}


@pytest.mark.parametrize("receives, low, high", [(1, 1, 2), (2, 7, 10), (3, 37, 50), (4, 187, 250),
                                                 (5, 675, 900), (10, 675, 900), (40, 675, 900)])
def test_given_n_receives_when_a_transient_failure_is_retried_then_it_comes_back_in_seconds_growing_fivefold(
        receives, low, high):
    delays = draws(receives, transient=True)
    assert low <= min(delays) and max(delays) <= high
    assert len(delays) > 1                     # jittered: failures that came together spread out


def test_given_a_first_transient_failure_when_retried_then_it_is_back_within_five_seconds_and_never_at_once():
    assert draws(1, transient=True) <= {1, 2, 3, 4, 5} and 0 not in draws(1, transient=True)


def test_given_a_transient_failure_that_persists_when_retried_then_it_is_dead_lettered_after_about_five_minutes():
    # The default redrive limit (maxReceiveCount 5): four waits, then the dead-letter queue.
    waits = [draws(receives, transient=True) for receives in range(1, 5)]
    assert 3 * 60 <= sum(min(w) for w in waits) and sum(max(w) for w in waits) <= 6 * 60, waits


def test_given_n_receives_when_another_error_is_retried_then_it_comes_back_after_about_30_s_doubling():
    for receives, (low, high) in enumerate([(22, 30), (45, 60), (90, 120), (180, 240), (360, 480)], start=1):
        delays = draws(receives, transient=False)
        assert low <= min(delays) and max(delays) <= high, (receives, delays)


def test_given_the_same_receive_when_retried_then_another_error_waits_longer_than_a_transient_one():
    # Only for the first three receives: ×5 overtakes ×2 from the fourth (transient 187-250 s,
    # other 180-240 s; the fifth is 675-900 s against 360-480 s). By then a failure that
    # "may pass" has not passed for a minute, and the longer wait is what dead-letters it
    # after about five minutes rather than half a minute.
    for receives in range(1, 4):
        assert max(draws(receives, transient=True)) < min(draws(receives, transient=False))
    assert min(draws(1, transient=False)) >= 22          # about 30 s, as before


def test_given_many_receives_when_retried_then_no_delay_passes_fifteen_minutes():
    assert max(draws(60, transient=True) | draws(60, transient=False)) <= MAX_BACKOFF == 900


def test_given_an_error_that_says_when_to_come_back_when_retried_then_it_waits_at_least_that_long():
    delay, transient = retry_delay(AnswerInFlight("sms-1#0", retry_after=41.2), receives=1)
    assert transient and delay == 42                      # rounded up, not down
    delay, _ = retry_delay(AnswerInFlight("sms-1#0", retry_after=1.0), receives=3)
    ceiling = backoff_ceiling(3, transient=True)          # a short wait: the backoff still applies
    assert int(JITTER * ceiling) <= delay <= ceiling


# -- through process_batch ------------------------------------------------------------------------------
class Letters:
    def __init__(self) -> None:
        self.put_ = []

    def put(self, body: str, reason: str, source: str, message_id: str | None = None) -> None:
        self.put_.append((body, reason, source, message_id))


FAILURES = {"throttled": client_error("ProvisionedThroughputExceededException"),
            "race": ConcurrentUpdate("CM-1234"), "bug": ValueError("no such field"),
            "refused": client_error("InvalidParameter", operation="Publish"),
            "poison": PermanentFailure("not JSON")}


def run(bodies: list[str], receives: int, max_receive_count: int = 5):
    """process_batch over one batch whose records fail as their bodies say."""
    asked: dict[str, int] = {}
    letters = Letters()

    def handle(body: str, _: str) -> None:
        if body in FAILURES:
            raise FAILURES[body]

    records = [record(body, f"m-{body}", receives) for body in bodies]
    handles = {r["receiptHandle"]: r["body"] for r in records}
    response = process_batch({"Records": records}, None, handle, letters, "gridloop-local-intake",
                             max_receive_count, retry_later=lambda h, s: asked.__setitem__(handles[h], s))
    return response, asked, letters


def test_given_a_batch_when_records_fail_then_each_is_asked_back_by_what_failed_and_the_rest_is_done(caplog):
    caplog.set_level("INFO", logger="gridloop.consumer")
    response, asked, letters = run(["ok", "throttled", "race", "bug", "refused", "poison"], receives=1)

    failed = sorted(f["itemIdentifier"] for f in response["batchItemFailures"])
    assert failed == ["m-bug", "m-race", "m-refused", "m-throttled"]
    assert 1 <= asked["throttled"] <= 2 and 1 <= asked["race"] <= 2
    assert 22 <= asked["bug"] <= 30 and 22 <= asked["refused"] <= 30
    assert [(body, reason) for body, reason, *_ in letters.put_] == [("poison", "not JSON")]
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying ")]
    assert f"retrying m-throttled from gridloop-local-intake in {asked['throttled']} s (receive 1 of 5, transient)" \
        in "\n".join(said)
    assert any(line.startswith(f"retrying m-bug from gridloop-local-intake in {asked['bug']} s "
                               "(receive 1 of 5, not known to pass): ValueError") for line in said)


def test_given_the_redrive_limit_when_a_transient_failure_persists_then_it_is_dead_lettered_with_its_reason():
    response, asked, letters = run(["throttled", "bug"], receives=5)

    assert response["batchItemFailures"] == [] and asked == {}
    assert [(body, reason.split("(")[0], source, message_id) for body, reason, source, message_id in letters.put_] \
        == [("throttled", "failed 5 times, last: ClientError", "gridloop-local-intake", "m-throttled"),
            ("bug", "failed 5 times, last: ValueError", "gridloop-local-intake", "m-bug")]
    assert "ProvisionedThroughputExceededException" in letters.put_[0][1]


def test_given_a_retry_that_cannot_be_delayed_when_a_record_fails_then_it_still_fails_and_the_log_says_when(caplog):
    def refuse(handle: str, seconds: int) -> None:
        raise client_error("RequestThrottled", operation="ChangeMessageVisibility")

    def handle(body: str, _: str) -> None:
        raise ConcurrentUpdate("CM-1")

    caplog.set_level("INFO", logger="gridloop.consumer")
    response = process_batch({"Records": [record(json.dumps({}), "m-1")]}, None, handle, Letters(),
                             "gridloop-local-intake", 5, retry_later=refuse)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == ["m-1"]
    assert any("retrying m-1 from gridloop-local-intake after the queue's visibility timeout" in r.getMessage()
               for r in caplog.records)
