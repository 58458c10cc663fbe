"""Where a text message goes, chosen by ``SMS_BACKEND``.

* ``console``: printed on the server's console (the demo and development show one-time codes
  this way). Never in production: codes would end up in logs and nobody would receive them.
* ``database``: kept in the ``sms_message`` table only; the tests read messages there.
* ``http``: POSTed to the gateway at ``SMS_GATEWAY_URL`` with ``SMS_GATEWAY_TOKEN`` (bearer),
  JSON ``{"id", "to", "text"}``, the message id also as ``Idempotency-Key`` so that a retry
  after a lost answer is not sent twice by a gateway that honours it. A 2xx answer means
  accepted; redirects are not followed (a redirect is a failure, not a new destination).

Backends do no database work: delivery.py records what they report.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import requests
from flask import current_app


class SendFailed(Exception):
    """The backend did not take the message; the reason is kept for `portal sms retry`."""


@dataclass(frozen=True)
class Outgoing:
    public_id: str
    to_e164: str
    text: str


class ConsoleBackend:
    name = "console"
    keeps_text = False

    def send(self, message: Outgoing) -> str | None:
        print(f"[SMS to {message.to_e164}] {message.text}", file=sys.stderr, flush=True)
        return None


class DatabaseBackend:
    name = "database"
    # The table is where this backend's messages are read: the text must stay whole.
    keeps_text = True

    def send(self, message: Outgoing) -> str | None:
        return None


class HttpBackend:
    name = "http"
    keeps_text = False
    user_agent = "SunshinePortal-SMS/1"

    def __init__(self, url: str, token: str, timeout: float):
        self.url = url
        self.token = token
        self.timeout = timeout

    def send(self, message: Outgoing) -> str | None:
        try:
            response = requests.post(
                self.url,
                json={"id": message.public_id, "to": message.to_e164, "text": message.text},
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Idempotency-Key": message.public_id,
                    "User-Agent": self.user_agent,
                },
                timeout=(min(3.05, self.timeout), self.timeout),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise SendFailed(f"{type(exc).__name__}: {exc}"[:500]) from exc
        if not 200 <= response.status_code < 300:
            raise SendFailed(f"HTTP {response.status_code}")
        try:
            reference = response.json().get("id")
        except (ValueError, AttributeError):
            reference = None
        return str(reference)[:100] if reference else None


BACKENDS = ("console", "database", "http")


def configured_backend():
    config = current_app.config
    name = config["SMS_BACKEND"]
    if name == "console":
        return ConsoleBackend()
    if name == "database":
        return DatabaseBackend()
    if name == "http":
        return HttpBackend(
            config["SMS_GATEWAY_URL"], config["SMS_GATEWAY_TOKEN"], config["SMS_GATEWAY_TIMEOUT_SECONDS"]
        )
    raise ValueError(f"SMS_BACKEND must be one of {', '.join(BACKENDS)}, not {name!r}")
