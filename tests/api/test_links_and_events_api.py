"""Reminder links over the API, and the pull feed of events."""

from __future__ import annotations

from sqlalchemy import select

from portal.access.service import look_up_link
from portal.models import OutboxEvent
from tests.factories import AccountFactory, BorrowerFactory, LenderFactory
from tests.helpers import sign_in_through_link


def test_mint_a_link_and_revoke_it(client, db, auth, lender):
    account = AccountFactory(borrower=BorrowerFactory(lender=lender), account_number="SR009")
    response = client.post(
        "/api/v1/reminder-links",
        headers=auth,
        json={"account_number": "SR009", "lang": "en", "expires_in_days": 3, "channel": "sms"},
    )
    assert response.status_code == 201
    body = response.json
    assert body["url"] == f"http://localhost/r/{body['code']}" and len(body["code"]) == 16
    link = look_up_link(body["code"]).link
    assert link.account_id == account.id and link.locale == "en"
    assert client.delete(f"/api/v1/reminder-links/{body['code']}", headers=auth).status_code == 204
    assert client.get(f"/r/{body['code']}").status_code == 410


def test_links_only_for_the_clients_own_lender(client, db, auth):
    other = AccountFactory(borrower=BorrowerFactory(lender=LenderFactory()), account_number="OTHER1")
    response = client.post("/api/v1/reminder-links", headers=auth, json={"account_number": "OTHER1"})
    assert response.status_code == 404
    from portal.access.service import create_link

    _, code = create_link(other)
    db.session.commit()
    assert client.delete(f"/api/v1/reminder-links/{code}", headers=auth).status_code == 404


def test_link_request_validation(client, db, auth):
    response = client.post(
        "/api/v1/reminder-links",
        headers=auth,
        json={"account_number": "", "lang": "fr", "expires_in_days": 365, "channel": "fax"},
    )
    assert response.status_code == 422
    assert {e["pointer"] for e in response.json["errors"]} == {
        "/account_number",
        "/lang",
        "/expires_in_days",
        "/channel",
    }


def test_events_feed_pages_with_a_cursor_and_shows_only_own_lender(client, db, make_client, lender):
    _, auth = make_client(scopes=("events:read",))
    account = AccountFactory(borrower=BorrowerFactory(lender=lender))
    stranger = AccountFactory()  # another lender
    sign_in_through_link(client, account)  # link.opened + borrower.signed_in
    client.post(
        "/sign-out",
        data={"csrf_token": client.get("/dashboard").soup.find("input", attrs={"name": "csrf_token"})["value"]},
    )
    sign_in_through_link(client, stranger)
    page = client.get("/api/v1/events?limit=1", headers=auth).json
    assert [e["type"] for e in page["events"]] == ["link.opened"]
    assert page["events"][0]["account_number"] == account.account_number
    rest = client.get(f"/api/v1/events?after={page['next_cursor']}", headers=auth).json
    assert [e["type"] for e in rest["events"]] == ["borrower.signed_in"]
    empty = client.get(f"/api/v1/events?after={rest['next_cursor']}", headers=auth).json
    assert empty == {"events": [], "next_cursor": rest["next_cursor"]}
    assert len(db.session.execute(select(OutboxEvent)).scalars().all()) == 4  # both lenders


def test_openapi_document_is_served_without_auth(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"] == "3.1.0" and "/accounts:batch" in doc["paths"]
