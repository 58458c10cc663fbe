"""Alipay and WeChat Pay: configurable per lender, only where the currency allows.

localstripe implements neither, so the Stripe side of these branches is a stub (the one mock
in the suite, for want of a real local peer); everything on our side runs for real.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.models import Payment
from portal.payments import service
from portal.payments.gateway import Intent, intent_params
from tests import payment_helpers as pay
from tests.factories import AccountFactory, BorrowerFactory, LenderFactory
from tests.helpers import sign_in_through_link


def test_card_params_confirm_at_once_with_the_collected_method():
    params = intent_params(
        amount=500, currency="CNY", method="card", payment_method="pm_1", metadata={"payment_id": "x"}, return_url=None
    )
    assert params == {
        "amount": 500,
        "currency": "cny",
        "metadata": {"payment_id": "x"},
        "payment_method_types": ["card"],
        "confirm": True,
        "payment_method": "pm_1",
    }


def test_alipay_params_redirect_back_to_the_payment_page():
    params = intent_params(
        amount=500,
        currency="CNY",
        method="alipay",
        payment_method=None,
        metadata={},
        return_url="https://portal.example/payments/abc",
    )
    assert params["payment_method_types"] == ["alipay"]
    assert params["payment_method_data"] == {"type": "alipay"}
    assert params["return_url"] == "https://portal.example/payments/abc"


def test_wechat_pay_params_ask_for_a_web_qr_code():
    params = intent_params(
        amount=500, currency="CNY", method="wechat_pay", payment_method=None, metadata={}, return_url=None
    )
    assert params["payment_method_options"] == {"wechat_pay": {"client": "web"}}


def test_unknown_method_is_refused():
    with pytest.raises(ValueError):
        intent_params(amount=1, currency="CNY", method="paypal", payment_method=None, metadata={}, return_url=None)


@pytest.mark.parametrize(
    "configured,currency,offered",
    [
        ("card", "CNY", ["card"]),
        ("card,alipay,wechat_pay", "CNY", ["card", "alipay", "wechat_pay"]),
        ("card,alipay,wechat_pay", "HKD", ["card"]),
        ("card, alipay ,bitcoin", "CNY", ["card", "alipay"]),
    ],
)
def test_methods_offered_follow_lender_and_currency(db, configured, currency, offered):
    account = AccountFactory(
        currency=currency, borrower=BorrowerFactory(lender=LenderFactory(payment_methods=configured))
    )
    assert service.available_methods(account) == offered


class StubGateway:
    """Stands in for Stripe's Alipay/WeChat answers, which localstripe cannot give."""

    def __init__(self, intent):
        self.intent = intent
        self.calls = []

    def create_intent(self, params, idempotency_key):
        self.calls.append((params, idempotency_key))
        return self.intent


@pytest.fixture
def wallet_account(db):
    lender = LenderFactory(payment_methods="card,alipay,wechat_pay")
    return AccountFactory(borrower=BorrowerFactory(lender=lender))


def stub(app, monkeypatch, **intent_fields):
    fields = {
        "id": "pi_wallet",
        "status": "requires_action",
        "amount": 204070,
        "currency": "CNY",
        "client_secret": None,
        "metadata": {},
    }
    gateway = StubGateway(Intent(**{**fields, **intent_fields}))
    monkeypatch.setitem(app.extensions, "stripe_gateway", gateway)
    return gateway


def test_alipay_sends_the_borrower_to_alipay_and_waits(app, client, db, wallet_account, monkeypatch):
    gateway = stub(app, monkeypatch, redirect_url="https://alipay.example/pay/1")
    sign_in_through_link(client, wallet_account)
    public_id = pay.start(client, wallet_account)
    page = client.get(f"/payments/{public_id}")
    wallets = [b.get_text() for b in page.soup.select("form.wallet button")]
    assert len(wallets) == 2 and "支付宝" in wallets[0] and "微信支付" in wallets[1]
    response = client.submit(f"/payments/{public_id}", {"method": "alipay"}, form_index=1)
    assert response.status_code == 303 and response.headers["Location"] == "https://alipay.example/pay/1"
    params, key = gateway.calls[0]
    assert params["payment_method_types"] == ["alipay"]
    assert params["return_url"].endswith(f"/payments/{public_id}")
    assert key == f"portal-payment-{public_id}"
    payment = db.session.execute(select(Payment)).scalar_one()
    assert payment.status == "pending" and payment.method == "alipay"


def test_wechat_pay_shows_the_qr_code(app, client, db, wallet_account, monkeypatch):
    stub(app, monkeypatch, qr_image_url="data:image/png;base64,iVBORw0KGgo=")
    sign_in_through_link(client, wallet_account)
    public_id = pay.start(client, wallet_account)
    page = client.submit(f"/payments/{public_id}", {"method": "wechat_pay"}, form_index=2)
    assert page.status_code == 200
    assert page.soup.find("img")["src"].startswith("data:image/png")
    assert "img-src 'self' data:" in page.headers["Content-Security-Policy"]


def test_a_wallet_the_lender_does_not_offer_is_refused(app, client, db, monkeypatch):
    account = AccountFactory()  # card only
    gateway = stub(app, monkeypatch)
    sign_in_through_link(client, account)
    public_id = pay.start(client, account)
    token = client.get("/dashboard").soup.find("input", attrs={"name": "csrf_token"})["value"]
    response = client.post(f"/payments/{public_id}/wallet", data={"csrf_token": token, "method": "alipay"})
    assert response.status_code == 400 and gateway.calls == []


def test_the_alipay_return_address_is_the_portals_own_whatever_host_the_request_named(db, make_app, monkeypatch):
    portal = make_app(PORTAL_BASE_URL="https://pay.lender.example")
    lender = LenderFactory(payment_methods="card,alipay")
    account = AccountFactory(borrower=BorrowerFactory(lender=lender))
    gateway = stub(portal, monkeypatch, redirect_url="https://alipay.example/pay/1")
    browser = portal.test_client()
    sign_in_through_link(browser, account)
    public_id = pay.start(browser, account)
    token = browser.get("/dashboard").soup.find("input", attrs={"name": "csrf_token"})["value"]
    # The same signed-in browser, reaching the app under a name of the sender's choosing.
    browser.set_cookie("portal_session", browser.get_cookie("portal_session").value, domain="phishing.example")
    response = browser.post(
        f"/payments/{public_id}/wallet",
        data={"csrf_token": token, "method": "alipay"},
        headers={"Host": "phishing.example"},
    )
    assert response.status_code == 303
    params, _ = gateway.calls[0]
    assert params["return_url"] == f"https://pay.lender.example/payments/{public_id}"
