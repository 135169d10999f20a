"""`make run`: the whole of gridloop on this machine, with no AWS account.

An AWS emulator (moto server) for the queues and topics and DynamoDB Local, AWS's own
engine, for the tables, both on 127.0.0.1 (GRIDLOOP_DYNAMODB=moto keeps the tables in
moto too); the stage `local`'s resources created from infra/resources.json; the demo
directory; the HTTP API; a poller per queue that hands Lambda-shaped batches to the very
handlers that Lambda runs; the escalation sweep on its schedule. Ctrl-C stops all of it.
"""
from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"   # nothing of the local stack listens anywhere else


def configure_environment() -> dict[str, Any]:
    env = os.environ
    settings = {
        "http_port": int(env.get("GRIDLOOP_HTTP_PORT", "8000")),
        "aws_port": int(env.get("GRIDLOOP_AWS_PORT", "5000")),
        "dynamodb_port": int(env.get("GRIDLOOP_DYNAMODB_PORT", "5001")),
        "dynamodb": env.get("GRIDLOOP_DYNAMODB", "local"),
        "workers": max(1, int(env.get("GRIDLOOP_WORKERS", "2"))),
        "pollers": max(1, int(env.get("GRIDLOOP_POLLERS", "16"))),
        "sweep_seconds": float(env.get("GRIDLOOP_SWEEP_SECONDS", "2")),
        "time_scale": float(env.get("GRIDLOOP_TIME_SCALE", "1")),
    }
    env["GRIDLOOP_STAGE"] = "local"
    # The local stage's environment from .chalice/config.json, as Lambda would have it (the
    # gateways' demo secrets, ...); a variable already set in the shell wins.
    for name, value in local_stage_environment().items():
        env.setdefault(name, value)
    env["GRIDLOOP_AWS_ENDPOINT"] = f"http://{HOST}:{settings['aws_port']}"
    env.pop("GRIDLOOP_DYNAMODB_ENDPOINT", None)      # set once DynamoDB Local answers (tables_engine)
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
            f"                 {base}/sms/tencent?token={tencent or 'TOKEN'}"
            f"   (Tencent Cloud reply callback{tencent_note})\n"
            f"                 {base}/dev/sns/sms   (AWS End User Messaging JSON, delivered as its SNS topic would)")


