"""Paying: choose an amount, pay by card (Stripe.js) or Alipay / WeChat Pay, see the outcome."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required

from portal.database import abandon_request, get_without_transaction
from portal.extensions import csrf, limiter
from portal.models import PaymentPurpose, PaymentStatus
from portal.money import MoneyError, format_major_plain, format_money, parse_major, precision
from portal.payments import service
from portal.payments.forms import AmountForm, MethodForm
from portal.payments.gateway import InvalidWebhook, gateway
from portal.payments.messages import (
    AMOUNT_CODES,
    AMOUNT_PROBLEMS,
    ATTEMPT_PROBLEMS,
    FAILURE_REASONS,
    GENERIC_FAILURE,
    TOO_MANY_DECIMALS,
    WALLET_NAMES,
    decimal_places_problem,
)
from portal.plans import service as plans
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
    currency = account.currency
    places = precision(currency)
    if refused.code == TOO_MANY_DECIMALS:
        # 500.50 in yuan, 500.5 with one decimal place, 500.500 with three.
        example = format_major_plain(500 * 10**places + 5 * 10 ** (places - 1) if places else 500, currency)
        return decimal_places_problem(places, example)
    message = AMOUNT_PROBLEMS.get(refused.code) or ATTEMPT_PROBLEMS[refused.code]
    values = {key: _money(value, currency) for key, value in refused.details.items()}
    values.setdefault("maximum", _money(account.payable_minor, currency))
    values.setdefault("minimum", _money(service.minimum_amount(account), currency))
    values["example"] = format_major_plain(500 * 10**places, currency)  # 500.00, or 500 in yen
    return str(message) % values


def _amount_page(account, form, status: int = 200):
    context = {
        "account": account,
        "form": form,
        "minimum": service.minimum_amount(account),
        # An active repayment plan's next instalment, offered first.
        "instalment": (plans.instalment_to_pay(account.id) or (None, None))[1],
    }
    if context["instalment"] is not None and request.method == "GET":
        form.choice.data = "instalment"
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
        instalment = None
        if form.choice.data == "other":
            amount, purpose = parse_major(form.amount.data, account.currency), PaymentPurpose.OTHER
        elif form.choice.data == "instalment" and (instalment := plans.instalment_to_pay(account.id)):
            # Exactly what is left of the plan's next instalment.
            amount, purpose = instalment[1].outstanding_minor, PaymentPurpose.INSTALMENT
        else:
            amount, purpose = account.payable_minor, PaymentPurpose.OVERDUE_FULL
        payment = service.start_payment(account, amount, purpose, actor_id=current_user.borrower.id)
        if instalment is not None:
            plans.payment_started(payment, *instalment)
    except MoneyError as error:
        refused = service.PaymentRefused(error.code)
        form.amount.errors.append(_problem_text(refused, account))
        return _amount_page(account, form, 400)
    except service.PaymentRefused as refused:
        target = form.amount.errors if refused.code in AMOUNT_CODES else form.form_errors
        target.append(_problem_text(refused, account))
        return _amount_page(account, form, 400)
    return redirect(url_for("payments.show", public_id=payment.public_id), code=303)


def _public_url(endpoint: str, **values) -> str:
    """An absolute address under PORTAL_BASE_URL, the portal's public root, as reminder links
    are built: never from the request's Host header, which whoever sends the request chooses."""
    path = url_for(endpoint, **values).removeprefix(request.script_root)
    return current_app.config["PORTAL_BASE_URL"] + path


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
        try:
            service.check_still_payable(payment)
        except service.PaymentRefused as refused:
            # A page left open while the account changed: choose again, with today's figures.
            form = AmountForm()
            form.form_errors.append(_problem_text(refused, account))
            return _amount_page(account, form)
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
        reason = FAILURE_REASONS.get(payment.failure_code or "", GENERIC_FAILURE)
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
        # The payment's page explains the refusal and offers to choose again.
        return jsonify(error=refused.code, message=_problem_text(refused, payment.account), next=next_url), 409
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
    return_url = _public_url("payments.show", public_id=public_id)
    try:
        result = service.submit(
            payment, payment_method_ref=None, return_url=return_url, actor_id=current_user.borrower.id
        )
    except service.PaymentRefused:
        # The payment's page explains the refusal and offers to choose again.
        return redirect(url_for("payments.show", public_id=public_id), code=303)
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
