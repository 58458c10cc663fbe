"""Delivering outbox events to lenders' webhooks: signed, in order per account, at least once.

* Each round claims due deliveries with a conditional UPDATE of ``locked_until`` (and, on
  PostgreSQL, ``FOR UPDATE SKIP LOCKED``), so several workers never send the same delivery
  at the same time.
* Only the oldest undelivered event of an account is claimable for a client, so each
  client receives an account's events in order.
* Failures back off exponentially with jitter; after three days a delivery is dead-lettered
  and listed for administrators (``portal outbox dead``).
* Receivers de-duplicate on the stable event id: delivery is at least once.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import random
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import requests
from flask import current_app
from requests.adapters import HTTPAdapter
from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import aliased

from portal.database import commit_before_external_call, updated
from portal.extensions import db
from portal.models import DeliveryStatus, OutboxDelivery
from portal.models.types import utcnow
from portal.outbox.events import RETRY_FOR

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Portal-Signature"
LOCK = timedelta(seconds=60)
SENDERS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=6)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>``, like Stripe's scheme."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300, now: float | None = None) -> bool:
    """The receiver's side (documented in the README): constant-time, with a replay window."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at 6 h, each ±50 % so that retries do not stampede."""
    base = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_WAIT)
    return base * random.uniform(0.5, 1.5)  # noqa: S311 - jitter, not security


class UnsafeDestination(Exception):
    pass


@dataclass(frozen=True)
class Destination:
    """Where one webhook POST goes: the address that was checked, and the name it was for.

    The connection is made to ``address`` (never to a second resolution of the name, which a
    hostile DNS server could answer differently), with the name in the Host header and, for
    https, in TLS's SNI and certificate check.
    """

    url: str  # the URL with the checked address in place of the name
    address: str
    host_header: str
    server_hostname: str


