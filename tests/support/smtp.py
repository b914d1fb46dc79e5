"""A real SMTP server for tests (aiosmtpd) that records every message it accepts.

``stop()`` and ``start()`` keep the same port, so a test can take the mail server away (an
outage) and bring it back while the API keeps its ``SMTP_URL``.
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from apranova.local.postgres import free_port


class _Recorder:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self._sink._record(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps the messages it receives."""

    def __init__(self, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self._messages: list[EmailMessage] = []
        self._lock = threading.Condition()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        """The ``SMTP_URL`` that reaches this server."""
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> None:
        self._controller = Controller(_Recorder(self), hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _record(self, message: EmailMessage) -> None:
        with self._lock:
            self._messages.append(message)
            self._lock.notify_all()

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._messages)

    def wait_for(
        self, predicate: Callable[[EmailMessage], bool], timeout: float = 60.0
    ) -> EmailMessage:
        """The first received message matching ``predicate``; waits up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for message in self._messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no matching email within {timeout}s")
                self._lock.wait(remaining)


def body_of(message: EmailMessage) -> str:
    """The plain-text body of a received message."""
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""
