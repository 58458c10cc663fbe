"""Steps of paying, done the way the browser does them, against the real localstripe."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.request
import uuid
from datetime import timedelta

import stripe
from sqlalchemy import select

from tests.conftest import WEBHOOK_SECRET

OK_CARD = "4242424242424242"
THREE_D_SECURE_CARD = "4000002760003184"
DECLINED_CARD = "4000000000000341"


def stripe_client(base_url: str):
    return stripe.StripeClient("sk_test_local", base_addresses={"api": base_url}, max_network_retries=0).v1


def card(base_url: str, number: str = OK_CARD) -> str:
    """What Stripe.js gives the page: a payment method id for the typed card."""
    return (
        stripe_client(base_url)
        .payment_methods.create(
            params={
                "type": "card",
                "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
            }
        )
        .id
    )


def choose(client, account, amount: str | None = None):
    data = {"choice": "other", "amount": amount} if amount is not None else {"choice": "full"}
    return client.submit(f"/accounts/{account.id}/pay", data)


def start(client, account, amount: str | None = None) -> str:
    """Choose an amount; return the payment's public id."""
    response = choose(client, account, amount)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    return response.headers["Location"].rsplit("/", 1)[1]


def pay_with(client, public_id: str, payment_method: str):
    # The same session-wide CSRF token the card page gives pay.js.
    token = client.get("/dashboard").soup.find("input", attrs={"name": "csrf_token"})["value"]
    return client.post(
        f"/payments/{public_id}/card", json={"payment_method": payment_method}, headers={"X-CSRFToken": token}
    )


def authenticate(base_url: str, client_secret: str, success: bool) -> None:
    """What the 3-D Secure modal of the Stripe.js stand-in does on either button."""
    intent_id = client_secret.split("_secret_")[0]
    body = json.dumps({"key": "pk_test_local", "client_secret": client_secret}).encode()
    request = urllib.request.Request(
        f"{base_url}/v1/payment_intents/{intent_id}/_authenticate?success={str(success).lower()}",
        data=body,
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def signed(event: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    """A webhook body and Stripe-Signature header, signed the way Stripe signs them."""
    body = json.dumps(event).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={timestamp},v1={signature}", "Content-Type": "application/json"}


def event(event_type: str, obj: dict, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": obj},
    }


def send(client, body_and_headers):
    body, headers = body_and_headers
    return client.post("/stripe/webhook", data=body, headers=headers)


def intent_object(base_url: str, intent_id: str) -> dict:
    return stripe_client(base_url).payment_intents.retrieve(intent_id).to_dict()


def later(db, public_id: str, by: timedelta | None = None) -> None:
    """Move a payment's clock back as if time had passed: its last check with Stripe (which
    throttles page views) and, with ``by``, when it was sent (the confirmation window)."""
    from portal.models import Payment
    from portal.payments.service import CHECK_INTERVAL

    payment = db.session.execute(select(Payment).where(Payment.public_id == public_id)).scalar_one()
    shift = max(by or CHECK_INTERVAL, CHECK_INTERVAL)
    if payment.last_checked_at:
        payment.last_checked_at -= shift
    if by and payment.submitted_at:
        payment.submitted_at -= by
    db.session.commit()
