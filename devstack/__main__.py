"""`make run`: the whole of gridloop on this machine, with no AWS account.

An AWS emulator (moto server) on 127.0.0.1; the stage `local`'s tables, queues
and topics created from infra/resources.json; the demo directory; the HTTP API;
a poller per queue that hands Lambda-shaped batches to the very handlers that
Lambda runs; the escalation sweep on its schedule. Ctrl-C stops all of it.
"""
from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"   # nothing of the local stack listens anywhere else


def configure_environment() -> dict[str, Any]:
    env = os.environ
    settings = {
        "http_port": int(env.get("GRIDLOOP_HTTP_PORT", "8000")),
        "aws_port": int(env.get("GRIDLOOP_AWS_PORT", "5000")),
        "sweep_seconds": float(env.get("GRIDLOOP_SWEEP_SECONDS", "2")),
        "time_scale": float(env.get("GRIDLOOP_TIME_SCALE", "1")),
    }
    env["GRIDLOOP_STAGE"] = "local"
    # The local stage's environment from .chalice/config.json, as Lambda would have it (the
    # gateways' demo secrets, ...); a variable already set in the shell wins.
    for name, value in local_stage_environment().items():
        env.setdefault(name, value)
    env["GRIDLOOP_AWS_ENDPOINT"] = f"http://{HOST}:{settings['aws_port']}"
    # The away members' daily digest goes to the stack's own group robot (POST /dev/webhook)
    # unless GRIDLOOP_DIGEST_WEBHOOKS says otherwise (README "Daily digest").
    from devstack.digest_routes import default_config
    env.setdefault("GRIDLOOP_DIGEST_WEBHOOKS", default_config(f"http://{HOST}:{settings['http_port']}"))
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    # The emulator accepts any credentials; these never reach AWS.
    env["AWS_ACCESS_KEY_ID"] = "local"
    env["AWS_SECRET_ACCESS_KEY"] = "local"
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    return settings


def local_stage_environment() -> dict[str, str]:
    import json

    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return {**config.get("environment_variables", {}),
            **config.get("stages", {}).get("local", {}).get("environment_variables", {})}


DEMO_SECRET_PREFIX = "local-demo-"   # the fake secrets of .chalice/config.json's local stage


def gateway_lines(base: str) -> str:
    """The banner's gateway lines; a secret is shown only if it is one of the fake demo ones."""
    def secret(variable: str) -> str | None:
        value = os.environ.get(variable) or ""
        return value if value.startswith(DEMO_SECRET_PREFIX) else None

    twilio, tencent = secret("GRIDLOOP_TWILIO_AUTH_TOKEN"), secret("GRIDLOOP_TENCENT_CALLBACK_TOKEN")
    unset = " (not set: refused)"
    twilio_note = (f"auth token {twilio}" if twilio else "auth token GRIDLOOP_TWILIO_AUTH_TOKEN"
                   + ("" if os.environ.get("GRIDLOOP_TWILIO_AUTH_TOKEN") else unset))
    tencent_note = ("" if tencent or os.environ.get("GRIDLOOP_TENCENT_CALLBACK_TOKEN")
                    else f"; GRIDLOOP_TENCENT_CALLBACK_TOKEN{unset}")
    return (f"  SMS gateways   {base}/sms/twilio   (Twilio webhook; {twilio_note})\n"
            f"                 {base}/sms/tencent?token={tencent or 'TOKEN'}   (Tencent Cloud reply callback{tencent_note})\n"
            f"                 {base}/dev/sns/sms   (AWS End User Messaging JSON, delivered as its SNS topic would)")


class LambdaContext:
    """Enough of Lambda's context object for the handlers and Powertools."""

    def __init__(self, function_name: str, timeout_s: int = 30):
        self.function_name = f"gridloop-local-{function_name}"
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.time() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """What the Lambda service hands a function for a batch of SQS messages."""
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}),
        "messageAttributes": {k: {"stringValue": v.get("StringValue"), "dataType": v["DataType"]}
                              for k, v in m.get("MessageAttributes", {}).items()},
        "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn, "awsRegion": "us-east-1"} for m in messages]}


