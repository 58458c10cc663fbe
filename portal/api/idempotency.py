"""Replay records for Idempotency-Key: enough to answer a repeat, never a secret in clear.

A record keeps the SHA-256 of the client's key and the first response encrypted (Fernet)
with a key derived from the app's SECRET_KEY and the client's own Idempotency-Key: the
database alone opens nothing, so a reminder-link code in a replayed response is not readable
from a copy of it. Records are kept for ``IDEMPOTENCY_KEEP`` (README, OpenAPI): after that a
repeated key is a new request, and ``portal api prune-idempotency`` deletes them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import delete, select

from portal.database import updated
from portal.extensions import db
from portal.models import IdempotentRequest
from portal.models.types import utcnow

# How long a response is kept for replay; a key repeated later is a new request.
IDEMPOTENCY_KEEP = timedelta(hours=24)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _cipher(key: str) -> Fernet:
    secret = current_app.config["SECRET_KEY"]
    secret = secret if isinstance(secret, bytes) else str(secret).encode()
    derived = hmac.new(secret, b"idempotency-replay\x00" + key.encode(), hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(key: str, body: str) -> str:
    return _cipher(key).encrypt(body.encode()).decode()


def unseal(key: str, sealed: str) -> str | None:
    """The stored response, or None if it cannot be opened (SECRET_KEY changed since)."""
    try:
        return _cipher(key).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def find(client_id: int, key: str, now: datetime | None = None) -> IdempotentRequest | None:
    """The live record for this client's key; an expired one is deleted and counts as none."""
    query = select(IdempotentRequest).where(
        IdempotentRequest.client_id == client_id, IdempotentRequest.key == key_hash(key)
    )
    record = db.session.execute(query).scalar_one_or_none()
    if record is not None and record.created_at <= (now or utcnow()) - IDEMPOTENCY_KEEP:
        db.session.delete(record)
        db.session.flush()
        return None
    return record


def prune(now: datetime | None = None) -> int:
    """Delete the records older than IDEMPOTENCY_KEEP; how many went."""
    cutoff = (now or utcnow()) - IDEMPOTENCY_KEEP
    return updated(db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at <= cutoff)))
