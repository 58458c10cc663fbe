"""Schemathesis against the running app: the OpenAPI document is the truth.

Generated requests (valid and invalid) for every operation: never a server error, and every
response matches the documented status codes, content types and schemas.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from portal.api.idempotency import IDEMPOTENCY_KEEP
from portal.api.limits import MAX_BATCH, MAX_BODY, MAX_JSON_DEPTH, RATE_LIMIT_PER_MINUTE
from portal.errors import DATABASE_RETRY_AFTER
from portal.i18n import LOCALES
from portal.models import LINK_LIFETIME_DAYS, ApiScope, LinkChannel
from portal.outbox.events import CATALOGUE, FEED_DEFAULT_LIMIT, FEED_LIMIT
from tests.factories import AccountFactory, BorrowerFactory
from tests.fuzzing import examples

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def existing_account(lender):
    return AccountFactory(borrower=BorrowerFactory(lender=lender), account_number="SR001")


@schema.parametrize()
@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_openapi_document(case, auth, existing_account):
    case.call_and_validate(
        headers=auth,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )


def test_the_document_states_the_rules_the_code_applies(client):
    """One definition per rule: the OpenAPI document's enums and ranges are the constants."""
    doc = client.get("/api/v1/openapi.json").json
    schemas = doc["components"]["schemas"]
    link = schemas["ReminderLinkInput"]["properties"]
    assert link["lang"]["enum"] == list(LOCALES)
    assert link["channel"]["enum"] == [c.value for c in LinkChannel]
    lifetime = link["expires_in_days"]
    assert range(lifetime["minimum"], lifetime["maximum"] + 1) == LINK_LIFETIME_DAYS
    assert schemas["AccountInput"]["properties"]["locale"]["enum"] == list(LOCALES)
    assert schemas["AccountBatch"]["properties"]["accounts"]["maxItems"] == MAX_BATCH
    assert set(schemas["Event"]["properties"]["type"]["enum"]) == set(CATALOGUE)
    limit = next(p for p in doc["paths"]["/events"]["get"]["parameters"] if p["name"] == "limit")["schema"]
    assert range(limit["minimum"], limit["maximum"] + 1) == FEED_LIMIT and limit["default"] == FEED_DEFAULT_LIMIT
    assert all(scope in doc["components"]["securitySchemes"]["bearer"]["description"] for scope in ApiScope)
    responses = doc["paths"]["/accounts:batch"]["post"]["responses"]
    assert f"{RATE_LIMIT_PER_MINUTE} requests a minute" in responses["429"]["description"]
    assert f"{MAX_BODY // 2**20} MiB" in responses["413"]["description"]
    assert responses["503"]["headers"]["Retry-After"]["schema"]["examples"] == [DATABASE_RETRY_AFTER]
    header = next(p for p in doc["paths"]["/reminder-links"]["post"]["parameters"] if p["name"] == "Idempotency-Key")
    assert f"{int(IDEMPOTENCY_KEEP.total_seconds() // 3600)} hours" in header["description"]


def test_api_validation_refuses_exactly_what_the_constants_exclude(client, db, auth, existing_account):
    def errors(**body):
        response = client.post("/api/v1/reminder-links", headers=auth, json={"account_number": "SR001", **body})
        return {e["pointer"] for e in response.json.get("errors", [])} if response.status_code == 422 else set()

    for locale in LOCALES:
        assert errors(lang=locale) == set()
    for channel in LinkChannel:
        assert errors(channel=channel.value) == set()
    assert errors(expires_in_days=LINK_LIFETIME_DAYS.start) == set()
    assert errors(expires_in_days=LINK_LIFETIME_DAYS.stop - 1) == set()
    assert errors(expires_in_days=LINK_LIFETIME_DAYS.start - 1) == {"/expires_in_days"}
    assert errors(expires_in_days=LINK_LIFETIME_DAYS.stop) == {"/expires_in_days"}


def test_cli_help_and_readme_state_the_same_rules(runner):
    link_help = runner.invoke(args=["link", "create", "--help"]).output
    assert "|".join(LOCALES) in link_help
    assert f"{LINK_LIFETIME_DAYS.start}<=x<={LINK_LIFETIME_DAYS.stop - 1}" in link_help
    client_help = " ".join(runner.invoke(args=["api-client", "create", "--help"]).output.split())
    assert ", ".join(ApiScope) in client_help
    text = " ".join(README.split("### API for lenders' systems", 1)[1].split("\n### ", 1)[0].split())
    assert ", ".join(f"`{scope}`" for scope in ApiScope) in text
    assert f"{RATE_LIMIT_PER_MINUTE} requests a minute per client" in text
    assert f"(1–{MAX_BATCH:,}, all or none)" in text
    assert f"first response for {int(IDEMPOTENCY_KEEP.total_seconds() // 3600)} hours" in text
    assert f"more than {MAX_JSON_DEPTH} deep are a 400" in text
    assert f"`Retry-After: {DATABASE_RETRY_AFTER}`" in text
