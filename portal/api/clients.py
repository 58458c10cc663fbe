"""API clients: creating them (the token is shown once), and recognising a bearer token."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select

from portal import audit
from portal.extensions import db
from portal.models import ApiClient, ApiScope, Lender
from portal.models.types import utcnow

TOKEN_PREFIX = "spk"  # noqa: S105 - a public marker that starts every token, not a secret


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_client(
    name: str, lender: Lender, scopes: list[str], webhook_url: str | None = None
) -> tuple[ApiClient, str]:
    """Create a client; return it with its bearer token, which is never stored or shown again."""
    unknown = set(scopes) - set(ApiScope)
    if unknown or not scopes:
        raise ValueError(f"scopes must be among {', '.join(ApiScope)}")
    key_id = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    client = ApiClient(
        name=name,
        lender=lender,
        key_id=key_id,
        secret_hash=_hash(token),
        scopes=",".join(sorted(set(scopes))),
        webhook_url=webhook_url,
        webhook_secret=f"whsec_{secrets.token_urlsafe(32)}" if webhook_url else None,
    )
    db.session.add(client)
    db.session.flush()
    audit.record("api_client.created", actor_type="cli", subject=client, scopes=client.scopes, lender=lender.code)
    return client, token


def disable_client(client: ApiClient) -> None:
    if client.disabled_at is None:
        client.disabled_at = utcnow()
        audit.record("api_client.disabled", actor_type="cli", subject=client)


def client_for_token(token: str) -> ApiClient | None:
    """The enabled client this token belongs to, compared in constant time."""
    parts = token.split("_")
    if len(parts) < 3 or parts[0] != TOKEN_PREFIX:
        return None
    client = db.session.execute(select(ApiClient).where(ApiClient.key_id == parts[1])).scalar_one_or_none()
    if client is None or client.disabled_at is not None:
        return None
    return client if hmac.compare_digest(client.secret_hash, _hash(token)) else None