class QueuePoller(threading.Thread):
    """The Lambda service's SQS event source mapping, in miniature."""

    def __init__(self, sqs: Any, queue_name: str, handler: Callable, name: str, batch_size: int,
                 stop: threading.Event):
        super().__init__(name=f"poller-{name}", daemon=True)
        self.sqs, self.handler, self.function, self.batch_size, self.stop = sqs, handler, name, batch_size, stop
        self.url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        self.arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.poll_once()
            except Exception as error:   # keep polling; the message stays on the queue
                print(f"[{self.function}] poll failed: {error!r}", file=sys.stderr, flush=True)
                self.stop.wait(1)

    def poll_once(self) -> None:
        messages = self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=self.batch_size, WaitTimeSeconds=1,
            AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return
        try:
            result = self.handler(sqs_event(messages, self.arn), LambdaContext(self.function)) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception as error:
            print(f"[{self.function}] batch failed: {error!r}", file=sys.stderr, flush=True)
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        for m in messages:
            if m["MessageId"] in failed:
                # Lambda would wait out the visibility timeout; locally, retry soon.
                self.sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"],
                                                   VisibilityTimeout=5)


class Scheduler(threading.Thread):
    def __init__(self, handler: Callable, name: str, every: float, stop: threading.Event):
        super().__init__(name=f"schedule-{name}", daemon=True)
        self.handler, self.function, self.every, self.stop = handler, name, every, stop

    def run(self) -> None:
        while not self.stop.wait(self.every):
            event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                     "source": "aws.events", "account": "123456789012",
                     "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "region": "us-east-1",
                     "resources": [f"arn:aws:events:us-east-1:123456789012:rule/gridloop-local-{self.function}"],
                     "detail": {}}
            try:
                self.handler(event, LambdaContext(self.function))
            except Exception as error:
                print(f"[{self.function}] failed: {error!r}", file=sys.stderr, flush=True)


class PolicyWatcher(threading.Thread):
    """Reads the policy files again when one is edited, as a deploy would in AWS: new
    cases take the new limits, running cases keep theirs. A broken file is reported and
    the policy in force stays."""

    def __init__(self, container: Any, stop: threading.Event, every: float = 1.0):
        super().__init__(name="policy-watcher", daemon=True)
        self.container, self.stop, self.every = container, stop, every
        self.seen = self.stamp()

    def stamp(self) -> dict[str, float]:
        return {str(p): p.stat().st_mtime for p in self.container.policy_files()}

    def run(self) -> None:
        while not self.stop.wait(self.every):
            stamp = self.stamp()
            if stamp == self.seen:
                continue
            self.seen = stamp
            try:
                self.container.reload_policies()
            except Exception as error:
                print(f"[policy] not reloaded, the policy in force stays: {error}", file=sys.stderr, flush=True)
                continue
            versions = ", ".join(sorted(b.version for b in self.container.policies.books.values()))
            print(f"[policy] reloaded: {versions}", flush=True)


def _any_method_handler() -> type:
    from chalice.local import ChaliceRequestHandler

    class AnyMethodHandler(ChaliceRequestHandler):
        """Chalice's local handler knows GET, POST, PUT, PATCH, DELETE, HEAD and OPTIONS, and the
        standard library answers any other method (TRACE, CONNECT, ...) with a 501 HTML page: a
        5xx that API Gateway never gives. Hand them to the app, which refuses them with a 405."""

        def __getattr__(self, name: str) -> Any:
            if name.startswith("do_"):
                return self._generic_handle
            raise AttributeError(name)

    return AnyMethodHandler