def check_destination(url: str, allow_private: bool = False) -> Destination:
    """Resolve the webhook's name once and check the answer; production refuses what could turn
    the worker against our own network (SSRF): plain http and non-public addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeDestination("webhook URLs must be https")
    if not allow_private and parts.scheme != "https":
        raise UnsafeDestination("webhook URLs must be https")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        answers = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeDestination(f"cannot resolve {parts.hostname}") from exc
    addresses = [str(info[4][0]) for info in answers]
    if not addresses:
        raise UnsafeDestination(f"cannot resolve {parts.hostname}")
    if not allow_private:
        for address in addresses:
            if not ipaddress.ip_address(address).is_global:
                raise UnsafeDestination(f"{parts.hostname} resolves to a non-public address")
    address = addresses[0]
    literal = f"[{address}]" if ":" in address else address
    netloc = literal + (f":{parts.port}" if parts.port else "")
    return Destination(
        url=urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
        address=address,
        host_header=parts.netloc.rsplit("@", 1)[-1],
        server_hostname=parts.hostname,
    )


class _PinnedTLS(HTTPAdapter):
    """TLS to an address, with SNI and the certificate check for the name that was resolved."""

    def __init__(self, server_hostname: str):
        self.server_hostname = server_hostname
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["server_hostname"] = self.server_hostname
        kwargs["assert_hostname"] = self.server_hostname
        super().init_poolmanager(*args, **kwargs)


def post_pinned(destination: Destination, body: bytes, headers: dict, timeout: float) -> requests.Response:
    with requests.Session() as session:
        session.mount("https://", _PinnedTLS(destination.server_hostname))
        return session.post(
            destination.url,
            data=body,
            headers={**headers, "Host": destination.host_header},
            timeout=(min(3.05, timeout), timeout),
            allow_redirects=False,
        )


@dataclass
class RoundResult:
    delivered: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def sent(self) -> int:
        return self.delivered + self.failed


def _claim(now: datetime, limit: int) -> list[int]:
    earlier = aliased(OutboxDelivery)
    blocked = exists().where(
        and_(
            earlier.client_id == OutboxDelivery.client_id,
            earlier.account_id == OutboxDelivery.account_id,
            earlier.event_id < OutboxDelivery.event_id,
            earlier.status == DeliveryStatus.PENDING,
        )
    )
    query = (
        select(OutboxDelivery.id)
        .where(
            OutboxDelivery.status == DeliveryStatus.PENDING,
            OutboxDelivery.next_attempt_at <= now,
            (OutboxDelivery.locked_until.is_(None)) | (OutboxDelivery.locked_until < now),
            ~blocked,
        )
        .order_by(OutboxDelivery.event_id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=OutboxDelivery)
    claimed = []
    for delivery_id in db.session.execute(query).scalars().all():
        won = updated(
            db.session.execute(
                update(OutboxDelivery)
                .where(
                    OutboxDelivery.id == delivery_id,
                    (OutboxDelivery.locked_until.is_(None)) | (OutboxDelivery.locked_until < now),
                )
                .values(locked_until=now + LOCK)
                .execution_options(synchronize_session=False)
            )
        )
        if won:
            claimed.append(delivery_id)
    commit_before_external_call("webhooks: the claims must hold while the POSTs are on their way")
    return claimed


@dataclass(frozen=True)
class _Outgoing:
    """Everything needed to send one delivery, read from the database beforehand."""

    delivery_id: int
    url: str | None
    secret: str | None
    body: bytes
    event_id: str
    event_type: str
    enabled: bool


def _outgoing(delivery: OutboxDelivery) -> _Outgoing:
    client = delivery.client
    return _Outgoing(
        delivery.id,
        client.webhook_url,
        client.webhook_secret,
        json.dumps(delivery.event.payload, sort_keys=True, separators=(",", ":")).encode(),
        delivery.event.event_id,
        delivery.event.type,
        client.disabled_at is None and bool(client.webhook_url),
    )


def _send(item: _Outgoing, timeout: float, allow_private: bool) -> str | None:
    """POST one event; None when the receiver took it, else what went wrong. No database here."""
    if not item.enabled or item.url is None or item.secret is None:
        return "client disabled or without webhook URL"
    try:
        destination = check_destination(item.url, allow_private)
    except UnsafeDestination as exc:
        return str(exc)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "SunshinePortal-Webhooks/1",
        # Signed with the wall-clock time of sending, which the receiver checks against its own.
        SIGNATURE_HEADER: sign(item.secret, int(time.time()), item.body),
        "Portal-Event-Id": item.event_id,
        "Portal-Event-Type": item.event_type,
    }
    try:
        response = post_pinned(destination, item.body, headers, timeout)
    except requests.RequestException as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}"


def deliver_due(now: datetime | None = None, limit: int = 100, clock: Callable[[], datetime] = utcnow) -> RoundResult:
    """One round: claim what is due, send it, record each outcome."""
    now = now or clock()
    result = RoundResult()
    ids = _claim(now, limit)
    claimed = (
        list(
            db.session.execute(
                select(OutboxDelivery).where(OutboxDelivery.id.in_(ids)).order_by(OutboxDelivery.event_id)
            ).scalars()
        )
        if ids
        else []
    )
    outgoing = [_outgoing(d) for d in claimed]
    config = current_app.config
    # Sending is network-bound: a few at once. Each account has at most one event in a round,
    # so concurrency never reorders an account's events.
    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        errors = list(
            pool.map(
                lambda item: _send(item, config["OUTBOX_TIMEOUT_SECONDS"], config["OUTBOX_ALLOW_PRIVATE_URLS"]),
                outgoing,
            )
        )
    for delivery, error in zip(claimed, errors, strict=True):
        delivery.attempts += 1
        delivery.locked_until = None
        if error is None:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
            delivery.last_error = None
            result.delivered += 1
        else:
            delivery.last_error = error
            if now >= delivery.give_up_at:
                delivery.status = DeliveryStatus.DEAD
                result.dead += 1
                log.error("outbox: gave up on %s to %s: %s", delivery.event.event_id, delivery.client.name, error)
            else:
                # The last try happens when the retry period ends, not up to 9 h after it.
                delivery.next_attempt_at = min(now + backoff(delivery.attempts), delivery.give_up_at)
                result.failed += 1
    # One commit per round, before the next round's POSTs; a crash before it only means a resend.
    commit_before_external_call("webhooks: record this round's outcomes")
    return result


def run(stop: Callable[[], bool], idle_seconds: float = 1.0) -> None:
    """The worker loop of `portal outbox run`: rounds until ``stop()`` says so."""
    while not stop():
        result = deliver_due()
        if result.sent == 0:
            time.sleep(idle_seconds)


def dead_letters() -> list[OutboxDelivery]:
    return list(
        db.session.execute(
            select(OutboxDelivery).where(OutboxDelivery.status == DeliveryStatus.DEAD).order_by(OutboxDelivery.id)
        ).scalars()
    )


def retry_dead(delivery_ids: list[int] | None = None) -> int:
    """Put dead deliveries back in the queue (after the receiver is fixed)."""
    query = update(OutboxDelivery).where(OutboxDelivery.status == DeliveryStatus.DEAD)
    if delivery_ids:
        query = query.where(OutboxDelivery.id.in_(delivery_ids))
    now = utcnow()
    count = updated(
        db.session.execute(
            query.values(status=DeliveryStatus.PENDING, next_attempt_at=now, attempts=0, give_up_at=now + RETRY_FOR)
        )
    )
    return count
