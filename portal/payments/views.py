"""Paying: choose an amount, pay by card (Stripe.js) or Alipay / WeChat Pay, see the outcome."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required

from portal.database import abandon_request, get_without_transaction
from portal.extensions import csrf, limiter
from portal.models import PaymentPurpose, PaymentStatus
from portal.money import MoneyError, format_money, parse_major
from portal.payments import service
from portal.payments.forms import AmountForm, MethodForm
from portal.payments.gateway import InvalidWebhook, gateway
from portal.payments.messages import AMOUNT_PROBLEMS, ATTEMPT_PROBLEMS, FAILURE_REASONS, GENERIC_FAILURE, WALLET_NAMES
from portal.security import allow_csp
from portal.signed_in import own_account

bp = Blueprint("payments", __name__)


def _account_or_404(account_id: int):
    account = own_account(current_user.borrower, account_id)
    if account is None:
        abort(404)
    return account


def _payment_or_404(public_id: str):
    payment = service.own_payment(current_user.borrower, public_id)
    if payment is None:
        abort(404)
    return payment


def _money(minor: int, currency: str) -> str:
    return format_money(minor, currency, get_locale())


def _problem_text(refused: service.PaymentRefused, account) -> str:
    message = AMOUNT_PROBLEMS.get(refused.code) or ATTEMPT_PROBLEMS[refused.code]
    values = {key: _money(value, account.currency) for key, value in refused.details.items()}
    values.setdefault("maximum", _money(account.payable_minor, account.currency))
    values.setdefault("minimum", _money(service.minimum_amount(account), account.currency))
    return str(message) % values


def _amount_page(account, form, status: int = 200):
    context = {"account": account, "form": form, "minimum": service.minimum_amount(account)}
    return render_template("payments/choose.html", **context), status


@bp.get("/accounts/<int:account_id>/pay")
@get_without_transaction
@login_required
def choose_amount(account_id: int):
    return _amount_page(_account_or_404(account_id), AmountForm())


@bp.post("/accounts/<int:account_id>/pay")
@login_required
def choose_amount_submit(account_id: int):
    account = _account_or_404(account_id)
    form = AmountForm()
    if not form.validate():
        return _amount_page(account, form, 400)
    try:
        if form.choice.data == "other":
            amount, purpose = parse_major(form.amount.data, account.currency), PaymentPurpose.OTHER
        else:
            amount, purpose = account.payable_minor, PaymentPurpose.OVERDUE_FULL
        payment = service.start_payment(account, amount, purpose, actor_id=current_user.borrower.id)
    except MoneyError as error:
        refused = service.PaymentRefused(error.code)
        form.amount.errors.append(_problem_text(refused, account))
        return _amount_page(account, form, 400)
    except service.PaymentRefused as refused:
        target = form.amount.errors if refused.code in AMOUNT_PROBLEMS else form.form_errors
        target.append(_problem_text(refused, account))
        return _amount_page(account, form, 400)
    return redirect(url_for("payments.show", public_id=payment.public_id), code=303)


def _stripe_js_url() -> str:
    base = current_app.config["STRIPE_API_BASE"]
    return f"{base}/js.stripe.com/v3/" if base else "https://js.stripe.com/v3/"


def _allow_stripe_on_this_page() -> None:
    base = current_app.config["STRIPE_API_BASE"]
    if base:
        allow_csp("script-src", base)
        allow_csp("connect-src", "'self'", base)
    else:
        allow_csp("script-src", "https://js.stripe.com")
        allow_csp("connect-src", "'self'", "https://api.stripe.com")
        allow_csp("frame-src", "https://js.stripe.com", "https://hooks.stripe.com")


@bp.get("/payments/<public_id>")
@login_required
def show(public_id: str):
    payment = service.sync(_payment_or_404(public_id))
    account = payment.account
    if payment.status == PaymentStatus.CREATED:
        _allow_stripe_on_this_page()
        return render_template(
            "payments/card.html",
            payment=payment,
            account=account,
            allocation=service.allocate(account, payment.amount_minor),
            methods=service.available_methods(account),
            wallet_names=WALLET_NAMES,
            stripe_js=_stripe_js_url(),
            publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"],
        )
    if payment.status == PaymentStatus.PENDING:
        return render_template("payments/pending.html", payment=payment, account=account)
    if payment.status == PaymentStatus.FAILED:
        reason = FAILURE_REASONS.get(payment.failure_code, GENERIC_FAILURE)
        return render_template("payments/failed.html", payment=payment, account=account, reason=reason)
    return render_template("payments/receipt.html", payment=payment, account=account)


@bp.post("/payments/<public_id>/card")
@login_required
@limiter.limit("20 per minute")
def pay_by_card(public_id: str):
    """Called by pay.js with the payment method Stripe.js created; answers JSON."""
    payment = _payment_or_404(public_id)
    data = request.get_json(silent=True) or {}
    payment_method = data.get("payment_method")
    next_url = url_for("payments.show", public_id=payment.public_id)
    if not isinstance(payment_method, str) or not payment_method.startswith(("pm_", "card_")):
        return jsonify(error="payment_method", next=next_url), 400
    try:
        result = service.submit(
            payment, payment_method_ref=payment_method[:255], return_url=None, actor_id=current_user.borrower.id
        )
    except service.PaymentRefused as refused:
        return jsonify(
            error=refused.code,
            message=_problem_text(refused, payment.account),
            next=url_for("payments.choose_amount", account_id=payment.account_id),
        ), 409
    return jsonify(next=next_url, client_secret=result.client_secret)


@bp.post("/payments/<public_id>/wallet")
@login_required
def pay_by_wallet(public_id: str):
    """Alipay (redirect) or WeChat Pay (QR code): plain form posts, no JavaScript."""
    payment = _payment_or_404(public_id)
    form = MethodForm()
    if not form.validate() or form.method.data not in WALLET_NAMES:
        abort(400)
    try:
        service.choose_method(payment, form.method.data)
    except service.PaymentRefused:
        abort(400)
    return_url = url_for("payments.show", public_id=public_id, _external=True)
    try:
        result = service.submit(
            payment, payment_method_ref=None, return_url=return_url, actor_id=current_user.borrower.id
        )
    except service.PaymentRefused:
        return redirect(url_for("payments.choose_amount", account_id=payment.account_id), code=303)
    if result.redirect_url:
        return redirect(result.redirect_url, code=303)
    if result.qr_image_url:
        allow_csp("img-src", "data:")
        return render_template(
            "payments/wechat.html", payment=result.payment, account=payment.account, qr_image_url=result.qr_image_url
        )
    return redirect(url_for("payments.show", public_id=public_id), code=303)


@bp.post("/stripe/webhook")
@csrf.exempt  # the only CSRF-exempt POST: authenticated by Stripe's signature instead
def stripe_webhook():
    try:
        event = gateway().parse_webhook(request.get_data(), request.headers.get("Stripe-Signature"))
    except InvalidWebhook:
        return jsonify(error="invalid signature"), 400
    try:
        outcome = service.handle_webhook(event)
    except (InvalidWebhook, KeyError, TypeError, AttributeError) as exc:
        # Signed but not shaped like the events we handle: change nothing, say so, and let
        # Stripe's retries and our logs bring it to someone's attention.
        abandon_request()
        current_app.logger.error("malformed Stripe event %s: %s", event.get("id"), exc)
        return jsonify(error="malformed event"), 400
    return jsonify(received=True, outcome=outcome)
