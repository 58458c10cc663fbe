"""Every payment page, in every state and language, passes the page checks."""

from __future__ import annotations

import pytest

from portal.i18n import LOCALES
from tests import payment_helpers as pay
from tests.factories import AccountFactory
from tests.helpers import sign_in_through_link


@pytest.mark.parametrize("locale", LOCALES)
def test_payment_pages_in_every_state(client, db, stripe_server, locale):
    client.set_cookie("portal_lang", locale)
    account = AccountFactory()
    sign_in_through_link(client, account)
    # created (card page), then failed, pending and succeeded (receipt)
    created = pay.start(client, account, "100.00")
    assert client.get(f"/payments/{created}").status_code == 200
    declined = pay.start(client, account, "100.00")
    pay.pay_with(client, declined, pay.card(stripe_server.base_url, pay.DECLINED_CARD))
    pending = pay.start(client, account, "100.00")
    pay.pay_with(client, pending, pay.card(stripe_server.base_url, pay.THREE_D_SECURE_CARD))
    paid = pay.start(client, account, "100.00")
    pay.pay_with(client, paid, pay.card(stripe_server.base_url))
    for public_id, marker in (
        (declined, "a[href$='/pay']"),
        (pending, "a.button[href^='/payments/']"),
        (paid, "dl.receipt"),
    ):
        page = client.get(f"/payments/{public_id}")
        assert page.status_code == 200 and page.soup.select_one(marker), (public_id, marker)
    history = client.get(f"/accounts/{account.id}")
    assert len(history.soup.select(".history li")) == 3