def port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def main() -> int:
    settings = configure_environment()
    for what, variable in (("http_port", "GRIDLOOP_HTTP_PORT"), ("aws_port", "GRIDLOOP_AWS_PORT")):
        if not port_free(settings[what]):
            print(f"port {settings[what]} on {HOST} is in use: stop what runs there or set {variable}",
                  file=sys.stderr)
            return 1
    sys.path.insert(0, str(ROOT))
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    aws = ThreadedMotoServer(ip_address=HOST, port=settings["aws_port"], verbose=False)
    aws.start()

    import boto3
    from chalice.config import Config as ChaliceConfig
    from chalice.local import create_local_server

    import app as app_module
    from chalicelib import bootstrap
    from devstack.dev_routes import RecordingSms, dev
    from devstack.resources import create_all, load_demo_directory

    endpoint = os.environ["GRIDLOOP_AWS_ENDPOINT"]
    created = create_all(boto3.session.Session(), "local", endpoint_url=endpoint)
    container = bootstrap.Container()
    container.sms = RecordingSms(container.sms)
    bootstrap.use(container)
    communities = load_demo_directory(container.directory_store)

    app = app_module.app
    app.register_blueprint(dev)
    from devstack.digest_routes import banner_line as digest_line, digest_dev
    app.register_blueprint(digest_dev)
    stop = threading.Event()
    workers: list[threading.Thread] = []
    for source in app.event_sources:
        handler = getattr(app_module, source.name)
        if type(source).__name__ == "SQSEventConfig":
            workers.append(QueuePoller(container.sqs_client, source.queue, handler, source.name,
                                       source.batch_size, stop))
        elif type(source).__name__ == "ScheduledEventConfig":
            workers.append(Scheduler(handler, source.name, settings["sweep_seconds"], stop))
    workers.append(PolicyWatcher(container, stop))
    # SNS has no poller: POST /dev/sns/sms hands its payload to the subscriber as SNS would.
    sns_handlers = [f"{s.name} (POST /dev/sns/sms)" for s in app.event_sources
                    if type(s).__name__ == "SNSEventConfig"]
    for worker in workers:
        worker.start()

    chalice_config = ChaliceConfig.create(chalice_stage="local", app_name="gridloop",
                                          project_dir=str(ROOT))
    server = create_local_server(app, chalice_config, HOST, settings["http_port"])
    server.server.RequestHandlerClass = functools.partial(_any_method_handler(), app_object=app,
                                                          config=chalice_config)
    http = threading.Thread(target=server.server.serve_forever, name="http", daemon=True)
    http.start()

    base = f"http://{HOST}:{settings['http_port']}"
    directory = container.directory()
    leader = directory.member("changmu", directory.communities["changmu"].units["b03-2"].leader_id)
    print(f"""
gridloop local stack is up (stage local, time scale {settings['time_scale']:g}, sweep every {settings['sweep_seconds']:g}s)
  HTTP API       {base}   (GET /health /categories /grid /reports/CODE, POST /reports; described by GET /openapi.json)
  dev routes     {base}/dev/outbox   {base}/dev/sms   {base}/dev/sns/sms
{gateway_lines(base)}
  AWS emulator   {endpoint}   (moto; tables, queues and topics gridloop-local-*: {len(created)} created)
  communities    {', '.join(communities)}
{digest_line(base)}
  handlers       {', '.join([w.function for w in workers if hasattr(w, "function")] + sns_handlers)}
  policies       {', '.join(sorted(b.version for b in container.policies.books.values()))} (edit {container.policy_dir}: reloaded on save)

Try it:
  curl -s -XPOST {base}/reports -H 'Content-Type: application/json' \\
       -d '{{"category":"sanitation","location":"changmu-03-2","description":"楼道垃圾好几天没人清"}}'
  curl -s -XPOST {base}/dev/sms -H 'Content-Type: application/json' \\
       -d '{{"from":"{leader.phone}","text":"收到 CODE"}}'     # {leader.name}, stairwell leader of 3号楼2单元
Every SMS the system sends is printed below. Ctrl-C stops everything.
""", flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    print("\nstopping...", flush=True)
    stop.set()
    server.server.shutdown()
    for worker in workers:
        worker.join(timeout=3)
    aws.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
