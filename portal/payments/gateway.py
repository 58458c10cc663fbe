"""Stripe behind one small interface. The real SDK always; only the address changes.

In production the SDK talks to api.stripe.com; the demo and the tests point it at
localstripe (STRIPE_API_BASE). Nothing else in the portal imports ``stripe``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import stripe
from flask import current_app

from portal.models import PaymentMethod

if TYPE_CHECKING:
    from stripe.params import PaymentIntentCreateParams

# Stripe's own default tolerance for webhook timestamps: a replayed old signature fails.
WEBHOOK_TOLERANCE_SECONDS = 300


class PaymentDeclined(Exception):
    """The card issuer said no; no money was taken."""

    def __init__(self, code: str | None):
        super().__init__(code)
        self.code = code or "card_declined"


class ProviderUnavailable(Exception):
    """No answer from Stripe: the outcome is unknown until it is confirmed."""


class NotCancellable(Exception):
    """Stripe refused to cancel an intent: its state changed (it succeeded, is processing, or
    was cancelled already). Read it again to learn which."""


class InvalidWebhook(Exception):
    """A webhook whose payload or signature does not check out."""


@dataclass(frozen=True)
class Intent:
    """The parts of a PaymentIntent the portal acts on."""

    id: str
    status: str
    amount: int
    currency: str
    client_secret: str | None
    metadata: dict
    failure_code: str | None = None
    redirect_url: str | None = None
    qr_image_url: str | None = None

    @classmethod
    def from_stripe(cls, obj) -> Intent:
        data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
        error = data.get("last_payment_error") or {}
        action = data.get("next_action") or {}
        if not isinstance(data.get("amount"), int) or not isinstance(data.get("currency"), str):
            raise InvalidWebhook("a payment intent without an integer amount and a currency")
        return cls(
            id=data["id"],
            status=data["status"],
            amount=data["amount"],
            currency=data["currency"].upper(),
            client_secret=data.get("client_secret"),
            metadata=data.get("metadata") or {},
            failure_code=error.get("decline_code") or error.get("code"),
            redirect_url=(action.get("redirect_to_url") or {}).get("url"),
            qr_image_url=(action.get("wechat_pay_display_qr_code") or {}).get("image_data_url"),
        )


def intent_params(
    *,
    amount: int,
    currency: str,
    method: str,
    payment_method: str | None,
    metadata: dict[str, str],
    return_url: str | None,
) -> dict[str, Any]:
    """PaymentIntent parameters for one attempt, per payment method.

    Cards are confirmed at once with the payment method collected by Stripe.js (localstripe
    refuses confirm-later with a payment method). Alipay redirects and needs a return URL;
    WeChat Pay shows a QR code for the web client.
    """
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency.lower(),
        "metadata": metadata,
        "payment_method_types": [method],
        "confirm": True,
    }
    if method == PaymentMethod.CARD:
        params["payment_method"] = payment_method
    elif method == PaymentMethod.ALIPAY:
        params["payment_method_data"] = {"type": "alipay"}
        params["return_url"] = return_url
    elif method == PaymentMethod.WECHAT_PAY:
        params["payment_method_data"] = {"type": "wechat_pay"}
        params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    else:
        raise ValueError(f"unsupported payment method {method!r}")
    return params


class StripeGateway:
    def __init__(self, secret_key: str, api_base: str | None, webhook_secret: str | None):
        self._client = stripe.StripeClient(
            secret_key, base_addresses={"api": api_base} if api_base else None, max_network_retries=0
        ).v1
        self._webhook_secret = webhook_secret

    def create_intent(self, params: dict[str, Any], idempotency_key: str) -> Intent:
        try:
            # payment_method_types is not in the SDK's typed parameters, but Stripe and
            # localstripe both take it (localstripe needs it).
            obj = self._client.payment_intents.create(
                params=cast("PaymentIntentCreateParams", params), options={"idempotency_key": idempotency_key}
            )
        except stripe.CardError as exc:
            raise PaymentDeclined(getattr(exc, "code", None)) from exc
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
            # No answer, or Stripe's own 5xx: the charge may or may not exist.
            raise ProviderUnavailable(str(exc)) from exc
        except (stripe.InvalidRequestError, stripe.AuthenticationError, stripe.PermissionError) as exc:
            # Refused before anything was charged (our parameters or keys are wrong).
            current_app.logger.error("Stripe refused a payment request: %s", exc)
            raise PaymentDeclined("provider_refused") from exc
        return Intent.from_stripe(obj)

    def retrieve_intent(self, intent_id: str) -> Intent:
        try:
            return Intent.from_stripe(self._client.payment_intents.retrieve(intent_id))
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
            raise ProviderUnavailable(str(exc)) from exc

    def cancel_intent(self, intent_id: str) -> Intent:
        """Cancel an intent that was never completed, so that it can no longer take money.

        No parameters: localstripe refuses any (real Stripe would accept a
        ``cancellation_reason``). No idempotency key needed: cancelling twice is refused, not
        repeated.
        """
        try:
            return Intent.from_stripe(self._client.payment_intents.cancel(intent_id))
        except stripe.InvalidRequestError as exc:
            raise NotCancellable(str(exc)) from exc
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
            raise ProviderUnavailable(str(exc)) from exc

    def parse_webhook(self, payload: bytes, signature: str | None) -> dict:
        if not self._webhook_secret:
            raise InvalidWebhook("no webhook secret configured")
        try:
            event = stripe.Webhook.construct_event(
                payload, signature or "", self._webhook_secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
            )
        except (ValueError, stripe.SignatureVerificationError) as exc:
            raise InvalidWebhook(str(exc)) from exc
        return event.to_dict()


def gateway() -> StripeGateway:
    """The app's gateway, built once per app from its configuration."""
    extensions = current_app.extensions
    if "stripe_gateway" not in extensions:
        config = current_app.config
        extensions["stripe_gateway"] = StripeGateway(
            config["STRIPE_SECRET_KEY"], config["STRIPE_API_BASE"], config["STRIPE_WEBHOOK_SECRET"]
        )
    return extensions["stripe_gateway"]