def open311_line(base: str) -> str:
    """The banner's Open311 line, with the demo api_key if it is the fake demo one."""
    key = os.environ.get("GRIDLOOP_OPEN311_DEMO_KEY") or ""
    note = (f"demo api_key {key}" if key.startswith(DEMO_SECRET_PREFIX)
            else "api_key GRIDLOOP_OPEN311_DEMO_KEY" if key else "no demo api_key: make ops ARGS='api-key-issue NAME'")
    return f"  Open311        {base}/open311/v2/discovery.json   (GeoReport v2; {note})"


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
    """Whether the servers can bind `port`: probed the way they bind it. Both set SO_REUSEADDR
    (http.server does), so the last run's TIME-WAIT sockets do not block a restart, while a
    socket that really listens there still does."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


ENGINES = ("local", "moto")


@contextlib.contextmanager
def aws_emulator(settings: dict[str, Any]) -> Iterator[None]:
    """moto server, for the queues and topics, in a process of its own (devstack.moto_process)
    on 127.0.0.1, running for as long as the stack does."""
    from devstack.processes import answers, spawn, stop

    process = spawn([sys.executable, "-m", "devstack.moto_process", str(settings["aws_port"])], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not answers(settings["aws_port"]):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"moto server did not start on {HOST}:{settings['aws_port']}")
            time.sleep(0.1)
        yield
    finally:
        stop(process)


@contextlib.contextmanager
def tables_engine(settings: dict[str, Any]) -> Iterator[str]:
    """The engine that holds the tables, running for as long as the stack does; yields the
    banner's line. DynamoDB Local (the default) answers at GRIDLOOP_DYNAMODB_ENDPOINT; when
    it cannot be had (no Java, no npm registry), one line says why and moto holds them."""
    if settings["dynamodb"] == "moto":
        yield "moto (GRIDLOOP_DYNAMODB=moto)"
        return
    from devstack import dynamodb_local

    with contextlib.ExitStack() as running:
        try:       # only its start may fall back to moto, not what runs while it serves
            endpoint, label = running.enter_context(dynamodb_local.running(settings["dynamodb_port"]))
        except dynamodb_local.Unavailable as why:
            print(f"DynamoDB Local cannot start ({why}): the tables are in moto instead", file=sys.stderr, flush=True)
            yield "moto (DynamoDB Local could not start: see above)"
            return
        os.environ["GRIDLOOP_DYNAMODB_ENDPOINT"] = endpoint
        yield f"{label} at {endpoint}"


def refused_ports(settings: dict[str, Any]) -> list[str]:
    ports = [("http_port", "GRIDLOOP_HTTP_PORT"), ("aws_port", "GRIDLOOP_AWS_PORT")]
    if settings["dynamodb"] == "local":
        ports.append(("dynamodb_port", "GRIDLOOP_DYNAMODB_PORT"))
    return [f"port {settings[what]} on {HOST} is in use: stop what runs there or set {variable}"
            for what, variable in ports if not port_free(settings[what])]


def main() -> int:
    settings = configure_environment()
    if settings["dynamodb"] not in ENGINES:
        print(f"GRIDLOOP_DYNAMODB must be one of {', '.join(ENGINES)}, not {settings['dynamodb']!r}",
              file=sys.stderr)
        return 1
    refusals = refused_ports(settings)
    if refusals:
        print("\n".join(refusals), file=sys.stderr)
        return 1
    with aws_emulator(settings), tables_engine(settings) as tables:
        return serve(settings, tables)


def serve(settings: dict[str, Any], tables: str) -> int:
    sys.path.insert(0, str(ROOT))
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    import boto3

    import app as app_module
    from chalicelib import bootstrap
    from devstack.dev_routes import RecordingSms, dev
    from devstack.lambda_runtime import PolicyWatcher, Scheduler, warm_clients
    from devstack.resources import create_all, load_demo_directory
    from devstack.workers import running as consumer_processes

    endpoint = os.environ["GRIDLOOP_AWS_ENDPOINT"]
    created = create_all(boto3.session.Session(), "local", endpoint_url=endpoint,
                         dynamodb_endpoint_url=os.environ.get("GRIDLOOP_DYNAMODB_ENDPOINT"))
    container = bootstrap.Container()
    container.sms = RecordingSms(container.sms)
    bootstrap.use(container)
    communities = load_demo_directory(container.directory_store)
    warm_clients(container)

    app = app_module.app
    app.register_blueprint(dev)
    from devstack.digest_routes import banner_line as digest_line
    from devstack.digest_routes import digest_dev
    app.register_blueprint(digest_dev)
    stop = threading.Event()
    # The queues' consumers run in processes of their own (devstack.workers); the schedules here.
    workers: list[threading.Thread] = [
        Scheduler(getattr(app_module, source.name), source.name, settings["sweep_seconds"], stop)
        for source in app.event_sources if type(source).__name__ == "ScheduledEventConfig"]
    workers.append(PolicyWatcher(container, stop))
    consumers = [s.name for s in app.event_sources if type(s).__name__ == "SQSEventConfig"]
    # SNS has no poller: POST /dev/sns/sms hands its payload to the subscriber as SNS would.
    sns_handlers = [f"{s.name} (POST /dev/sns/sms)" for s in app.event_sources
                    if type(s).__name__ == "SNSEventConfig"]
    sweep = settings["sweep_seconds"]
    policies = ", ".join(sorted(b.version for b in container.policies.books.values()))
    with consumer_processes(settings["workers"], container.sms):
        for worker in workers:
            worker.start()
        return listen(settings, app, container, workers, stop, banner=lambda base: f"""
gridloop local stack is up (stage local, time scale {settings['time_scale']:g}, sweep every {sweep:g}s)
  HTTP API       {base}   (GET /health /categories /grid /reports/CODE, POST /reports; described by GET /openapi.json)
  web pages      {base}/   (the residents' report page; a report's status at {base}/r/CODE)
  dev routes     {base}/dev/outbox   {base}/dev/sms   {base}/dev/sns/sms
{gateway_lines(base)}
{open311_line(base)}
  AWS emulator   {endpoint}   (moto: queues and topics; gridloop-local-*: {len(created)} resources created)
  tables         {tables}
  communities    {', '.join(communities)}
{digest_line(base)}
  consumers      {', '.join(consumers)}: {settings['workers']} processes × {settings['pollers']} pollers a queue
  schedules      {', '.join(w.function for w in workers if hasattr(w, "function"))}; {', '.join(sns_handlers)}
  policies       {policies} (edit {container.policy_dir}: reloaded on save)
""")


def listen(settings: dict[str, Any], app: Any, container: Any, workers: list[threading.Thread],
           stop: threading.Event, banner: Callable[[str], str]) -> int:
    """The HTTP API until Ctrl-C or SIGTERM, then everything stopped."""
    from chalice.config import Config as ChaliceConfig
    from chalice.local import create_local_server

    chalice_config = ChaliceConfig.create(chalice_stage="local", app_name="gridloop",
                                          project_dir=str(ROOT))
    server = create_local_server(app, chalice_config, HOST, settings["http_port"])
    server.server.RequestHandlerClass = functools.partial(_any_method_handler(), app_object=app,
                                                          config=chalice_config)
    # http.server listens with a backlog of 5: a burst of clients would wait out SYN retries.
    server.server.socket.listen(128)
    http = threading.Thread(target=server.server.serve_forever, name="http", daemon=True)
    http.start()

    base = f"http://{HOST}:{settings['http_port']}"
    directory = container.directory()
    leader = directory.member("changmu", directory.communities["changmu"].units["b03-2"].leader_id)
    print(f"""{banner(base)}
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
