"""PUT /accounts/{n} and POST /accounts:batch: the CSV rules, as JSON, for lenders' systems."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from portal.models import Account, AuditEvent, Borrower
from tests.helpers import API_ACCOUNT

GOOD = API_ACCOUNT


def count(db, model):
    return db.session.execute(select(func.count()).select_from(model)).scalar()


def test_put_creates_then_updates_then_changes_nothing(client, db, auth, lender):
    first = client.put("/api/v1/accounts/SR001", json=GOOD, headers=auth)
    assert first.status_code == 201
    assert first.json == {
        "account_number": "SR001",
        "status": "overdue",
        "currency": "CNY",
        "overdue_amount": "2040.70",
        "last_synced_at": first.json["last_synced_at"],
    }
    second = client.put(
        "/api/v1/accounts/SR001", json={**GOOD, "fees": "10.00", "overdue_amount": "2050.70"}, headers=auth
    )
    assert second.status_code == 200 and second.json["overdue_amount"] == "2050.70"
    third = client.put(
        "/api/v1/accounts/SR001", json={**GOOD, "fees": "10.00", "overdue_amount": "2050.70"}, headers=auth
    )
    assert third.status_code == 200 and third.json["last_synced_at"] == second.json["last_synced_at"]
    account = db.session.execute(select(Account)).scalar_one()
    assert account.lender_id == lender.id  # the lender comes from the client, never the body


def test_validation_errors_point_at_each_field_and_change_nothing(client, db, auth):
    bad = {**GOOD, "phone": "123", "principal": 2000.0, "overdue_amount": "1.00", "nickname": "x"}
    response = client.put("/api/v1/accounts/SR001", json=bad, headers=auth)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["code"] == "validation_failed" and body["status"] == 422
    pointers = {e["pointer"] for e in body["errors"]}
    assert {"/phone", "/principal", "/nickname"} <= pointers
    assert any("never travel as numbers" in e["detail"] for e in body["errors"])
    assert count(db, Account) == 0


def batch(n, **changes):
    return {
        "accounts": [
            {**GOOD, "account_number": f"SR{i:04d}", "national_id": f"11010119900512{i:04d}", **changes}
            for i in range(n)
        ]
    }


def test_batch_is_all_or_nothing(client, db, auth):
    body = batch(5)
    body["accounts"][3]["currency"] = "XYZ"
    body["accounts"][4]["due_date"] = "2026-02-30"
    response = client.post("/api/v1/accounts:batch", json=body, headers=auth)
    assert response.status_code == 422
    pointers = [e["pointer"] for e in response.json["errors"]]
    assert "/accounts/3/currency" in pointers and "/accounts/4/due_date" in pointers
    assert count(db, Account) == 0
    ok = client.post("/api/v1/accounts:batch", json=batch(5), headers=auth)
    assert ok.status_code == 200 and ok.json == {"created": 5, "updated": 0, "unchanged": 0}
    again = client.post("/api/v1/accounts:batch", json=batch(5), headers=auth)
    assert again.json == {"created": 0, "updated": 0, "unchanged": 5}
    assert count(db, Borrower) == 5


def test_batch_refuses_duplicates_and_sizes(client, db, auth):
    body = batch(2)
    body["accounts"][1]["account_number"] = "SR0000"
    response = client.post("/api/v1/accounts:batch", json=body, headers=auth)
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json["errors"]] == ["/accounts/1/account_number"]
    assert client.post("/api/v1/accounts:batch", json={"accounts": []}, headers=auth).status_code == 422
    too_many = {"accounts": [{"account_number": str(i)} for i in range(1001)]}
    assert client.post("/api/v1/accounts:batch", json=too_many, headers=auth).status_code == 422


def test_idempotency_key_replays_the_first_response(client, db, auth):
    headers = {**auth, "Idempotency-Key": "abc-1"}
    first = client.put("/api/v1/accounts/SR001", json=GOOD, headers=headers)
    replay = client.put("/api/v1/accounts/SR001", json=GOOD, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json == first.json and replay.headers["Idempotent-Replayed"] == "true"
    reused = client.put("/api/v1/accounts/SR001", json={**GOOD, "fees": "1"}, headers=headers)
    assert reused.status_code == 422 and reused.json["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    "headers,status",
    [
        ({}, 401),
        ({"Authorization": "Bearer nope"}, 401),
        ({"Authorization": "Basic abc"}, 401),
    ],
)
def test_requests_without_a_valid_token_are_refused(client, db, headers, status):
    response = client.put("/api/v1/accounts/SR001", json=GOOD, headers=headers)
    assert response.status_code == status and response.json["code"] == "unauthenticated"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_scopes_are_enforced(client, db, make_client):
    _, events_only = make_client(scopes=("events:read",))
    response = client.put("/api/v1/accounts/SR001", json=GOOD, headers=events_only)
    assert response.status_code == 403 and response.json["code"] == "insufficient_scope"
    assert client.post("/api/v1/reminder-links", json={"account_number": "x"}, headers=events_only).status_code == 403
    assert client.get("/api/v1/events", headers=events_only).status_code == 200


def test_a_disabled_client_is_refused(client, db, make_client, runner):
    api_client, headers = make_client()
    result = runner.invoke(args=["api-client", "disable", api_client.name])
    assert result.exit_code == 0
    assert client.get("/api/v1/events", headers=headers).status_code == 401


def test_client_errors_are_problems_never_500(client, db, auth):
    cases = [
        client.put("/api/v1/accounts/SR001", data="not json", headers={**auth, "Content-Type": "application/json"}),
        client.put("/api/v1/accounts/SR001", data="x", headers={**auth, "Content-Type": "text/plain"}),
        client.put("/api/v1/accounts/SR001", json=[1, 2], headers=auth),
        client.get("/api/v1/events?after=x", headers=auth),
        client.get("/api/v1/nothing-here", headers=auth),
        client.patch("/api/v1/events", headers=auth),
        client.put(
            "/api/v1/accounts/SR001",
            data=b"{" + b" " * (3 * 1024 * 1024) + b"}",
            headers={**auth, "Content-Type": "application/json"},
        ),
    ]
    assert [r.status_code for r in cases] == [400, 415, 400, 400, 404, 405, 413]
    assert all(r.mimetype == "application/problem+json" for r in cases)


def test_every_call_is_audited(client, db, auth):
    client.put("/api/v1/accounts/SR001", json=GOOD, headers=auth)
    client.get("/api/v1/events", headers=auth)
    calls = db.session.execute(select(AuditEvent.details).where(AuditEvent.action == "api.call")).scalars().all()
    assert [(c["method"], c["status"]) for c in calls] == [("PUT", 201), ("GET", 200)]


def test_cli_creates_a_client_and_shows_the_token_once(runner, db, lender):
    result = runner.invoke(
        args=[
            "api-client",
            "create",
            "loan-core",
            "--lender",
            "SUNRISE",
            "--scopes",
            "accounts:write,events:read",
            "--webhook-url",
            "https://core.example/hooks",
        ]
    )
    assert result.exit_code == 0, result.output
    token = result.output.split("store it safely): ")[1].split()[0]
    from portal.models import ApiClient

    stored = db.session.execute(select(ApiClient)).scalar_one()
    assert token.startswith("spk_") and token not in repr(stored.__dict__)
    assert "Webhook signing secret: whsec_" in result.output
    bad = runner.invoke(args=["api-client", "create", "x", "--lender", "SUNRISE", "--scopes", "admin"])
    assert bad.exit_code != 0


@pytest.mark.parametrize("bad_text", ["王\u0000芳", "\ud800"])
def test_text_no_database_can_hold_is_a_400_naming_the_field(client, db, auth, bad_text):
    # JSON can carry NUL characters and unpaired surrogates; PostgreSQL refuses both.
    body = batch(2)
    body["accounts"][1]["borrower_name"] = bad_text
    body["accounts"][0][bad_text] = "x"
    raw = json.dumps(body)  # ensure_ascii: the escapes travel as sent by a lender's system
    response = client.post("/api/v1/accounts:batch", data=raw, content_type="application/json", headers=auth)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["code"] == "invalid_text"
    pointers = {error["pointer"] for error in response.json["errors"]}
    assert pointers == {"/accounts/1/borrower_name", f"/accounts/0/{bad_text}"}
    assert count(db, Account) == 0


def test_a_nul_character_in_an_address_is_a_400(client, auth):
    assert client.put("/api/v1/accounts/SR%00", json=GOOD, headers=auth).status_code == 400
    assert client.get("/r/abc%00def").status_code == 400


def test_an_account_number_with_spaces_in_the_address_is_the_trimmed_number(client, db, auth):
    response = client.put("/api/v1/accounts/%20SR001%20", json=GOOD, headers=auth)
    assert response.status_code == 201 and response.json["account_number"] == "SR001"
    assert client.put("/api/v1/accounts/SR001", json=GOOD, headers=auth).status_code == 200


def test_as_of_orders_figures_and_older_ones_are_refused_per_account(client, db, auth):
    from datetime import timedelta

    from portal.models.types import utcnow

    now = utcnow()
    newer = {**GOOD, "as_of": now.isoformat()}
    assert client.put("/api/v1/accounts/SR001", json=newer, headers=auth).status_code == 201
    older = {**GOOD, "fees": "1.00", "overdue_amount": "2041.70", "as_of": (now - timedelta(hours=1)).isoformat()}
    refused = client.put("/api/v1/accounts/SR001", json=older, headers=auth)
    assert refused.status_code == 409 and refused.json["code"] == "stale_figures"
    assert refused.json["errors"][0]["pointer"] == "/as_of"
    body = {"accounts": [{**older, "account_number": "SR001"}, {**older, "account_number": "SR002"}]}
    mixed = client.post("/api/v1/accounts:batch", json=body, headers=auth)
    assert mixed.status_code == 200
    assert mixed.json["created"] == 1 and mixed.json["unchanged"] == 0 and mixed.json["updated"] == 0
    assert [s["pointer"] for s in mixed.json["stale"]] == ["/accounts/0/as_of"]
    account = db.session.execute(
        select(Account).where(Account.account_number == "SR001").execution_options(populate_existing=True)
    ).scalar_one()
    assert account.overdue_minor == 204070


def test_control_characters_are_pointed_at(client, db, auth):
    response = client.put("/api/v1/accounts/SR001", json={**GOOD, "product": "随心\x1b借"}, headers=auth)
    assert response.status_code == 422
    assert response.json["errors"] == [
        {"pointer": "/product", "detail": "contains a control character (U+001B); remove it and import again"}
    ]


def test_a_settled_account_sent_with_an_amount_owed_is_overdue(client, db, auth):
    zero = {**GOOD, "principal": "0", "interest": "0", "penalty_interest": "0", "fees": "0", "overdue_amount": "0"}
    assert client.put("/api/v1/accounts/SR001", json=zero, headers=auth).json["status"] == "settled"
    assert client.put("/api/v1/accounts/SR001", json=GOOD, headers=auth).json["status"] == "overdue"


def test_a_full_batch_is_audited_per_change(client, db, auth):
    assert client.post("/api/v1/accounts:batch", json=batch(1000), headers=auth).json["created"] == 1000
    changed = batch(1000)
    changed["accounts"][7]["phone"] = "13900139009"
    assert client.post("/api/v1/accounts:batch", json=changed, headers=auth).json == {
        "created": 0,
        "updated": 1,
        "unchanged": 999,
    }
    actions = db.session.execute(select(AuditEvent.action, func.count()).group_by(AuditEvent.action)).all()
    assert dict(actions)["account.created"] == 1000 and dict(actions)["account.updated"] == 1
    assert dict(actions)["borrower.updated"] == 1
