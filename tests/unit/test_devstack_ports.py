"""`make run` probes its ports before it starts: a port left in TIME-WAIT by the last run is
free (the servers bind with SO_REUSEADDR), a port something listens on is not."""
from __future__ import annotations

import os
import socket

from devstack.__main__ import HOST, port_free


def _listener() -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((HOST, 0))
    server.listen()
    return server


def test_a_port_in_time_wait_after_the_last_run_is_free():
    # GIVEN a server that answered a connection and closed it first, as an HTTP server does
    server = _listener()
    port = server.getsockname()[1]
    client = socket.create_connection((HOST, port))
    accepted, _ = server.accept()
    accepted.close()               # the server side closes first: its socket goes to TIME-WAIT
    client.recv(1)
    client.close()
    server.close()
    # WHEN the stack probes the port again at once
    # THEN it is free to bind
    assert port_free(port)


def test_a_port_something_listens_on_is_refused():
    # GIVEN something really listening on the port
    server = _listener()
    try:
        # WHEN the stack probes it THEN it is in use
        assert not port_free(server.getsockname()[1])
    finally:
        server.close()


def test_without_java_the_tables_stay_in_moto_and_one_line_says_why(monkeypatch, capsys):
    # GIVEN DynamoDB Local cannot start here (no Java)
    from devstack import __main__ as stack
    from devstack import dynamodb_local

    def unavailable(port=None):
        raise dynamodb_local.Unavailable("java is not installed")

    monkeypatch.setattr(dynamodb_local, "running", unavailable)
    monkeypatch.delenv("GRIDLOOP_DYNAMODB_ENDPOINT", raising=False)
    # WHEN the stack picks the engine for its tables
    with stack.tables_engine({"dynamodb": "local", "dynamodb_port": 5001}) as banner:
        pass
    # THEN moto holds them, the banner says so, and one line says why
    said = capsys.readouterr().err.strip().splitlines()
    assert said == ["DynamoDB Local cannot start (java is not installed): the tables are in moto instead"]
    assert banner.startswith("moto")
    assert "GRIDLOOP_DYNAMODB_ENDPOINT" not in os.environ


def test_asked_for_moto_the_stack_does_not_start_dynamodb_local(monkeypatch):
    from devstack import __main__ as stack
    from devstack import dynamodb_local

    def started(port=None):
        raise AssertionError("DynamoDB Local was started")

    monkeypatch.setattr(dynamodb_local, "running", started)
    with stack.tables_engine({"dynamodb": "moto", "dynamodb_port": 5001}) as banner:
        assert banner == "moto (GRIDLOOP_DYNAMODB=moto)"
