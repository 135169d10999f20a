"""Seeing every AWS request our code makes, whoever created the client.

boto3 clients (the Container's) and PynamoDB's own botocore client are all made by
`botocore.session.Session.create_client`; while `hook_every_client` is active,
each client it creates gets the given event handlers.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import botocore.session

Handler = tuple[str, Callable[..., Any]]


@contextlib.contextmanager
def hook_every_client(handlers: Sequence[Handler], first: Sequence[Handler] = ()) -> Iterator[None]:
    """Register `handlers` (and `first`, ahead of botocore's and moto's own) on every
    botocore client created inside the block."""
    original = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        for event, handler in handlers:
            client.meta.events.register(event, handler)
        for event, handler in first:
            client.meta.events.register_first(event, handler)
        return client

    botocore.session.Session.create_client = create_client
    try:
        yield
    finally:
        botocore.session.Session.create_client = original


def operation_of(model: Any) -> str:
    """'dynamodb.PutItem' from an operation model."""
    return f"{model.service_model.service_name}.{model.name}"
